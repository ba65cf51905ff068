//! A streaming reader: headers at open, then traces one after another.
//!
//! Opening reads the textual, binary and extended textual headers, settles the byte order,
//! sample format, sample count and interval, and locates every trace: for fixed-length traces by
//! arithmetic on the file size, for variable-length ones by walking the trace headers. A file
//! that ends inside a trace is refused at open, naming the trace, before any trace is read.
//!
//! Traces are then read in order ([`SegyReader::next_trace`], [`SegyReader::next_header`]) with
//! one trace in memory at a time; [`SegyReader::rewind`] starts over. Reads are plain sequential
//! `read_exact` calls, so wrap a file in a `BufReader`.

use std::io::{Read, Seek, SeekFrom};

use crate::binary_header::{BinField, BinaryHeader, Revision};
use crate::endian::Endian;
use crate::error::{Result, SegyError};
use crate::sample_format::SampleFormat;
use crate::textual::TextualHeader;
use crate::trace_header::{TraceField, TraceHeader};
use crate::{FILE_HEADERS_BYTES, TEXTUAL_HEADER_BYTES, TRACE_HEADER_BYTES};

/// What the file headers say, checked and resolved.
#[derive(Debug, Clone)]
pub struct SegyInfo {
    pub textual: TextualHeader,
    pub extended_textual: Vec<TextualHeader>,
    pub binary: BinaryHeader,
    pub endian: Endian,
    pub revision: Revision,
    pub format: SampleFormat,
    /// Samples per trace: the binary header's (revision 2's extended count when set), or trace
    /// 0's when the binary header says 0. With variable-length traces, the longest trace's.
    pub samples_per_trace: usize,
    /// The count the file headers declare (as `samples_per_trace` before variable-length traces
    /// were measured); a variable-length trace whose header says 0 has this many.
    pub declared_samples_per_trace: usize,
    /// Sample interval in microseconds: the binary header's (revision 2's extended interval when
    /// set), or trace 0's when the binary header says 0.
    pub sample_interval_us: f64,
    /// Whether trace lengths come from each trace header (revision 1 and later with the
    /// fixed-length flag, bytes 3503-3504, at 0).
    pub variable_length: bool,
    pub trace_count: u64,
    /// File offset of trace 0.
    pub first_trace_offset: u64,
    /// File offset just past the last trace (revision 2 trailer records come after it).
    pub traces_end: u64,
    pub file_len: u64,
}

impl SegyInfo {
    /// Bytes of one trace, header included, in a fixed-length file.
    pub fn fixed_trace_bytes(&self) -> u64 {
        TRACE_HEADER_BYTES as u64 + (self.samples_per_trace * self.format.bytes_per_sample()) as u64
    }
}

/// Reads a SEG-Y file from any `Read + Seek` source.
pub struct SegyReader<R> {
    src: R,
    info: SegyInfo,
    next_index: u64,
    next_offset: u64,
    raw: Vec<u8>,
}

impl<R> std::fmt::Debug for SegyReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegyReader").field("info", &self.info).field("next_index", &self.next_index).finish()
    }
}

fn read_at<R: Read + Seek>(src: &mut R, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
    src.seek(SeekFrom::Start(offset)).and_then(|_| src.read_exact(buf)).map_err(|source| SegyError::Io {
        what: what.into(),
        offset,
        source,
    })
}

fn binary_error(field: BinField, value: i64, message: impl Into<String>) -> SegyError {
    SegyError::BinaryField { bytes: field.bytes(), name: field.name(), value, message: message.into() }
}

