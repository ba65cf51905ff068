//! Kill lists: the traces a job leaves out, named in a CSV file by their row in the dataset
//! (`trace_idx`) or by field record and channel (`ffid,channel`, as SEG-Y bytes 9-12 and 13-16
//! give them and `pstm import segy` keeps them).
//!
//! The first line that is neither blank nor a `#` comment names the columns (case does not
//! matter, other columns are ignored); every later line is one trace. A line naming a trace the
//! dataset does not have is an error, not a kill that silently does nothing.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{IoError, Result};
use crate::headers::TraceHeaders;

/// The dataset rows `path` names, ascending, without repeats.
pub fn read(path: &Path, headers: &TraceHeaders) -> Result<Vec<u32>> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IoError::Missing { path: path.to_path_buf() },
        _ => IoError::fs(path, e),
    })?;
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Err(IoError::invalid(path, "is empty: expected a trace_idx column, or ffid and channel columns"));
    };
    let names: Vec<String> = header.split(',').map(|c| c.trim().to_ascii_lowercase()).collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    let by_field_record = match (column("trace_idx"), column("ffid"), column("channel")) {
        (Some(i), _, _) => Key::Row(i),
        (None, Some(f), Some(c)) => {
            let (Some(ffid), Some(channel)) = (&headers.ffid, &headers.channel) else {
                return Err(IoError::invalid(
                    path,
                    "names traces by ffid and channel, but the dataset has no FFID and CHANNEL header columns (pstm import segy keeps them); name them by trace_idx",
                ));
            };
            // A pair may name several traces (a re-shot record, several lines in one file): all of them.
            let mut index: HashMap<(i64, i64), Vec<u32>> = HashMap::new();
            for (row, (&f, &c)) in ffid.iter().zip(channel).enumerate() {
                index.entry((i64::from(f), i64::from(c))).or_default().push(row as u32);
            }
            Key::FieldRecord(f, c, index)
        }
        _ => {
            return Err(IoError::invalid(
                path,
                format!("first line `{header}`: expected a trace_idx column, or ffid and channel columns"),
            ));
        }
    };
    let n = headers.len() as i64;
    let mut rows = Vec::new();
    for (number, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let value = |i: usize, name: &str| -> Result<i64> {
            let text = fields.get(i).copied().unwrap_or("");
            text.parse::<i64>()
                .map_err(|_| IoError::invalid(path, format!("line {number}: {name} `{text}` is not a whole number")))
        };
        match &by_field_record {
            Key::Row(i) => {
                let t = value(*i, "trace_idx")?;
                if !(0..n).contains(&t) {
                    return Err(IoError::invalid(
                        path,
                        format!("line {number}: trace_idx {t} is not in the dataset (0..{n})"),
                    ));
                }
                rows.push(t as u32);
            }
            Key::FieldRecord(f, c, index) => {
                let (ffid, channel) = (value(*f, "ffid")?, value(*c, "channel")?);
                rows.extend(index.get(&(ffid, channel)).ok_or_else(|| {
                    IoError::invalid(path, format!("line {number}: no trace has ffid {ffid} and channel {channel}"))
                })?);
            }
        }
    }
    rows.sort_unstable();
    rows.dedup();
    Ok(rows)
}

enum Key {
    Row(usize),
    FieldRecord(usize, usize, HashMap<(i64, i64), Vec<u32>>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_math::TraceGeometry;

    fn headers(n: usize) -> TraceHeaders {
        let mut h = TraceHeaders::default();
        for i in 0..n {
            h.push(i as u64, &TraceGeometry::from_midpoint(i as f64, 0.0, 100.0, 0.0), None);
            h.set_segy_ids(1, 100 + (i / 4) as i32, 1 + (i % 4) as i32);
        }
        h
    }

    #[test]
    fn rows_by_index_or_by_field_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kill.csv");
        std::fs::write(&p, "# bad channels\nTrace_idx, note\n7, noisy\n2,\n7\n").unwrap();
        assert_eq!(read(&p, &headers(10)).unwrap(), vec![2, 7]);
        std::fs::write(&p, "ffid,channel\n101,2\n100, 4\n").unwrap();
        assert_eq!(read(&p, &headers(10)).unwrap(), vec![3, 5]);
        // A record shot twice: the pair names both.
        let mut twice = headers(10);
        twice.ffid.as_mut().unwrap()[9] = 100;
        twice.channel.as_mut().unwrap()[9] = 4;
        assert_eq!(read(&p, &twice).unwrap(), vec![3, 5, 9]);
    }

    #[test]
    fn a_trace_the_dataset_lacks_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kill.csv");
        std::fs::write(&p, "trace_idx\n3\n10\n").unwrap();
        let e = read(&p, &headers(10)).unwrap_err().to_string();
        assert!(e.contains("kill.csv") && e.contains("line 3: trace_idx 10 is not in the dataset (0..10)"), "{e}");
        std::fs::write(&p, "ffid,channel\n100,9\n").unwrap();
        let e = read(&p, &headers(10)).unwrap_err().to_string();
        assert!(e.contains("line 2: no trace has ffid 100 and channel 9"), "{e}");
        std::fs::write(&p, "ffid,channel\n1,x\n").unwrap();
        assert!(read(&p, &headers(10)).unwrap_err().to_string().contains("channel `x` is not a whole number"));
        std::fs::write(&p, "shot\n1\n").unwrap();
        assert!(read(&p, &headers(10)).unwrap_err().to_string().contains("expected a trace_idx column"));
        let mut plain = headers(10);
        (plain.ffid, plain.channel) = (None, None);
        std::fs::write(&p, "ffid,channel\n100,1\n").unwrap();
        assert!(read(&p, &plain).unwrap_err().to_string().contains("no FFID and CHANNEL header columns"));
    }
}
