//! Tests of the AT parsers: the fixtures of real module answers, and hostile input.

use super::*;
use crate::RadioReading;
use fathom_shared::Rat;
use fathom_shared::result::limits;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/modem/", $name))
    };
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per field keeps tables short"
)]
fn reading(
    plmn: Option<&str>,
    rat: Rat,
    rsrp_dbm: Option<f64>,
    rsrq_db: Option<f64>,
    sinr_db: Option<f64>,
    band: Option<&str>,
    cell_id: Option<&str>,
    reason: Option<&str>,
) -> RadioReading {
    RadioReading {
        plmn: plmn.map(str::to_owned),
        rat,
        rsrp_dbm,
        rsrq_db,
        sinr_db,
        sinr_scale_uncertain: false,
        band: band.map(str::to_owned),
        cell_id: cell_id.map(str::to_owned),
        meets_5g: false,
        reason: reason.map(str::to_owned),
    }
}

/// `r` with its SINR scale marked uncertain.
fn uncertain(mut r: RadioReading) -> RadioReading {
    r.sinr_scale_uncertain = true;
    r
}

use LteSinrScale::{Db, QuectelRaw, Unverified};

#[test]
#[expect(clippy::too_many_lines, reason = "one table row per fixture")]
fn quectel_fixtures_give_every_field() {
    let limsrv = "camped on a cell without registration (LIMSRV, limited service) on PLMN 46000";
    let cases: Vec<(&str, &str, LteSinrScale, RadioReading)> = vec![
        (
            "SA CT n78 RM500U (Unisoc, CONNECT)",
            fixture!("quectel_sa_ct_n78_rm500u.txt"),
            Db,
            reading(
                Some("46011"),
                Rat::NrSa,
                Some(-89.0),
                Some(-8.0),
                Some(15.0),
                Some("n78"),
                Some("760BF0114"),
                None,
            ),
        ),
        (
            "SA CMCC n41 RM520N, no space after the colon",
            fixture!("quectel_sa_cmcc_n41_rm520n.txt"),
            QuectelRaw,
            reading(
                Some("46000"),
                Rat::NrSa,
                Some(-99.0),
                Some(-13.0),
                Some(0.0),
                Some("n41"),
                Some("A0117F003"),
                None,
            ),
        ),
        (
            "SA CT n1 with - placeholders",
            fixture!("quectel_sa_ct_n1_invalid.txt"),
            Db,
            reading(
                Some("46011"),
                Rat::NrSa,
                None,
                None,
                Some(25.0),
                Some("n1"),
                Some("24211A484"),
                Some("RSRP not reported; RSRQ not reported"),
            ),
        ),
        (
            "SA LIMSRV: not registered, values kept",
            fixture!("quectel_sa_cmcc_limsrv.txt"),
            Db,
            reading(
                None,
                Rat::None,
                Some(-84.0),
                Some(-2.0),
                Some(8.0),
                Some("n41"),
                Some("31494F003"),
                Some(limsrv),
            ),
        ),
        (
            "NSA doc example, dB LTE SINR",
            fixture!("quectel_nsa_doc.txt"),
            Db,
            reading(
                Some("46001"),
                Rat::NrNsa,
                Some(-71.0),
                Some(-11.0),
                Some(33.0),
                Some("n78"),
                Some("5F1EA15"),
                None,
            ),
        ),
        (
            "NSA doc example, raw LTE SINR does not touch the NR SINR",
            fixture!("quectel_nsa_doc.txt"),
            QuectelRaw,
            reading(
                Some("46001"),
                Rat::NrNsa,
                Some(-71.0),
                Some(-11.0),
                Some(33.0),
                Some("n78"),
                Some("5F1EA15"),
                None,
            ),
        ),
        (
            "weak NSA with unsolicited lines: NR order RSRP, SINR, RSRQ",
            fixture!("quectel_nsa_weak_constructed.txt"),
            Db,
            reading(
                Some("46001"),
                Rat::NrNsa,
                Some(-112.0),
                Some(-15.0),
                Some(-5.0),
                Some("n78"),
                Some("5F1EA15"),
                None,
            ),
        ),
        (
            "NSA with unmeasured NR leg is LTE (dB)",
            fixture!("quectel_nsa_unmeasured_ct.txt"),
            Db,
            reading(
                Some("46011"),
                Rat::Lte,
                Some(-107.0),
                Some(-12.0),
                Some(10.0),
                Some("B1"),
                Some("D196A00"),
                Some("EN-DC anchor, NR leg not measured"),
            ),
        ),
        (
            "NSA with unmeasured NR leg is LTE; raw SINR -18 dB beside RSRQ -12 dB is read as dB",
            fixture!("quectel_nsa_unmeasured_ct.txt"),
            QuectelRaw,
            uncertain(reading(
                Some("46011"),
                Rat::Lte,
                Some(-107.0),
                Some(-12.0),
                Some(10.0),
                Some("B1"),
                Some("D196A00"),
                Some(
                    "EN-DC anchor, NR leg not measured; SINR scale uncertain: 10 read as dB (10 \
                     dB), since as raw/5 − 20 (-18 dB) it is below the -7.2 dB that RSRQ -12 dB \
                     allows",
                ),
            )),
        ),
        (
            "LTE CT (dB)",
            fixture!("quectel_lte_ct.txt"),
            Db,
            reading(
                Some("46011"),
                Rat::Lte,
                Some(-109.0),
                Some(-11.0),
                Some(11.0),
                Some("B1"),
                Some("D196A00"),
                None,
            ),
        ),
        (
            "LTE CT: a raw-scale model whose -17.8 dB contradicts RSRQ -11 dB reads dB",
            fixture!("quectel_lte_ct.txt"),
            QuectelRaw,
            uncertain(reading(
                Some("46011"),
                Rat::Lte,
                Some(-109.0),
                Some(-11.0),
                Some(11.0),
                Some("B1"),
                Some("D196A00"),
                Some(
                    "SINR scale uncertain: 11 read as dB (11 dB), since as raw/5 − 20 (-17.8 dB) \
                     it is below the -6.2 dB that RSRQ -11 dB allows",
                ),
            )),
        ),
        (
            "LTE doc example with RDY (dB)",
            fixture!("quectel_lte_doc.txt"),
            Db,
            reading(
                Some("46001"),
                Rat::Lte,
                Some(-100.0),
                Some(-12.0),
                Some(11.0),
                Some("B3"),
                Some("5F1EA15"),
                None,
            ),
        ),
        (
            "LTE doc example with RDY: raw scale contradicted by RSRQ",
            fixture!("quectel_lte_doc.txt"),
            QuectelRaw,
            uncertain(reading(
                Some("46001"),
                Rat::Lte,
                Some(-100.0),
                Some(-12.0),
                Some(11.0),
                Some("B3"),
                Some("5F1EA15"),
                Some(
                    "SINR scale uncertain: 11 read as dB (11 dB), since as raw/5 − 20 (-17.8 dB) \
                     it is below the -7.2 dB that RSRQ -12 dB allows",
                ),
            )),
        ),
        (
            "SEARCH",
            fixture!("quectel_search.txt"),
            Db,
            RadioReading::unavailable("searching for a network (SEARCH)"),
        ),
    ];
    for (name, answer, scale, want) in cases {
        assert_eq!(quectel_servingcell(answer, scale), Ok(want), "{name}");
    }
}