impl<R: Read + Seek> SegyReader<R> {
    /// Read and check the file headers and locate the traces.
    pub fn new(mut src: R) -> Result<Self> {
        let file_len = src.seek(SeekFrom::End(0)).map_err(|source| SegyError::Io {
            what: "file size".into(),
            offset: 0,
            source,
        })?;
        if file_len == 0 {
            return Err(SegyError::Empty);
        }
        if file_len < FILE_HEADERS_BYTES {
            return Err(SegyError::TooShort { len: file_len });
        }
        let mut text = vec![0u8; TEXTUAL_HEADER_BYTES];
        read_at(&mut src, 0, &mut text, "the textual header")?;
        let mut raw = [0u8; 400];
        read_at(&mut src, TEXTUAL_HEADER_BYTES as u64, &mut raw, "the binary header")?;
        let binary = BinaryHeader::from_bytes(raw);
        let endian = binary.endian();
        let code = binary.get(BinField::Format);
        let format = SampleFormat::from_code(code as i16).map_err(|m| binary_error(BinField::Format, code, m))?;
        let revision = binary.revision();
        // Bytes 3261-3500 are unassigned before revision 2 and 3501-3600 before revision 1: old
        // files may hold anything there, so their fields are read only when the revision has them.
        // A revision number other than 1 or 2 is such garbage (or a future revision): read as 0.
        let rev1 = matches!(revision.major, 1 | 2);
        let rev2 = revision.major == 2;
        if rev2 {
            // Revision 2.0 gave this field 4 bytes (3507-3510); 2.1 gave it 2 and 3509 to survey type.
            let additional = if revision == (Revision { major: 2, minor: 0 }) {
                i64::from(endian.u32(binary.as_bytes(), 306))
            } else {
                binary.get(BinField::AdditionalTraceHeaders)
            };
            if additional != 0 {
                return Err(binary_error(
                    BinField::AdditionalTraceHeaders,
                    additional,
                    "additional 240-byte trace headers (revision 2 trace header extensions) are not supported",
                ));
            }
        }
        let textual = TextualHeader::from_bytes(&text);
        let mut offset = FILE_HEADERS_BYTES;
        let extended_textual =
            if rev1 { Self::read_extended(&mut src, &binary, file_len, &mut offset)? } else { vec![] };

        let mut first_trace_offset = offset;
        let mut traces_end = file_len;
        if rev2 {
            let given = binary.get(BinField::FirstTraceOffset);
            if given != 0 {
                if !(offset as i64..=file_len as i64).contains(&given) {
                    return Err(binary_error(
                        BinField::FirstTraceOffset,
                        given,
                        format!(
                            "the first trace must start between byte {offset} (after the headers) and the end of the file ({file_len})"
                        ),
                    ));
                }
                first_trace_offset = given as u64;
            }
            let trailers = binary.get(BinField::TrailerRecords);
            let trailer_bytes = trailers.max(0) as u64 * TEXTUAL_HEADER_BYTES as u64;
            if trailers < 0 || trailer_bytes > file_len - first_trace_offset {
                return Err(binary_error(
                    BinField::TrailerRecords,
                    trailers,
                    format!("{trailers} trailer records of 3200 bytes do not fit after byte {first_trace_offset}"),
                ));
            }
            traces_end = file_len - trailer_bytes;
        }

        let mut first_header = None;
        let mut trace0 = |src: &mut R| -> Result<TraceHeader> {
            if let Some(h) = first_header.clone() {
                return Ok(h);
            }
            let available = traces_end - first_trace_offset;
            if available < TRACE_HEADER_BYTES as u64 {
                return Err(SegyError::Truncated {
                    trace: 0,
                    offset: first_trace_offset,
                    needed: TRACE_HEADER_BYTES as u64,
                    available,
                });
            }
            let mut raw = [0u8; TRACE_HEADER_BYTES];
            read_at(src, first_trace_offset, &mut raw, "trace 0's header")?;
            let h = TraceHeader::from_bytes(raw, endian);
            first_header = Some(h.clone());
            Ok(h)
        };
        let has_traces = traces_end > first_trace_offset;

        let mut samples = binary.get(BinField::Samples) as usize;
        if rev2 && binary.get(BinField::ExtSamples) > 0 {
            samples = binary.get(BinField::ExtSamples) as usize;
        }
        if samples == 0 && has_traces {
            samples = trace0(&mut src)?.get(TraceField::SampleCount) as usize;
        }
        if samples == 0 {
            return Err(binary_error(
                BinField::Samples,
                0,
                "no samples per trace, and trace 0's header (bytes 115-116) gives none either",
            ));
        }

        let mut interval = binary.get(BinField::Interval) as f64;
        if rev2 && binary.ext_interval_us() > 0.0 && binary.ext_interval_us().is_finite() {
            interval = binary.ext_interval_us();
        }
        if interval == 0.0 && has_traces {
            interval = trace0(&mut src)?.get(TraceField::SampleInterval) as f64;
        }
        if interval <= 0.0 {
            return Err(binary_error(
                BinField::Interval,
                0,
                "no sample interval, and trace 0's header (bytes 117-118) gives none either",
            ));
        }

        let variable_length = rev1 && binary.get(BinField::FixedLengthTraces) == 0;
        let mut info = SegyInfo {
            textual,
            extended_textual,
            binary,
            endian,
            revision,
            format,
            samples_per_trace: samples,
            declared_samples_per_trace: samples,
            sample_interval_us: interval,
            variable_length,
            trace_count: 0,
            first_trace_offset,
            traces_end,
            file_len,
        };
        if variable_length {
            Self::walk_traces(&mut src, &mut info)?;
        } else {
            let size = info.fixed_trace_bytes();
            let span = traces_end - first_trace_offset;
            info.trace_count = span / size;
            let rest = span % size;
            if rest != 0 {
                return Err(SegyError::Truncated {
                    trace: info.trace_count,
                    offset: first_trace_offset + info.trace_count * size,
                    needed: size,
                    available: rest,
                });
            }
        }
        let mut reader = Self { src, info, next_index: 0, next_offset: 0, raw: Vec::new() };
        reader.rewind()?;
        Ok(reader)
    }

