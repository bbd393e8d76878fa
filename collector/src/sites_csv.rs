//! A county's site list as a spreadsheet-friendly CSV: what `fathom-collector sites export`
//! writes and `[county] site_list` reads, so a bureau keeps its 20–40 key sites in Excel.
//!
//! One row a site: `id, name, category, lat, lon`. Written as the report's tables are (UTF-8
//! with a byte-order mark for Excel on Chinese Windows, CRLF, each header cell the Chinese name
//! then the English key: `编号 id`). Read forgivingly where a spreadsheet differs and strictly
//! where a value matters: the mark is optional, a header cell may be the English key, the
//! Chinese name or both, a category may be its id (`hospital`) or its Chinese name (`医院`),
//! `lat`/`lon` may be empty together; any other deviation is an error naming the line.

use crate::config::file;
use crate::report::csv::{BOM, FORMULA_START, field};
use fathom_shared::SiteCategory;

/// The columns, in the order written: (English key, Chinese name).
const COLUMNS: [(&str, &str); 5] = [
    ("id", "编号"),
    ("name", "名称"),
    ("category", "类别"),
    ("lat", "纬度"),
    ("lon", "经度"),
];

/// Why a site list cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SiteListError {
    /// The header lacks a column or has one this format does not know.
    #[error("header: {0}")]
    Header(String),
    /// A row that cannot be a site; `line` counts from 1, the header being line 1.
    #[error("line {line}: {why}")]
    Row {
        /// Line in the file.
        line: u64,
        /// What is wrong.
        why: String,
    },
}

/// The sites of a CSV site list, in file order. Ids and locations are checked later, with the
/// `[[site]]` tables, by the configuration.
pub fn parse(text: &str) -> Result<Vec<file::Site>, SiteListError> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| SiteListError::Header(e.to_string()))?
        .clone();
    let mut index = [usize::MAX; COLUMNS.len()];
    for (i, cell) in header.iter().enumerate() {
        let Some(c) = COLUMNS
            .iter()
            .position(|(en, zh)| cell.split_whitespace().any(|w| w == *en || w == *zh))
        else {
            return Err(SiteListError::Header(format!(
                "unknown column {cell:?}; the columns are id, name, category, lat, lon"
            )));
        };
        if index[c] != usize::MAX {
            return Err(SiteListError::Header(format!(
                "column {} appears twice",
                COLUMNS[c].0
            )));
        }
        index[c] = i;
    }
    if let Some(missing) = (0..3).find(|&c| index[c] == usize::MAX) {
        return Err(SiteListError::Header(format!(
            "no {} column; id, name and category are needed, lat and lon optional",
            COLUMNS[missing].0
        )));
    }
    let mut sites = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| SiteListError::Row {
            line: e.position().map_or(0, csv::Position::line),
            why: e.to_string(),
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue; // a spreadsheet's trailing blank rows
        }
        let bad = |why: String| SiteListError::Row { line, why };
        let cell = |c: usize| {
            (index[c] != usize::MAX)
                .then(|| record.get(index[c]).unwrap_or(""))
                .map(unquote)
        };
        let id = cell(0).unwrap_or("");
        let name = cell(1).unwrap_or("");
        if id.is_empty() || name.is_empty() {
            return Err(bad("id and name must not be empty".to_owned()));
        }
        let category = cell(2).unwrap_or("");
        let category = SiteCategory::ALL
            .into_iter()
            .find(|k| k.id() == category || k.name_zh() == category)
            .ok_or_else(|| {
                bad(format!(
                    "unknown category {category:?}; use one of {}",
                    SiteCategory::ALL
                        .iter()
                        .map(|k| format!("{} ({})", k.id(), k.name_zh()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let degrees = |c: usize| -> Result<Option<f64>, SiteListError> {
            match cell(c).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| bad(format!("{} {v:?} is not a number of degrees", COLUMNS[c].0))),
            }
        };
        sites.push(file::Site {
            id: id.to_owned(),
            name: name.to_owned(),
            category,
            lat: degrees(3)?,
            lon: degrees(4)?,
        });
    }
    Ok(sites)
}

/// A cell as a spreadsheet wrote it back: the `'` export put before a formula-like text taken
/// off again, so a list survives the round trip.
fn unquote(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

/// The site list of `sites` as CSV, for `sites export`.
pub fn write(sites: &[crate::config::Site]) -> String {
    let mut out = String::from(BOM);
    let header: Vec<String> = COLUMNS
        .iter()
        .map(|(en, zh)| format!("{zh} {en}"))
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for s in sites {
        let (lat, lon) = s
            .location
            .map_or((String::new(), String::new()), |(lat, lon)| {
                (lat.to_string(), lon.to_string())
            });
        let row = [
            field(s.id.as_str()),
            field(&s.name),
            s.category.id().to_owned(),
            lat,
            lon,
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_written_reads_back_as_the_same_sites() {
        let sites = vec![
            crate::config::Site {
                id: fathom_shared::SiteId::parse("yy-hosp").unwrap(),
                name: "沂源县人民医院, 东院".to_owned(),
                category: SiteCategory::Hospital,
                location: Some((36.185, 118.17)),
            },
            crate::config::Site {
                id: fathom_shared::SiteId::parse("yy-park").unwrap(),
                name: "=HYPERLINK(\"x\")".to_owned(),
                category: SiteCategory::Park,
                location: None,
            },
        ];
        let text = write(&sites);
        assert!(text.starts_with(BOM), "Excel needs the mark");
        assert!(text.contains("编号 id,名称 name"), "{text}");
        assert!(text.contains("'=HYPERLINK"), "formula neutralised: {text}");
        let back = parse(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].id, "yy-hosp");
        assert_eq!(back[0].name, "沂源县人民医院, 东院");
        assert_eq!((back[0].lat, back[0].lon), (Some(36.185), Some(118.17)));
        assert_eq!(back[1].name, "=HYPERLINK(\"x\")");
        assert_eq!(back[1].category, SiteCategory::Park);
        assert_eq!((back[1].lat, back[1].lon), (None, None));
    }

    #[test]
    fn a_spreadsheet_in_chinese_with_blank_rows_reads() {
        let text = "名称,编号,类别\n汽车站,yy-bus,交通枢纽\n,,\n";
        let sites = parse(text).unwrap();
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].id, "yy-bus");
        assert_eq!(sites[0].category, SiteCategory::TransitHub);
    }

    #[test]
    fn bad_lists_are_refused_naming_the_line() {
        for (text, says) in [
            ("id,name\n", "no category column"),
            ("id,name,category,floor\n", "unknown column \"floor\""),
            ("id,name,category,id\n", "appears twice"),
            (
                "id,name,category\na,b,airport\n",
                "line 2: unknown category \"airport\"",
            ),
            (
                "id,name,category\na,b,park\n,c,park\n",
                "line 3: id and name",
            ),
            (
                "id,name,category,lat\na,b,park,north\n",
                "line 2: lat \"north\"",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }
}