#[test]
fn quectel_inline_answers() {
    let wrap = |l: &str| format!("AT+QENG=\"servingcell\"\r\n{l}\r\n\r\nOK\r\n");
    // Old RM500Q short NSA form (libqmi PR #2): SINR in 0.1 dB, no band.
    let old = "+QENG: \"servingcell\",\"NOCONN\"\r\n+QENG: \"LTE\",\"FDD\",1,01,1A2D001,1,1575,3,3,3,1,-70,-9,-46,25,-\r\n+QENG:\"NR5G-NSA\",1,01,500,-75,180,-11";
    assert_eq!(
        quectel_servingcell(&wrap(old), Db),
        Ok(reading(
            Some("00101"),
            Rat::NrNsa,
            Some(-75.0),
            Some(-11.0),
            Some(18.0),
            None,
            Some("1A2D001"),
            None
        ))
    );
    // Out of shared limits: absent with the reason, not clamped.
    let out = "+QENG: \"servingcell\",\"CONNECT\",\"NR5G-SA\",\"TDD\",460,1,abc,1,1,1,78,12,-200,-13,99,1,-";
    assert_eq!(
        quectel_servingcell(&wrap(out), Db),
        Ok(reading(
            Some("46001"),
            Rat::NrSa,
            None,
            Some(-13.0),
            None,
            Some("n78"),
            Some("ABC"),
            Some("RSRP -200 outside -156..-31; SINR 99 outside -23..40")
        ))
    );
    // An LTE anchor with no NR line.
    let anchor = "+QENG: \"servingcell\",\"NOCONN\"\n+QENG: \"LTE\",\"TDD\",460,00,ABC,1,1,41,5,5,1,-90,-10,-60,10,-,-,-";
    assert_eq!(
        quectel_servingcell(&wrap(anchor), Db),
        Ok(reading(
            Some("46000"),
            Rat::Lte,
            Some(-90.0),
            Some(-10.0),
            Some(10.0),
            Some("B41"),
            Some("ABC"),
            Some("EN-DC anchor without an NR leg")
        ))
    );
    // The module refused.
    assert_eq!(
        quectel_servingcell("AT+QENG=\"servingcell\"\r\n+CME ERROR: 10\r\n", Db),
        Err(ParseError::CmeError {
            code: Some(10),
            line: "+CME ERROR: 10".into()
        })
    );
}

