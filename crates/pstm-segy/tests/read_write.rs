//! Files written here and read back: every sample format in both byte orders, the layouts of
//! revisions 0 to 2, and broken files whose errors must name the trace or the bytes at fault.

use std::io::Cursor;

use pstm_segy::{
    BinField, Endian, HeaderKey, HeaderMap, SampleFormat, SegyError, SegyReader, SegyWriter, TextEncoding,
    TextualHeader, TraceField, WriterSpec,
};

const NS: usize = 7;
const NTR: usize = 5;

/// Values every format holds exactly: small integers (int8 included) that are also short binary
/// fractions for IBM.
fn samples(trace: usize) -> Vec<f32> {
    (0..NS).map(|i| (i as f32 - 3.0) * (trace as f32 + 1.0)).collect()
}

fn spec(format: SampleFormat, endian: Endian) -> WriterSpec {
    WriterSpec {
        format,
        endian,
        samples_per_trace: NS,
        sample_interval_us: 2000,
        textual: TextualHeader::from_lines(&["C 1 TEST FILE"], TextEncoding::Ebcdic),
        binary_fields: vec![(BinField::SortingCode, 2)],
    }
}

fn write(format: SampleFormat, endian: Endian) -> Vec<u8> {
    let mut w = SegyWriter::new(Vec::new(), spec(format, endian)).unwrap();
    for t in 0..NTR {
        let mut h = w.new_header();
        h.set(TraceField::TraceSequenceFile, t as i64 + 1).unwrap();
        h.set(TraceField::CoordinateScalar, -10).unwrap();
        h.set(TraceField::SourceX, 1000 + t as i64).unwrap();
        h.set(TraceField::GroupX, 2005 + t as i64).unwrap();
        h.set(TraceField::DelayRecordingTime, 40).unwrap();
        h.set(TraceField::Inline, 10).unwrap();
        h.set(TraceField::Crossline, 20 + t as i64).unwrap();
        w.write_trace(&h, &samples(t)).unwrap();
    }
    w.finish().unwrap()
}

fn read_all(bytes: Vec<u8>) -> Result<Vec<Vec<f32>>, SegyError> {
    let mut r = SegyReader::new(Cursor::new(bytes))?;
    let mut out = Vec::new();
    let mut s = Vec::new();
    while r.next_trace(&mut s)?.is_some() {
        out.push(s.clone());
    }
    Ok(out)
}

#[test]
fn every_format_and_byte_order_reads_back_the_same() {
    let expected: Vec<Vec<f32>> = (0..NTR).map(samples).collect();
    for format in SampleFormat::ALL {
        for endian in [Endian::Big, Endian::Little] {
            let bytes = write(format, endian);
            assert_eq!(bytes.len(), 3600 + NTR * (240 + NS * format.bytes_per_sample()));
            let r = SegyReader::new(Cursor::new(bytes.clone())).unwrap();
            let info = r.info();
            assert_eq!((info.format, info.endian, info.trace_count), (format, endian, NTR as u64));
            assert_eq!((info.samples_per_trace, info.sample_interval_us), (NS, 2000.0));
            assert_eq!(info.textual.encoding(), TextEncoding::Ebcdic);
            assert_eq!(info.textual.lines()[0], "C 1 TEST FILE");
            assert_eq!(info.binary.get(BinField::SortingCode), 2);
            assert_eq!(read_all(bytes.clone()).unwrap(), expected, "{format} {endian}");

            // Without the byte-order mark the format code alone settles the byte order.
            let mut unmarked = bytes;
            unmarked[3296..3300].fill(0);
            assert_eq!(read_all(unmarked).unwrap(), expected, "{format} {endian} unmarked");
        }
    }
}

