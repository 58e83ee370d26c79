//! The CSV files of "Authorization Code Request" between a relay and the authority (the
//! reference's SLAC workflow for CSLU and SSM On-Prem): the relay writes the product instances
//! that need a SLAC (`PID,Serial Number`), the authority generates the codes for all of them
//! and writes `PID,Serial Number,Authorization Code`, where each code is the `<smartLicense>`
//! document a device imports. The relay imports that file and delivers each code.
//!
//! Read with the `csv` crate (quoted fields may hold commas, quotes and newlines, as the XML of
//! a code does). Every error names the file and the line.

use slp_core::udi::Udi;

/// Header of the request file.
pub const REQUEST_HEADER: [&str; 2] = ["PID", "Serial Number"];
/// Header of the codes file.
pub const CODES_HEADER: [&str; 3] = ["PID", "Serial Number", "Authorization Code"];

/// A line of a SLAC CSV file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: line {line}: {reason}")]
pub struct CsvError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

fn finish(writer: csv::Writer<Vec<u8>>) -> String {
    // Writing into a Vec cannot fail; the bytes are the UTF-8 given.
    writer.into_inner().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

/// `PID,Serial Number` and one line per UDI.
pub fn write_requests(udis: &[Udi]) -> String {
    let mut out = writer();
    let _ = out.write_record(REQUEST_HEADER);
    for udi in udis {
        let _ = out.write_record([udi.pid.as_str(), udi.sn.as_str()]);
    }
    finish(out)
}

/// `PID,Serial Number,Authorization Code` and one line per (UDI, code document).
pub fn write_codes(codes: &[(Udi, String)]) -> String {
    let mut out = writer();
    let _ = out.write_record(CODES_HEADER);
    for (udi, code) in codes {
        let _ = out.write_record([udi.pid.as_str(), udi.sn.as_str(), code.as_str()]);
    }
    finish(out)
}

/// True when `bytes` start like a codes file (its header).
pub fn is_codes(bytes: &[u8]) -> bool {
    let start = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    start.starts_with(CODES_HEADER.join(",").as_bytes())
}

/// Reads the records of a SLAC CSV whose header must start with `header` (case-insensitive,
/// extra columns ignored); returns (line, fields).
fn records(text: &str, file: &str, header: &[&str]) -> Result<Vec<(u64, Vec<String>)>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    // Line numbers from byte offsets: quoted fields may span lines.
    let line_at = |byte: u64| {
        let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        // The reader may place a record at the line feed of a CRLF before it.
        while matches!(text.as_bytes().get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        let newlines = text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count();
        u64::try_from(newlines).unwrap_or(u64::MAX) + 1
    };
    for (index, record) in reader.records().enumerate() {
        let fallback = u64::try_from(index).unwrap_or(u64::MAX) + 1;
        let record = record.map_err(|e| CsvError {
            file: file.to_owned(),
            line: e.position().map_or(fallback, |p| line_at(p.byte())),
            reason: format!("not CSV: {e}"),
        })?;
        let line = record.position().map_or(fallback, |p| line_at(p.byte()));
        let fields: Vec<String> = record.iter().map(|f| f.trim().to_owned()).collect();
        if out.is_empty() && line == 1 {
            let matches = header
                .iter()
                .enumerate()
                .all(|(i, h)| fields.get(i).is_some_and(|f| f.eq_ignore_ascii_case(h)));
            if !matches {
                return Err(CsvError {
                    file: file.to_owned(),
                    line,
                    reason: format!(
                        "the header must be {:?}, found {:?}",
                        header.join(","),
                        fields.join(",")
                    ),
                });
            }
            out.push((0, Vec::new()));
            continue;
        }
        if fields.iter().all(String::is_empty) {
            continue;
        }
        if fields.len() < header.len() {
            return Err(CsvError {
                file: file.to_owned(),
                line,
                reason: format!("{} field(s), expected {}", fields.len(), header.len()),
            });
        }
        out.push((line, fields));
    }
    if out.is_empty() {
        return Err(CsvError {
            file: file.to_owned(),
            line: 1,
            reason: "the file is empty".into(),
        });
    }
    out.remove(0);
    Ok(out)
}

fn udi(line: u64, fields: &[String], file: &str) -> Result<Udi, CsvError> {
    Udi::new(&fields[0], &fields[1]).map_err(|e| CsvError {
        file: file.to_owned(),
        line,
        reason: format!("PID {:?}, serial number {:?}: {e}", fields[0], fields[1]),
    })
}

/// Reads a request file: the UDIs, in file order.
pub fn read_requests(text: &str, file: &str) -> Result<Vec<(u64, Udi)>, CsvError> {
    records(text, file, &REQUEST_HEADER)?
        .into_iter()
        .map(|(line, fields)| Ok((line, udi(line, &fields, file)?)))
        .collect()
}

/// Reads a codes file: (line, UDI, code document) in file order.
pub fn read_codes(text: &str, file: &str) -> Result<Vec<(u64, Udi, String)>, CsvError> {
    records(text, file, &CODES_HEADER)?
        .into_iter()
        .map(|(line, fields)| {
            let udi = udi(line, &fields, file)?;
            if fields[2].is_empty() {
                return Err(CsvError {
                    file: file.to_owned(),
                    line,
                    reason: format!("no authorization code for {udi}"),
                });
            }
            Ok((line, udi, fields[2].clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_codes_round_trip_with_quoted_xml() {
        let a = Udi::new("C9300-24UX", "FOC1").unwrap();
        let b = Udi::new("C9300-48UXM", "FOC2").unwrap();
        let text = write_requests(&[a.clone(), b.clone()]);
        assert!(text.starts_with("PID,Serial Number\r\nC9300-24UX,FOC1\r\n"), "{text}");
        let read: Vec<Udi> =
            read_requests(&text, "req.csv").unwrap().into_iter().map(|(_, u)| u).collect();
        assert_eq!(read, [a.clone(), b]);

        let code = "<smartLicense>\n<x a=\"1,2\">\"q\"</x>\n</smartLicense>".to_owned();
        let text = write_codes(&[(a.clone(), code.clone())]);
        assert!(is_codes(text.as_bytes()));
        assert!(!is_codes(b"PID,Serial Number\r\n"));
        assert_eq!(read_codes(&text, "codes.csv").unwrap(), [(2, a, code)]);
    }

    #[test]
    fn bad_lines_are_named() {
        let err = read_requests("Host,Name\r\n", "r.csv").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.reason.contains("the header must be \"PID,Serial Number\""), "{err}");
        let err = read_requests("PID,Serial Number\nC9300,FOC1\nC9300\n", "r.csv").unwrap_err();
        assert_eq!(err.to_string(), "r.csv: line 3: 1 field(s), expected 2");
        let err = read_requests("PID,Serial Number\n,FOC1\n", "r.csv").unwrap_err();
        assert!(err.to_string().starts_with("r.csv: line 2: PID \"\""), "{err}");
        let err =
            read_codes("PID,Serial Number,Authorization Code\nC9300,FOC1,\n", "c.csv").unwrap_err();
        assert_eq!(err.to_string(), "c.csv: line 2: no authorization code for PID:C9300,SN:FOC1");
        assert!(read_requests("", "e.csv").unwrap_err().reason.contains("empty"));
    }
}