#[test]
fn quectel_garbage_fixture_is_an_error() {
    assert_eq!(
        quectel_servingcell(fixture!("quectel_garbage_constructed.txt"), Db),
        Err(ParseError::TooFewFields {
            needed: 15,
            found: 7,
            line: "+QENG: \"servingcell\",\"NOCONN\",\"NR5G-SA\",\"TDD\",460,00,A0117F".into(),
        })
    );
}

#[test]
fn simcom_fixtures_give_every_field() {
    let s = SimcomScale::SIM8200;
    let whole = SimcomScale {
        rsrp_rsrq: Unit::Whole,
        lte_snr: Unit::Whole,
        nr_snr: Some(Unit::Whole),
    };
    let cases: Vec<(&str, &str, SimcomScale, RadioReading)> = vec![
        (
            "LTE CU, tenths",
            fixture!("simcom_lte_cu.txt"),
            s,
            reading(
                Some("46001"),
                Rat::Lte,
                Some(-67.2),
                Some(-9.2),
                Some(14.0),
                Some("B8"),
                Some("F045467"),
                None,
            ),
        ),
        (
            "NR5G_SA, tenths",
            fixture!("simcom_sa_n78.txt"),
            s,
            reading(
                Some("24212"),
                Rat::NrSa,
                Some(-77.0),
                Some(-11.0),
                Some(29.0),
                Some("n78"),
                Some("4B9C90"),
                None,
            ),
        ),
        (
            "NR5G_SA set as whole units: RSRP and RSRQ out of limits, absent; SNR 290 has one reading in limits (tenths)",
            fixture!("simcom_sa_n78.txt"),
            whole,
            reading(
                Some("24212"),
                Rat::NrSa,
                None,
                None,
                Some(29.0),
                Some("n78"),
                Some("4B9C90"),
                Some("RSRP -770 outside -156..-31; RSRQ -110 outside -43..20"),
            ),
        ),
        (
            "EN-DC CT: NR values, LTE anchor's PLMN and cell",
            fixture!("simcom_endc_ct.txt"),
            s,
            reading(
                Some("46011"),
                Rat::NrNsa,
                Some(-96.0),
                Some(-12.0),
                Some(9.5),
                Some("n78"),
                Some("B28ABBC"),
                None,
            ),
        ),
        (
            "NO SERVICE",
            fixture!("simcom_no_service.txt"),
            s,
            RadioReading::unavailable("no service (NO SERVICE)"),
        ),
    ];
    for (name, answer, scale, want) in cases {
        assert_eq!(simcom_cpsi(answer, scale), Ok(want), "{name}");
    }
}