#[test]
fn headers_decode_through_the_map() {
    let mut r = SegyReader::new(Cursor::new(write(SampleFormat::IeeeFloat32, Endian::Little))).unwrap();
    let map = HeaderMap::default();
    let rev = r.info().revision;
    let h = r.next_header().unwrap().unwrap();
    let v = map.decode(&h, rev).unwrap();
    assert_eq!((v.source_x, v.group_x, v.delay_ms, v.inline, v.crossline), (100.0, 200.5, 40.0, 10, 20));
    let h = r.next_header().unwrap().unwrap();
    assert_eq!(map.read(&h, HeaderKey::Crossline), 21);
    // Remapped: the crossline read from the sequence number's bytes.
    let remapped = HeaderMap::parse("crossline=5").unwrap();
    assert_eq!(remapped.decode(&h, rev).unwrap().crossline, 2);
}

#[test]
fn ascii_textual_header_and_revision_zero() {
    let mut bytes = write(SampleFormat::IbmFloat32, Endian::Big);
    let ascii = TextualHeader::from_lines(&["C 1 ASCII HEADER"], TextEncoding::Ascii).to_bytes();
    bytes[..3200].copy_from_slice(&ascii);
    let r = SegyReader::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(r.info().textual.encoding(), TextEncoding::Ascii);
    assert_eq!(r.info().textual.lines()[0], "C 1 ASCII HEADER");
    // Revision 0: bytes 3501-3600 are unassigned, so what they hold must not matter (here a
    // fixed-length flag of 0 and a count of extended headers).
    bytes[3500..3600].fill(0);
    bytes[3502..3506].copy_from_slice(&[0, 0, 0x7F, 0xCD]);
    let r = SegyReader::new(Cursor::new(bytes)).unwrap();
    assert_eq!((r.info().revision.major, r.info().variable_length, r.info().trace_count), (0, false, NTR as u64));
}

fn set_bin(bytes: &mut [u8], field: BinField, value: &[u8]) {
    let p = field as usize - 1;
    bytes[p..p + value.len()].copy_from_slice(value);
}

#[test]
fn extended_textual_headers_counted_and_until_end_text() {
    let base = write(SampleFormat::IeeeFloat32, Endian::Big);
    let ext1 = TextualHeader::from_lines(&["EXTENDED ONE"], TextEncoding::Ebcdic).to_bytes();
    let end = TextualHeader::from_lines(&["((SEG: EndText))"], TextEncoding::Ascii).to_bytes();
    for (count, revision) in [(2i16, 1u8), (-1, 2)] {
        let mut bytes = base[..3600].to_vec();
        set_bin(&mut bytes, BinField::ExtendedHeaders, &count.to_be_bytes());
        set_bin(&mut bytes, BinField::Revision, &[revision]);
        bytes.extend_from_slice(&ext1);
        bytes.extend_from_slice(&end);
        bytes.extend_from_slice(&base[3600..]);
        let r = SegyReader::new(Cursor::new(bytes.clone())).unwrap();
        let ext = &r.info().extended_textual;
        assert_eq!(ext.len(), 2);
        assert_eq!(ext[0].lines()[0], "EXTENDED ONE");
        assert_eq!(r.info().first_trace_offset, 3600 + 6400);
        assert_eq!(read_all(bytes).unwrap()[4], samples(4));
    }
    // -1 without the stanza: the search runs into the traces and the end of the file.
    let mut bytes = base.clone();
    set_bin(&mut bytes, BinField::ExtendedHeaders, &(-1i16).to_be_bytes());
    set_bin(&mut bytes, BinField::Revision, &[2]);
    let e = SegyReader::new(Cursor::new(bytes)).unwrap_err().to_string();
    assert!(e.contains("before ((SEG: EndText)) closes"), "{e}");
    let mut bytes = base;
    set_bin(&mut bytes, BinField::ExtendedHeaders, &(9i16).to_be_bytes());
    let e = SegyReader::new(Cursor::new(bytes)).unwrap_err().to_string();
    assert!(e.contains("bytes 3505-3506") && e.contains("room for at most 0"), "{e}");
}