    fn read_extended(
        src: &mut R,
        binary: &BinaryHeader,
        file_len: u64,
        offset: &mut u64,
    ) -> Result<Vec<TextualHeader>> {
        let count = binary.get(BinField::ExtendedHeaders);
        let fits = (file_len - *offset) / TEXTUAL_HEADER_BYTES as u64;
        if count < -1 || count > fits as i64 {
            return Err(binary_error(
                BinField::ExtendedHeaders,
                count,
                format!(
                    "the file has room for at most {fits} extended textual headers of 3200 bytes (-1: until ((SEG: EndText)))"
                ),
            ));
        }
        let mut headers = Vec::new();
        let mut buf = vec![0u8; TEXTUAL_HEADER_BYTES];
        loop {
            let until_stanza = count == -1;
            if !until_stanza && headers.len() as i64 == count {
                break;
            }
            if *offset + TEXTUAL_HEADER_BYTES as u64 > file_len {
                return Err(SegyError::ExtendedTextual {
                    index: headers.len(),
                    offset: *offset,
                    message: "the file ends before ((SEG: EndText)) closes the extended textual headers".into(),
                });
            }
            read_at(src, *offset, &mut buf, &format!("extended textual header {}", headers.len()))?;
            *offset += TEXTUAL_HEADER_BYTES as u64;
            let h = TextualHeader::from_bytes(&buf);
            let end = h.is_end_text();
            headers.push(h);
            if until_stanza && end {
                break;
            }
        }
        Ok(headers)
    }

