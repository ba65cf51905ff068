//! SEG-Y, the format seismic data is exchanged in: reading revisions 0, 1 and 2, writing
//! revision 1. Format only: this crate knows bytes, headers and samples, not datasets.
//!
//! A SEG-Y file is, in order (byte positions 1-based, as the standard prints them):
//!
//! | bytes | what | module |
//! | --- | --- | --- |
//! | 1-3200 | textual header, 40 lines of 80 characters, EBCDIC or ASCII | [`textual`] |
//! | 3201-3600 | binary header: sample format, count, interval, revision... | [`binary_header`] |
//! | 3200 each | extended textual headers, as many as bytes 3505-3506 say | [`textual`] |
//! | per trace | a 240-byte trace header, then the samples | [`trace_header`], [`sample_format`] |
//!
//! Byte positions of header fields are the discriminants of [`BinField`] and [`TraceField`]
//! (as segyio's `SEGY_BIN_*` and `SEGY_TR_*`), so a reader of this code can check them against
//! the standard. Which trace header bytes hold the coordinates pstm needs is configurable through
//! a [`HeaderMap`] (`sx=73,sy=77,...`), because real files put them in many places.
//!
//! References: SEG Technical Standards Committee, *SEG Y rev 1 Data Exchange format* (2002) and
//! *SEG-Y_r2.0 Data Exchange format* (2017).

pub mod binary_header;
pub mod ebcdic;
pub mod endian;
pub mod error;
pub mod header_map;
pub mod ibm;
pub mod reader;
pub mod sample_format;
pub mod scalar;
pub mod textual;
pub mod trace_header;
pub mod writer;

pub use binary_header::{BinField, BinaryHeader, Revision};
pub use endian::Endian;
pub use error::{Bytes, HeaderMapError, Result, SegyError};
pub use header_map::{FieldLoc, HeaderKey, HeaderMap, TraceValues};
pub use reader::{SegyInfo, SegyReader};
pub use sample_format::SampleFormat;
pub use textual::{TextEncoding, TextualHeader};
pub use trace_header::{TraceField, TraceHeader};
pub use writer::{SegyWriter, WriterSpec};

/// Bytes of the textual header (and of each extended textual header).
pub const TEXTUAL_HEADER_BYTES: usize = 3200;
/// Bytes of the binary header.
pub const BINARY_HEADER_BYTES: usize = 400;
/// Bytes of a trace header.
pub const TRACE_HEADER_BYTES: usize = 240;
/// Byte offset (0-based) of the first extended textual header or, without them, the first trace.
pub const FILE_HEADERS_BYTES: u64 = (TEXTUAL_HEADER_BYTES + BINARY_HEADER_BYTES) as u64;