#[test]
fn revision_two_first_trace_offset_and_trailer() {
    let base = write(SampleFormat::IeeeFloat32, Endian::Big);
    let mut bytes = base[..3600].to_vec();
    set_bin(&mut bytes, BinField::Revision, &[2]);
    set_bin(&mut bytes, BinField::FirstTraceOffset, &4000u64.to_be_bytes());
    set_bin(&mut bytes, BinField::TrailerRecords, &1i32.to_be_bytes());
    bytes.resize(4000, 0);
    bytes.extend_from_slice(&base[3600..]);
    bytes.extend_from_slice(&[b' '; 3200]);
    let r = SegyReader::new(Cursor::new(bytes.clone())).unwrap();
    assert_eq!((r.info().first_trace_offset, r.info().trace_count), (4000, NTR as u64));
    assert_eq!(read_all(bytes).unwrap()[2], samples(2));
}

#[test]
fn variable_length_traces_follow_their_headers() {
    // Revision 1 with the fixed-length flag at 0: trace t has t + 1 samples.
    let mut bytes = write(SampleFormat::Int16, Endian::Big)[..3600].to_vec();
    set_bin(&mut bytes, BinField::FixedLengthTraces, &[0, 0]);
    let mut h = [0u8; 240];
    for t in 0..4usize {
        h[114..116].copy_from_slice(&(t as u16 + 1).to_be_bytes());
        bytes.extend_from_slice(&h);
        for i in 0..=t {
            bytes.extend_from_slice(&(i as i16 * 10).to_be_bytes());
        }
    }
    let mut r = SegyReader::new(Cursor::new(bytes.clone())).unwrap();
    assert!(r.info().variable_length);
    assert_eq!((r.info().trace_count, r.info().samples_per_trace, r.info().declared_samples_per_trace), (4, 4, NS));
    let mut s = Vec::new();
    r.next_trace(&mut s).unwrap();
    assert_eq!(s, [0.0]);
    r.next_trace(&mut s).unwrap();
    r.next_trace(&mut s).unwrap();
    assert_eq!(s, [0.0, 10.0, 20.0]);
    r.rewind().unwrap();
    assert_eq!(r.next_header().unwrap().unwrap().get(TraceField::SampleCount), 1);

    // Cut inside the last trace: the walk at open names it.
    bytes.truncate(bytes.len() - 3);
    let e = SegyReader::new(Cursor::new(bytes)).unwrap_err();
    assert!(matches!(e, SegyError::Truncated { trace: 3, .. }), "{e}");
}

// ---- broken files ----

fn open_err(bytes: Vec<u8>) -> String {
    SegyReader::new(Cursor::new(bytes)).unwrap_err().to_string()
}

#[test]
fn empty_and_short_files() {
    assert!(open_err(vec![]).contains("the file is empty"));
    let e = open_err(vec![0x40; 3599]);
    assert!(e.contains("3599 bytes long, too short"), "{e}");
}

#[test]
fn truncated_last_trace_is_named() {
    let mut bytes = write(SampleFormat::IeeeFloat32, Endian::Big);
    bytes.truncate(bytes.len() - 1);
    let trace_bytes = 240 + NS * 4;
    let e = open_err(bytes);
    let offset = 3600 + 4 * trace_bytes;
    assert!(e.contains(&format!("trace 4 at file offset {offset} is truncated: it needs {trace_bytes} bytes")), "{e}");
    assert!(e.contains(&format!("ends {} bytes after its start", trace_bytes - 1)), "{e}");
}

#[test]
fn sample_format_codes_zero_and_unknown() {
    for (code, says) in [(0i16, "not set"), (13, "13 is not a SEG-Y sample format code"), (4, "obsolete")] {
        let mut bytes = write(SampleFormat::IeeeFloat32, Endian::Big);
        set_bin(&mut bytes, BinField::Format, &code.to_be_bytes());
        bytes[3296..3300].copy_from_slice(&[1, 2, 3, 4]);
        let e = open_err(bytes);
        assert!(e.contains("binary header bytes 3225-3226 (sample format code)") && e.contains(says), "{e}");
    }
}