#[test]
fn cops_access_technologies() {
    assert_eq!(
        cops(fixture!("generic_cops_sa_ct.txt")),
        Ok((Some("46011".into()), Rat::NrSa))
    );
    let cases = [
        ("+COPS: 0,2,\"46000\",7", Some("46000"), Rat::Lte),
        ("+COPS: 0,2,\"46001\",13", Some("46001"), Rat::NrNsa),
        ("+COPS: 0,2,\"46015\",12", Some("46015"), Rat::NrSa),
        ("+COPS: 0,2,\"46001\",2", Some("46001"), Rat::Wcdma),
        ("+COPS: 0,2,\"46000\",0", Some("46000"), Rat::Gsm),
        ("+COPS: 0,0,\"CHN-UNICOM\",7", None, Rat::Lte),
        ("+COPS: 0", None, Rat::None),
        ("+COPS: 2", None, Rat::None),
    ];
    for (line, plmn, rat) in cases {
        let answer = format!("AT+COPS?\r\n{line}\r\n\r\nOK\r\n");
        assert_eq!(cops(&answer), Ok((plmn.map(str::to_owned), rat)), "{line}");
    }
    assert!(matches!(
        cops("+COPS: 0,2,\"46000\",99\r\nOK"),
        Err(ParseError::Unknown { what: "AcT", .. })
    ));
    assert!(matches!(
        cops("+COPS: 0,2,\"4600x\",7\r\nOK"),
        Err(ParseError::BadField {
            field: "operator",
            ..
        })
    ));
    assert!(matches!(cops("OK"), Err(ParseError::Missing { .. })));
}

#[test]
fn cesq_index_tables() {
    assert_eq!(
        cesq(fixture!("generic_cesq_lte.txt")),
        Ok(CesqValues {
            rsrq_db: Some(-10.5),
            rsrp_dbm: Some(-90.0),
            ..CesqValues::default()
        })
    );
    assert_eq!(
        cesq("+CESQ: 63,7,96,49,34,97,127,126,127\r\nOK\r\n"),
        Ok(CesqValues {
            rxlev_dbm: Some(-48.0),
            ber: Some(7),
            rscp_dbm: Some(-25.0),
            ecno_db: Some(0.0),
            rsrq_db: Some(-3.0),
            rsrp_dbm: Some(-44.0),
            ss_rsrq_db: Some(20.0),
            ss_rsrp_dbm: Some(-31.0),
            ss_sinr_db: Some(40.0),
        })
    );
    assert_eq!(
        cesq("+CESQ: 1,0,1,1,1,1,1,1,1\r\nOK\r\n"),
        Ok(CesqValues {
            rxlev_dbm: Some(-110.0),
            ber: Some(0),
            rscp_dbm: Some(-120.0),
            ecno_db: Some(-24.0),
            rsrq_db: Some(-19.5),
            rsrp_dbm: Some(-140.0),
            ss_rsrq_db: Some(-43.0),
            ss_rsrp_dbm: Some(-156.0),
            ss_sinr_db: Some(-23.0),
        })
    );
    assert_eq!(
        cesq("+CESQ: 99,99,255,255,255,255,255,255,255\r\nOK\r\n"),
        Ok(CesqValues::default())
    );
    assert!(matches!(
        cesq("+CESQ: 99,99,255,255,35,51\r\nOK"),
        Err(ParseError::BadField { field: "rsrq", .. })
    ));
    assert!(matches!(
        cesq("+CESQ: 99,99,255\r\nOK"),
        Err(ParseError::TooFewFields {
            needed: 6,
            found: 3,
            ..
        })
    ));
}