    /// Count variable-length traces by following their headers; find the longest.
    fn walk_traces(src: &mut R, info: &mut SegyInfo) -> Result<()> {
        let (mut offset, mut count, mut longest) = (info.first_trace_offset, 0u64, 0usize);
        let mut raw = [0u8; TRACE_HEADER_BYTES];
        while offset < info.traces_end {
            let available = info.traces_end - offset;
            if available < TRACE_HEADER_BYTES as u64 {
                return Err(SegyError::Truncated {
                    trace: count,
                    offset,
                    needed: TRACE_HEADER_BYTES as u64,
                    available,
                });
            }
            read_at(src, offset, &mut raw, &format!("trace {count}'s header"))?;
            let ns = trace_samples(&TraceHeader::from_bytes(raw, info.endian), info);
            let size = TRACE_HEADER_BYTES as u64 + (ns * info.format.bytes_per_sample()) as u64;
            if size > available {
                return Err(SegyError::Truncated { trace: count, offset, needed: size, available });
            }
            longest = longest.max(ns);
            offset += size;
            count += 1;
        }
        info.trace_count = count;
        if count > 0 {
            info.samples_per_trace = longest;
        }
        Ok(())
    }

    pub fn info(&self) -> &SegyInfo {
        &self.info
    }

    /// Index of the trace the next read returns.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Go back to trace 0.
    pub fn rewind(&mut self) -> Result<()> {
        let offset = self.info.first_trace_offset;
        self.src.seek(SeekFrom::Start(offset)).map_err(|source| SegyError::Io {
            what: "trace 0".into(),
            offset,
            source,
        })?;
        self.next_index = 0;
        self.next_offset = offset;
        Ok(())
    }

    /// Read the next trace's header and raw sample bytes into `self.raw`; returns the header,
    /// the trace's sample count and its file offset.
    fn read_raw(&mut self) -> Result<Option<(TraceHeader, usize, u64)>> {
        if self.next_index >= self.info.trace_count {
            return Ok(None);
        }
        let (index, offset) = (self.next_index, self.next_offset);
        let io = |source| SegyError::Io { what: format!("trace {index}"), offset, source };
        let mut raw = [0u8; TRACE_HEADER_BYTES];
        self.src.read_exact(&mut raw).map_err(io)?;
        let header = TraceHeader::from_bytes(raw, self.info.endian);
        let ns = if self.info.variable_length {
            trace_samples(&header, &self.info)
        } else {
            let own = header.get(TraceField::SampleCount) as usize;
            // 0 means the writer left the field blank, which many do.
            if own != 0 && own != self.info.samples_per_trace {
                return Err(SegyError::Trace {
                    trace: index,
                    offset,
                    bytes: Some(TraceField::SampleCount.bytes()),
                    message: format!(
                        "{own} samples, but the binary header (bytes 3221-3222) says every trace has {} and the file \
                         does not declare variable-length traces",
                        self.info.samples_per_trace
                    ),
                });
            }
            self.info.samples_per_trace
        };
        self.raw.resize(ns * self.info.format.bytes_per_sample(), 0);
        self.src.read_exact(&mut self.raw).map_err(io)?;
        self.next_index += 1;
        self.next_offset += (TRACE_HEADER_BYTES + self.raw.len()) as u64;
        Ok(Some((header, ns, offset)))
    }

    /// The next trace: its header, with its samples in `samples` (resized to its length).
    /// `None` after the last trace.
    pub fn next_trace(&mut self, samples: &mut Vec<f32>) -> Result<Option<TraceHeader>> {
        let Some((header, ns, _)) = self.read_raw()? else { return Ok(None) };
        samples.resize(ns, 0.0);
        self.info.format.decode(self.info.endian, &self.raw, samples);
        Ok(Some(header))
    }

    /// The next trace's header, its samples skipped.
    pub fn next_header(&mut self) -> Result<Option<TraceHeader>> {
        Ok(self.read_raw()?.map(|(h, _, _)| h))
    }

    /// File offset of the trace the next read returns.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    pub fn into_inner(self) -> R {
        self.src
    }
}

/// Samples of a variable-length trace: its header's count, or the binary header's when the
/// trace header leaves it at 0.
fn trace_samples(h: &TraceHeader, info: &SegyInfo) -> usize {
    match h.get(TraceField::SampleCount) as usize {
        0 => info.declared_samples_per_trace,
        n => n,
    }
}