#[test]
fn trace_length_disagreeing_with_binary_header() {
    let mut bytes = write(SampleFormat::IeeeFloat32, Endian::Big);
    let trace_bytes = 240 + NS * 4;
    let t2 = 3600 + 2 * trace_bytes;
    bytes[t2 + 114..t2 + 116].copy_from_slice(&(NS as u16 + 1).to_be_bytes());
    let e = read_all(bytes).unwrap_err().to_string();
    assert!(e.contains(&format!("trace 2 at file offset {t2}, trace header bytes 115-116: 8 samples")), "{e}");
    assert!(e.contains("binary header (bytes 3221-3222) says every trace has 7"), "{e}");
}

#[test]
fn zero_and_absurd_scalars() {
    let bytes = write(SampleFormat::IeeeFloat32, Endian::Big);
    let trace_bytes = 240 + NS * 4;
    let map = HeaderMap::default();
    let decode_first = |bytes: Vec<u8>| {
        let mut r = SegyReader::new(Cursor::new(bytes)).unwrap();
        let rev = r.info().revision;
        let h = r.next_header().unwrap().unwrap();
        map.decode(&h, rev)
    };
    // 0 means 1.
    let mut zero = bytes.clone();
    zero[3600 + 70..3600 + 72].fill(0);
    assert_eq!(decode_first(zero).unwrap().source_x, 1000.0);
    for bad in [7i16, -3, 32_767, -32_768] {
        let mut b = bytes.clone();
        b[3600 + 70..3600 + 72].copy_from_slice(&bad.to_be_bytes());
        let e = decode_first(b).unwrap_err();
        assert_eq!(e.bytes.to_string(), "bytes 71-72");
        assert!(e.message.contains(&format!("{bad} is not a SEG-Y scalar")), "{}", e.message);
    }
    let _ = trace_bytes;
}

#[test]
fn missing_sample_count_and_interval() {
    let mut bytes = write(SampleFormat::IeeeFloat32, Endian::Big);
    set_bin(&mut bytes, BinField::Samples, &[0, 0]);
    // Trace 0's header still says 7: taken from there.
    assert_eq!(SegyReader::new(Cursor::new(bytes.clone())).unwrap().info().samples_per_trace, NS);
    bytes[3600 + 114..3600 + 116].fill(0);
    let e = open_err(bytes);
    assert!(e.contains("bytes 3221-3222") && e.contains("no samples per trace"), "{e}");
    let mut bytes = write(SampleFormat::IeeeFloat32, Endian::Big);
    set_bin(&mut bytes, BinField::Interval, &[0, 0]);
    bytes[3600 + 116..3600 + 118].fill(0);
    assert!(open_err(bytes).contains("no sample interval"));
}

#[test]
fn headers_only_file_has_no_traces() {
    let bytes = write(SampleFormat::IeeeFloat32, Endian::Big)[..3600].to_vec();
    let r = SegyReader::new(Cursor::new(bytes)).unwrap();
    assert_eq!(r.info().trace_count, 0);
}

#[test]
fn writer_refuses_what_segy_cannot_hold() {
    let mut s = spec(SampleFormat::IbmFloat32, Endian::Big);
    s.samples_per_trace = 70_000;
    assert!(SegyWriter::new(Vec::new(), s).is_err());
    let mut s = spec(SampleFormat::IbmFloat32, Endian::Big);
    s.sample_interval_us = 0;
    assert!(SegyWriter::new(Vec::new(), s).is_err());
    let mut w = SegyWriter::new(Vec::new(), spec(SampleFormat::IbmFloat32, Endian::Big)).unwrap();
    let h = w.new_header();
    let mut bad = samples(0);
    bad[3] = f32::NAN;
    let e = w.write_trace(&h, &bad).unwrap_err().to_string();
    assert!(e.contains("trace 0: sample 3 is NaN"), "{e}");
    assert!(w.write_trace(&h, &[0.0; 3]).is_err());
    let mut w = SegyWriter::new(Vec::new(), spec(SampleFormat::Int8, Endian::Big)).unwrap();
    let e = w.write_trace(&w.new_header(), &[300.0; NS]).unwrap_err().to_string();
    assert!(e.contains("sample 0: value 300 does not fit a 1-byte integer"), "{e}");
}
