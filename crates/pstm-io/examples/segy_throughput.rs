//! Times SEG-Y import (and export) for the throughput figure of docs/PERFORMANCE.md.
//!
//! ```text
//! cargo build --release -p pstm-io --example segy_throughput
//! target/release/examples/segy_throughput export DATASET FILE.sgy [ibm|ieee]
//! target/release/examples/segy_throughput import FILE.sgy DATASET_OUT
//! ```
//!
//! Import speed is reported as SEG-Y bytes read per second of wall time (both passes, the dataset
//! written and compressed), in MB/s (10^6 bytes).

use std::path::Path;
use std::time::Instant;

use pstm_io::segy_export::{ExportOptions, export_dataset};
use pstm_io::segy_import::{ImportOptions, import_segy};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["export", dataset, out, ref rest @ ..] => {
            let format = rest.first().map_or(Ok(Default::default()), |f| f.parse()).unwrap_or_else(|e| fail(e));
            let options = ExportOptions { format, overwrite: true, ..Default::default() };
            let start = Instant::now();
            let s = export_dataset(Path::new(dataset), Path::new(out), &options).unwrap_or_else(|e| fail(e));
            let secs = start.elapsed().as_secs_f64();
            let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0) as f64;
            println!("{s}\nexport: {:.1} MB in {secs:.2} s = {:.0} MB/s", bytes / 1e6, bytes / 1e6 / secs);
        }
        ["import", file, out] => {
            let options = ImportOptions { overwrite: true, ..Default::default() };
            let start = Instant::now();
            let s = import_segy(Path::new(file), Path::new(out), &options, &mut |_, _| {}).unwrap_or_else(|e| fail(e));
            let secs = start.elapsed().as_secs_f64();
            let mb = s.file_bytes as f64 / 1e6;
            println!("{s}\nimport: {mb:.1} MB in {secs:.2} s = {:.0} MB/s", mb / secs);
        }
        _ => fail("usage: segy_throughput export DATASET FILE.sgy [ibm|ieee] | import FILE.sgy DATASET_OUT"),
    }
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("error: {e}");
    std::process::exit(1)
}