#[test]
fn final_results() {
    assert_eq!(final_result("AT\r\nOK\r\n"), Ok(()));
    assert_eq!(
        final_result("ATI\r\nERROR\r\n"),
        Err(ParseError::Error {
            line: "ERROR".into()
        })
    );
    assert_eq!(
        final_result("+CME ERROR: 10\r\n"),
        Err(ParseError::CmeError {
            code: Some(10),
            line: "+CME ERROR: 10".into()
        })
    );
    assert_eq!(
        final_result("+CME ERROR: SIM not inserted"),
        Err(ParseError::CmeError {
            code: None,
            line: "+CME ERROR: SIM not inserted".into()
        })
    );
    assert_eq!(
        final_result("AT+CPSI?\r\n+CPSI: LTE,Onl"),
        Err(ParseError::NoFinalResult {
            last_line: "+CPSI: LTE,Onl".into()
        })
    );
    assert_eq!(
        final_result(""),
        Err(ParseError::NoFinalResult {
            last_line: String::new()
        })
    );
    // An unsolicited line after OK does not hide it; the last final result counts.
    assert_eq!(final_result("OK\r\n+QIURC: \"pdpdeact\",1\r\n"), Ok(()));
    assert!(final_result("OK\r\nERROR\r\n").is_err());
}

#[test]
fn dialects() {
    assert_eq!(
        identify("Quectel\r\nRM520N-GL\r\nRevision: X\r\n\r\nOK", "", ""),
        ModuleDialect::Quectel
    );
    assert_eq!(
        identify("", "SIMCOM INCORPORATED\r\nOK", "SIMCOM_SIM8200EA-M2\r\nOK"),
        ModuleDialect::Simcom
    );
    assert_eq!(
        identify("", "", "+CGMM: RM500Q-GL\r\nOK"),
        ModuleDialect::Quectel
    );
    assert_eq!(identify("", "", "SIM8262E-M2"), ModuleDialect::Simcom);
    assert_eq!(
        identify("Telit\r\nLE910C4-WWXD\r\nOK", "Telit", "LE910C4-WWXD"),
        ModuleDialect::Generic
    );
    assert_eq!(identify("", "", ""), ModuleDialect::Generic);
}

#[test]
fn garbage_never_panics() {
    let huge = format!("-{}", "9".repeat(400));
    let inputs: Vec<String> = vec![
        String::new(),
        "\r\n\r\n".into(),
        "OK".into(),
        "ERROR".into(),
        "\u{0}\u{1}\u{7f}ÿþ\u{fffd}\r\nOK".into(),
        "+QENG:\r\nOK".into(),
        "+QENG: \"servingcell\"\r\nOK".into(),
        "+QENG: \"servingcell\",\"NOCONN\"\r\nOK".into(),
        "+QENG: \"servingcell\",\"NOCONN\"\r\n+QENG: \"LTE\"\r\n+QENG: \"NR5G-NSA\"\r\nOK".into(),
        "+QENG: \"servingcell\",\"NOCONN\",\"NR5G-SA\",,,,,,,,,,,,,,,\r\nOK".into(),
        format!("+QENG: \"servingcell\",\"NOCONN\",\"NR5G-SA\",\"TDD\",460,00,1,1,1,1,78,12,{huge},{huge},{huge},1,1\r\nOK"),
        "+QENG: \"servingcell\",\"NOCONN\",\"NR5G-SA\",\"TDD\",460,00,1,1,1,1,99999999999,12,inf,NaN,1e9,1,1\r\nOK".into(),
        "+QENG: \"servingcell\",\"NOCONN\",\"LTE\",\"FDD\",4600,0,Z,1,1,1,1,1,1,-1.,.5,--5,1\r\nOK".into(),
        "+CPSI: \r\nOK".into(),
        "+CPSI: NR5G_NSA,1,2,3\r\nOK".into(),
        format!("+CPSI: LTE,Online,460-01,0x1,{huge},1,EUTRAN-BAND,1,1,1,1,1,1,1\r\nOK"),
        "+CPSI: NR5G_SA,Online,46001,0x1,99999999999999999999999,1,NR5G_BAND78,1,1,1,1\r\nOK".into(),
        format!("+COPS: 0,2,\"{huge}\",7\r\nOK"),
        "+COPS: ,,,,\r\nOK".into(),
        format!("+CESQ: {huge},300,-1,,,\r\nOK"),
        "+CME ERROR: 99999999999999999999\r\n".into(),
        "é".repeat(10_000),
    ];
    for input in &inputs {
        for scale in [Db, QuectelRaw, Unverified] {
            if let Ok(r) = quectel_servingcell(input, scale) {
                check_in_limits(&r);
            }
        }
        if let Ok(r) = simcom_cpsi(input, SimcomScale::default()) {
            check_in_limits(&r);
        }
        let errors = [
            cops(input).err(),
            cesq(input).err(),
            final_result(input).err(),
        ];
        for e in errors.into_iter().flatten() {
            assert!(e.to_string().chars().count() < 500, "{e}");
        }
        identify(input, input, input);
    }
    // Errors quote at most a clipped line.
    let long = format!("+QENG: \"servingcell\",\"{}\"\r\nOK", "X".repeat(5000));
    let err = quectel_servingcell(&long, Db).unwrap_err().to_string();
    assert!(err.len() < 500, "{err}");
}

