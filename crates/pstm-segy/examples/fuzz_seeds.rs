//! Writes a few small, valid SEG-Y files as seeds for the fuzz target `segy_headers`:
//! `cargo run -p pstm-segy --example fuzz_seeds -- fuzz/corpus/segy_headers`.

use pstm_segy::{BinField, Endian, SampleFormat, SegyWriter, TextEncoding, TextualHeader, TraceField, WriterSpec};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: fuzz_seeds DIR"));
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    for format in SampleFormat::ALL {
        for endian in [Endian::Big, Endian::Little] {
            let spec = WriterSpec {
                format,
                endian,
                samples_per_trace: 4,
                sample_interval_us: 4000,
                textual: TextualHeader::from_lines(&["C 1 SEED"], TextEncoding::Ebcdic),
                binary_fields: vec![],
            };
            let mut w = SegyWriter::new(Vec::new(), spec).expect("valid spec");
            for t in 0..3 {
                let mut h = w.new_header();
                h.set(TraceField::CoordinateScalar, -100).unwrap();
                h.set(TraceField::SourceX, 1000 * t).unwrap();
                h.set(TraceField::DelayRecordingTime, 8).unwrap();
                w.write_trace(&h, &[1.0, -2.0, 3.0, 0.0]).expect("valid trace");
            }
            let mut bytes = w.finish().expect("in memory");
            let name = format!("f{}-{endian}.sgy", format.code());
            std::fs::write(dir.join(&name), &bytes).expect("write seed");
            if format == SampleFormat::IbmFloat32 && endian == Endian::Big {
                // Variable-length traces (fixed-length flag 0) and one extended textual header.
                let p = BinField::FixedLengthTraces as usize - 1;
                bytes[p..p + 2].fill(0);
                std::fs::write(dir.join("variable.sgy"), &bytes).expect("write seed");
                let p = BinField::ExtendedHeaders as usize - 1;
                bytes[p..p + 2].copy_from_slice(&1i16.to_be_bytes());
                bytes.splice(3600..3600, [0x40u8; 3200]);
                std::fs::write(dir.join("extended.sgy"), &bytes).expect("write seed");
            }
        }
    }
    std::fs::write(dir.join("map.txt"), "sx=73,inline=9:4,xline=21:2,scalco=71").expect("write seed");
}
