//! Pure parsers of AT-command answers: Quectel `AT+QENG="servingcell"`, SIMCom `AT+CPSI?`, the
//! generic TS 27.007 `AT+COPS?` and `AT+CESQ`, final result codes, and the module's dialect.
//!
//! Each parser takes the whole answer as read from the serial port: the echoed command, blank
//! lines, unsolicited result codes (`RDY`, `+QIURC: …`, `+CREG: …`) and the final result may be
//! interleaved with the lines it wants; it picks its own lines by prefix and ignores the rest. No
//! parser does I/O or reads the clock, and none panics on any input.
//!
//! Signal values follow the wire rules: with an NR leg active the three values are the NR leg's;
//! a value the module marks as unknown (`-`, `-32768`) or one outside
//! [`limits`](fathom_shared::result::limits) is absent, with the reason noted in
//! [`RadioReading::reason`](crate::RadioReading::reason), never clamped.

mod common;
mod generic;
mod quectel;
mod simcom;

pub use common::{answer_complete, final_result};
pub use generic::{CesqValues, SimState, cesq, cops, generic_reading, sim_state};
pub use quectel::{LteSinrScale, quectel_lte_sinr_scale, quectel_servingcell};
pub use simcom::{SimcomScale, Unit, simcom_cpsi, simcom_scale};

use common::{clip, is_final_result, lines};

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The modem answered `ERROR`.
    #[error("the modem answered ERROR ({line:?})")]
    Error {
        /// The offending line.
        line: String,
    },
    /// The modem answered `+CME ERROR: <n>` (or `+CMS ERROR: <n>`).
    #[error("the modem answered {line:?} (error code {code:?})")]
    CmeError {
        /// The numeric code, `None` when the module gave verbose text instead of a number.
        code: Option<u32>,
        /// The offending line.
        line: String,
    },
    /// The answer has no final result code: it was cut off.
    #[error("the answer has no final OK, ERROR or +CME ERROR; its last line is {last_line:?}")]
    NoFinalResult {
        /// The answer's last non-empty line (empty for an empty answer).
        last_line: String,
    },
    /// The answer lacks the line the command should produce.
    #[error("the answer has no {prefix} line; its last line is {last_line:?}")]
    Missing {
        /// The expected line's prefix.
        prefix: &'static str,
        /// The answer's last non-empty line (empty for an empty answer).
        last_line: String,
    },
    /// A line has fewer fields than its format needs.
    #[error("{line:?} has {found} fields, its format needs {needed}")]
    TooFewFields {
        /// Fields the format needs.
        needed: usize,
        /// Fields found.
        found: usize,
        /// The offending line.
        line: String,
    },
    /// A field is malformed.
    #[error("{field} {value:?} is not valid in {line:?}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// The field as printed.
        value: String,
        /// The offending line.
        line: String,
    },
    /// A mode, state or access technology this parser does not know.
    #[error("unknown {what} {value:?} in {line:?}")]
    Unknown {
        /// What kind of value.
        what: &'static str,
        /// The value as printed.
        value: String,
        /// The offending line.
        line: String,
    },
}

/// The AT dialect a module speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleDialect {
    /// Quectel: `AT+QENG="servingcell"`.
    Quectel,
    /// SIMCom: `AT+CPSI?`.
    Simcom,
    /// Anything else: `AT+COPS?` and `AT+CESQ` only.
    Generic,
}

/// The module's dialect from its answers to `ATI`, `AT+CGMI` and `AT+CGMM` (any may be empty):
/// the manufacturer's name, else a known model prefix.
#[expect(
    clippy::similar_names,
    reason = "named after the AT commands they answer"
)]
pub fn identify(ati_answer: &str, cgmi: &str, cgmm: &str) -> ModuleDialect {
    let all = format!("{ati_answer}\n{cgmi}\n{cgmm}").to_ascii_uppercase();
    if all.contains("QUECTEL") {
        return ModuleDialect::Quectel;
    }
    if all.contains("SIMCOM") {
        return ModuleDialect::Simcom;
    }
    let models: Vec<&str> = lines(&all)
        .map(|l| l.trim_start_matches("+CGMM:").trim())
        .collect();
    let model_is = |prefixes: &[&str]| {
        models
            .iter()
            .any(|m| prefixes.iter().any(|p| m.starts_with(p)))
    };
    if model_is(&[
        "RM50", "RM52", "RG50", "RG52", "EM12", "EM06", "EC2", "EG06", "EG12",
    ]) {
        ModuleDialect::Quectel
    } else if model_is(&["SIM82", "SIM83", "SIM76", "SIM75"]) {
        ModuleDialect::Simcom
    } else {
        ModuleDialect::Generic
    }
}

/// The model name in an `AT+CGMM` answer, or an empty string: the `+CGMM:` line, else the first
/// line of plain printable text that is not the echo, a result code or an unsolicited `+…:` line.
pub fn model_name(cgmm_answer: &str) -> String {
    if let Some(l) = lines(cgmm_answer).find_map(|l| l.strip_prefix("+CGMM:")) {
        return clip(l.trim().trim_matches('"'));
    }
    lines(cgmm_answer)
        .find(|l| {
            !is_final_result(l)
                && !l.to_ascii_uppercase().starts_with("AT")
                && !l.starts_with('+')
                && l.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .map(clip)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