fn check_in_limits(r: &RadioReading) {
    let within = |v: Option<f64>, (lo, hi): (f64, f64)| {
        v.is_none_or(|v| v.is_finite() && v >= lo && v <= hi)
    };
    assert!(within(r.rsrp_dbm, limits::RSRP_DBM), "{r:?}");
    assert!(within(r.rsrq_db, limits::RSRQ_DB), "{r:?}");
    assert!(within(r.sinr_db, limits::SINR_DB), "{r:?}");
    assert!(
        r.reason
            .as_ref()
            .is_none_or(|s| s.chars().count() <= limits::MAX_REASON_LEN)
    );
}

#[test]
fn answers_are_complete_only_at_a_whole_final_result_line() {
    assert!(!answer_complete(""));
    assert!(!answer_complete("AT+CPIN?\r\r\n+CPIN: READY\r\n"));
    // A final result code without its line break may still grow ("OK" of "OKAY").
    assert!(!answer_complete("+CPIN: READY\r\n\r\nOK"));
    assert!(answer_complete("+CPIN: READY\r\n\r\nOK\r\n"));
    assert!(answer_complete("AT+X\r\nERROR\r\n"));
    assert!(answer_complete("+CME ERROR: 10\r\n"));
    // An unsolicited line alone, or a line merely starting with OK, is not the end.
    assert!(!answer_complete("+QIURC: \"pdpdeact\",1\r\n"));
    assert!(!answer_complete("OKAY\r\n"));
}

#[test]
fn sim_states() {
    let ready = "AT+CPIN?\r\n+CPIN: READY\r\n\r\nOK\r\n";
    assert_eq!(sim_state(ready), Ok(SimState::Ready));
    let cases = [
        ("+CME ERROR: 10\r\n", "no SIM card (SIM not inserted)"),
        (
            "+CME ERROR: SIM not inserted\r\n",
            "no SIM card (SIM not inserted)",
        ),
        ("+CME ERROR: 13\r\n", "the SIM card failed (SIM failure)"),
        (
            "+CPIN: SIM PIN\r\nOK\r\n",
            "the SIM card is locked by a PIN (SIM PIN)",
        ),
    ];
    for (answer, why) in cases {
        assert_eq!(
            sim_state(answer),
            Ok(SimState::NotReady(why.to_owned())),
            "{answer}"
        );
    }
    assert!(matches!(
        sim_state("ERROR\r\n"),
        Err(ParseError::Error { .. })
    ));
    assert!(matches!(
        sim_state("+CME ERROR: 3\r\n"),
        Err(ParseError::CmeError { code: Some(3), .. })
    ));
    assert!(matches!(
        sim_state("OK\r\n"),
        Err(ParseError::Missing { .. })
    ));
}

