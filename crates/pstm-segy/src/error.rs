//! Errors. Each names where in the file the problem is: the header bytes (1-based positions, as
//! the standard prints them) or the trace (counted from 0, like a dataset's `trace_idx`) and its
//! file offset (0-based, as a hex dump shows it).

/// Inclusive 1-based byte range of a header field, as the standard prints it ("bytes 71-72").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes {
    pub first: u32,
    pub last: u32,
}

impl Bytes {
    pub fn new(first: u32, width: u32) -> Self {
        Self { first, last: first + width.max(1) - 1 }
    }
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bytes {}-{}", self.first, self.last)
    }
}

fn in_bytes(bytes: &Option<Bytes>) -> String {
    bytes.map(|b| format!(", trace header {b}")).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegyError {
    #[error("the file is empty; a SEG-Y file starts with a 3200-byte textual header and a 400-byte binary header")]
    Empty,
    #[error("the file is {len} bytes long, too short for the 3600 bytes of textual and binary headers")]
    TooShort { len: u64 },
    #[error("cannot read {what} at file offset {offset}: {source}")]
    Io { what: String, offset: u64, source: std::io::Error },
    /// A binary header field holds a value the reader cannot work with.
    #[error("binary header {bytes} ({name}) = {value}: {message}")]
    BinaryField { bytes: Bytes, name: &'static str, value: i64, message: String },
    #[error("extended textual header {index} at file offset {offset}: {message}")]
    ExtendedTextual { index: usize, offset: u64, message: String },
    /// Something wrong with one trace: its header or its place in the file.
    #[error("trace {trace} at file offset {offset}{}: {message}", in_bytes(.bytes))]
    Trace { trace: u64, offset: u64, bytes: Option<Bytes>, message: String },
    #[error(
        "trace {trace} at file offset {offset} is truncated: it needs {needed} bytes (240 of header, \
         the rest samples) but the file ends {available} bytes after its start"
    )]
    Truncated { trace: u64, offset: u64, needed: u64, available: u64 },
    /// The writer was given something SEG-Y cannot hold.
    #[error("cannot write SEG-Y: {0}")]
    Write(String),
    #[error("cannot write SEG-Y: trace {trace}: {message}")]
    WriteTrace { trace: u64, message: String },
    #[error("cannot write SEG-Y: {0}")]
    WriteIo(#[source] std::io::Error),
}

pub type Result<T> = std::result::Result<T, SegyError>;

/// Errors of a `key=byte,...` header map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderMapError {
    #[error("unknown trace header key `{key}`{}; valid keys: {valid}", .suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownKey { key: String, suggestion: Option<&'static str>, valid: String },
    #[error("`{item}` is not key=byte or key=byte:width (for example sx=73 or inline=9:4)")]
    Syntax { item: String },
    #[error("{key}={value}: {reason}")]
    BadLocation { key: &'static str, value: String, reason: String },
    #[error("`{key}` is given twice")]
    Duplicate { key: &'static str },
}
