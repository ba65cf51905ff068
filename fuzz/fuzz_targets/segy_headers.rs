//! Arbitrary bytes as a SEG-Y file: open it (textual, binary and extended headers, trace
//! location), read every trace and decode every trace header through the standard map; and, as
//! text, as a header map. Errors are fine; panics, hangs and runaway allocations are not.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use pstm_segy::{HeaderMap, SegyReader, TextualHeader};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(map) = HeaderMap::parse(text) {
            assert_eq!(HeaderMap::parse(&map.to_string()).as_ref(), Ok(&map));
        }
    }
    if data.len() >= 3200 {
        let _ = TextualHeader::from_bytes(&data[..3200]).lines();
    }
    let Ok(mut reader) = SegyReader::new(Cursor::new(data)) else { return };
    let map = HeaderMap::default();
    let revision = reader.info().revision;
    let mut samples = Vec::new();
    while let Ok(Some(header)) = reader.next_trace(&mut samples) {
        let _ = map.decode(&header, revision);
    }
    let _ = reader.rewind();
    while let Ok(Some(_)) = reader.next_header() {}
});