#[test]
fn generic_readings_from_cops_and_cesq() {
    let cesq_lte = fixture!("generic_cesq_lte.txt");
    let lte = generic_reading("+COPS: 0,2,\"46001\",7\r\nOK\r\n", cesq_lte).expect("reads");
    assert_eq!(
        lte,
        reading(
            Some("46001"),
            Rat::Lte,
            Some(-90.0),
            Some(-10.5),
            None,
            None,
            None,
            None
        )
    );
    // EN-DC anchor without an NR measurement is LTE, and says why.
    let endc = generic_reading("+COPS: 0,2,\"46001\",13\r\nOK\r\n", cesq_lte).expect("reads");
    assert_eq!(endc.rat, Rat::Lte);
    assert!(endc.reason.expect("reason").contains("no measured NR leg"));
    // SA with the Release 15 fields: the SS- values.
    let cesq_nr = "+CESQ: 99,99,255,255,255,255,80,60,50\r\nOK\r\n";
    let sa = generic_reading(fixture!("generic_cops_sa_ct.txt"), cesq_nr).expect("reads");
    assert_eq!(
        sa,
        reading(
            Some("46011"),
            Rat::NrSa,
            Some(-97.0),
            Some(-3.5),
            Some(1.5),
            None,
            None,
            None
        )
    );
    // Not registered: no operator, and no CESQ needed.
    let none = generic_reading("+COPS: 0\r\nOK\r\n", "").expect("reads");
    assert_eq!(none.rat, Rat::None);
    assert!(none.reason.is_some());
}

#[test]
fn quectel_models_and_their_lte_sinr_scale() {
    assert_eq!(quectel_lte_sinr_scale("RM500U-CN"), Db);
    assert_eq!(quectel_lte_sinr_scale("RM520N-GL"), Db);
    assert_eq!(quectel_lte_sinr_scale("Quectel EP06-E"), Db);
    assert_eq!(quectel_lte_sinr_scale("EG06-E"), Db);
    assert_eq!(quectel_lte_sinr_scale("EM06-E"), Db);
    assert_eq!(quectel_lte_sinr_scale("EC200T-CN"), Db);
    assert_eq!(quectel_lte_sinr_scale("EC25-E"), Unverified);
    assert_eq!(quectel_lte_sinr_scale("something else"), Unverified);
    assert_eq!(simcom_scale("SIM8262E-M2"), SimcomScale::SIM8200);
    assert_eq!(simcom_scale("SIMCOM_SIM7600E"), SimcomScale::OTHER);
    assert_eq!(
        model_name("AT+CGMM\r\nRM520N-GL\r\n\r\nOK\r\n"),
        "RM520N-GL"
    );
    assert_eq!(model_name("+CGMM: SIM8262E-M2\r\nOK\r\n"), "SIM8262E-M2");
    assert_eq!(model_name("ERROR\r\n"), "");
    let noisy =
        "AT+CGMM\r\r\n\r\n+QIURC: \"pdpdeact\",1\r\n\u{fffd}\u{fffd}~~\r\nRM500U-CN\r\nOK\r\n";
    assert_eq!(model_name(noisy), "RM500U-CN");
}

#[test]
fn an_empty_nr5g_nsa_line_is_an_lte_anchor_without_a_measured_nr_leg() {
    // The anchor line of quectel_nsa_unmeasured_ct.txt with an NR line that has nothing after
    // its tag, as some firmwares print it between measurements.
    for nr in [
        "+QENG: \"NR5G-NSA\",",
        "+QENG:\"NR5G-NSA\",,,",
        "+QENG: \"NR5G-NSA\"",
    ] {
        let answer = format!(
            "AT+QENG=\"servingcell\"\r\n+QENG: \"servingcell\",\"NOCONN\"\r\n\
             +QENG: \"LTE\",\"FDD\",460,11,D196A00,462,100,1,5,5,7794,-107,-12,-73,10,8,-32768,-\r\n\
             {nr}\r\n\r\nOK\r\n"
        );
        let r = quectel_servingcell(&answer, Db).expect("an LTE anchor, not an error");
        assert_eq!(
            r,
            reading(
                Some("46011"),
                Rat::Lte,
                Some(-107.0),
                Some(-12.0),
                Some(10.0),
                Some("B1"),
                Some("D196A00"),
                Some("EN-DC anchor, NR leg not measured (empty NR5G-NSA line)"),
            ),
            "{nr}"
        );
    }
    // A half-printed NR line is still an error: it is neither a leg nor an empty one.
    let cut = "+QENG: \"servingcell\",\"NOCONN\"\r\n\
               +QENG: \"LTE\",\"FDD\",460,11,D196A00,462,100,1,5,5,7794,-107,-12,-73,10,8,-32768,-\r\n\
               +QENG: \"NR5G-NSA\",460,11,562\r\nOK\r\n";
    assert!(matches!(
        quectel_servingcell(cut, Db),
        Err(ParseError::TooFewFields { .. })
    ));
}

#[test]
fn an_unverified_lte_sinr_scale_is_decided_by_rsrq_or_not_at_all() {
    let lte = |rsrq: &str, sinr: &str| {
        format!(
            "+QENG: \"servingcell\",\"NOCONN\",\"LTE\",\"FDD\",460,11,D196A00,462,100,1,5,5,7794,-109,{rsrq},-76,{sinr},-\r\nOK\r\n"
        )
    };
    // 21 beside RSRQ -9 dB: only dB is consistent (raw would be -15.8 dB).
    let r = quectel_servingcell(&lte("-9", "21"), Unverified).unwrap();
    assert_eq!((r.sinr_db, r.sinr_scale_uncertain), (Some(21.0), true));
    assert!(
        r.reason
            .unwrap()
            .contains("the only scale consistent with RSRQ -9 dB")
    );
    // 130 cannot be dB: raw, 6 dB, and sure.
    let r = quectel_servingcell(&lte("-9", "130"), Unverified).unwrap();
    assert_eq!(
        (r.sinr_db, r.sinr_scale_uncertain, r.reason),
        (Some(6.0), false, None)
    );
    // 12 beside RSRQ -25 dB fits both 12 dB and -17.6 dB: no number, and why.
    let r = quectel_servingcell(&lte("-25", "12"), Unverified).unwrap();
    assert_eq!(r.sinr_db, None);
    assert!(r.reason.unwrap().contains("several scales"));
    // Without RSRQ there is nothing to check an unverified scale against.
    let r = quectel_servingcell(&lte("-", "12"), Unverified).unwrap();
    assert_eq!(r.sinr_db, None);
    // A negative value has no raw reading: dB.
    let r = quectel_servingcell(&lte("-19", "-9"), Unverified).unwrap();
    assert_eq!((r.sinr_db, r.sinr_scale_uncertain), (Some(-9.0), false));
}

#[test]
fn simcom_nr_snr_follows_the_model_evidence_and_rsrq() {
    let sa = |snr: &str| {
        format!(
            "+CPSI: NR5G_SA,Online,460-01,0x6F4700,29869309958,95,NR5G_BAND78,627264,-800,-110,{snr}\r\nOK\r\n"
        )
    };
    // SIM82xx: tenths by the manual and captures.
    let r = simcom_cpsi(&sa("14"), simcom_scale("SIM8262E-M2")).unwrap();
    assert_eq!((r.sinr_db, r.sinr_scale_uncertain), (Some(1.4), false));
    // Another model: 14 fits RSRQ -11 dB as 1.4 dB and as 14 dB, so no number.
    let r = simcom_cpsi(&sa("14"), simcom_scale("SIM8300G-M2")).unwrap();
    assert_eq!(r.sinr_db, None);
    assert!(
        r.reason.as_deref().unwrap().contains("several scales"),
        "{r:?}"
    );
    // 290 has one reading in limits whatever the model.
    let r = simcom_cpsi(&sa("290"), simcom_scale("SIM8300G-M2")).unwrap();
    assert_eq!((r.sinr_db, r.sinr_scale_uncertain), (Some(29.0), false));
    // -150 as whole dB is out of limits: tenths, whatever the model.
    let r = simcom_cpsi(&sa("-150"), simcom_scale("SIM8300G-M2")).unwrap();
    assert_eq!((r.sinr_db, r.sinr_scale_uncertain), (Some(-15.0), false));
    // A value printed with a decimal point is whole dB.
    let r = simcom_cpsi(&sa("8.5"), simcom_scale("SIM8262E-M2")).unwrap();
    assert_eq!((r.sinr_db, r.sinr_scale_uncertain), (Some(8.5), false));
    // GSM keeps its PLMN.
    let gsm = "+CPSI: GSM,Online,262-03,0xe2d1,8926,754 DCS 1800,-88,0,18-18\r\nOK\r\n";
    let r = simcom_cpsi(gsm, SimcomScale::OTHER).unwrap();
    assert_eq!((r.rat, r.plmn.as_deref()), (Rat::Gsm, Some("26203")));
}
