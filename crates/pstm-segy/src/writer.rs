//! Writing SEG-Y: revision 1.0 big-endian (revision 2.0 when little-endian is asked for, the
//! only revision that allows it), fixed-length traces, no extended textual headers.

use std::io::Write;

use crate::binary_header::{BinField, BinaryHeader};
use crate::endian::Endian;
use crate::error::{Result, SegyError};
use crate::sample_format::SampleFormat;
use crate::textual::TextualHeader;
use crate::trace_header::{TraceField, TraceHeader};

/// What a file will hold.
#[derive(Debug, Clone)]
pub struct WriterSpec {
    pub format: SampleFormat,
    pub endian: Endian,
    pub samples_per_trace: usize,
    /// Whole microseconds, at most 65,535 (bytes 3217-3218 are two bytes).
    pub sample_interval_us: u32,
    pub textual: TextualHeader,
    /// Further binary header fields (sorting code, measurement system...). The writer sets the
    /// format, sample count and interval, revision, fixed-length flag and byte-order mark itself.
    pub binary_fields: Vec<(BinField, i64)>,
}

/// Writes the file headers on creation, then one trace per [`SegyWriter::write_trace`].
pub struct SegyWriter<W: Write> {
    out: W,
    spec: WriterSpec,
    traces: u64,
    buf: Vec<u8>,
}

impl<W: Write> SegyWriter<W> {
    pub fn new(mut out: W, spec: WriterSpec) -> Result<Self> {
        if spec.samples_per_trace == 0 || spec.samples_per_trace > usize::from(u16::MAX) {
            return Err(SegyError::Write(format!(
                "{} samples per trace: SEG-Y rev 1 holds 1 to 65535 (bytes 3221-3222)",
                spec.samples_per_trace
            )));
        }
        if spec.sample_interval_us == 0 || spec.sample_interval_us > u32::from(u16::MAX) {
            return Err(SegyError::Write(format!(
                "sample interval {} us: SEG-Y rev 1 holds 1 to 65535 whole microseconds (bytes 3217-3218)",
                spec.sample_interval_us
            )));
        }
        let mut bin = BinaryHeader::new(spec.endian);
        for &(field, value) in &spec.binary_fields {
            bin.set(field, value)?;
        }
        let (major, interval, samples) =
            (if spec.endian == Endian::Big { 1 } else { 2 }, spec.sample_interval_us, spec.samples_per_trace);
        for (field, value) in [
            (BinField::Interval, i64::from(interval)),
            (BinField::IntervalOriginal, i64::from(interval)),
            (BinField::Samples, samples as i64),
            (BinField::SamplesOriginal, samples as i64),
            (BinField::Format, i64::from(spec.format.code())),
            (BinField::Revision, major),
            (BinField::RevisionMinor, 0),
            (BinField::FixedLengthTraces, 1),
            (BinField::ExtendedHeaders, 0),
        ] {
            bin.set(field, value)?;
        }
        // Defined by revision 2 only, but harmless in revision 1's unassigned bytes, and it lets
        // a reader settle the byte order without guessing.
        bin.set_byte_order_mark();
        out.write_all(&spec.textual.to_bytes())
            .and_then(|_| out.write_all(bin.as_bytes()))
            .map_err(SegyError::WriteIo)?;
        Ok(Self { out, spec, traces: 0, buf: Vec::new() })
    }

    /// A blank trace header in this file's byte order.
    pub fn new_header(&self) -> TraceHeader {
        TraceHeader::new(self.spec.endian)
    }

    /// Write one trace. Its sample count and interval (bytes 115-118) are filled in; samples must
    /// be finite (no format can carry NaN the same way, and IBM floats have no infinity).
    pub fn write_trace(&mut self, header: &TraceHeader, samples: &[f32]) -> Result<()> {
        let trace = self.traces;
        let fail = |message: String| SegyError::WriteTrace { trace, message };
        if header.endian() != self.spec.endian {
            return Err(fail(format!("header built {} for a {} file", header.endian(), self.spec.endian)));
        }
        if samples.len() != self.spec.samples_per_trace {
            return Err(fail(format!(
                "{} samples, the file has {} per trace",
                samples.len(),
                self.spec.samples_per_trace
            )));
        }
        if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
            return Err(fail(format!("sample {i} is {}", samples[i])));
        }
        let mut h = header.clone();
        h.set(TraceField::SampleCount, samples.len() as i64).map_err(fail)?;
        h.set(TraceField::SampleInterval, i64::from(self.spec.sample_interval_us)).map_err(fail)?;
        self.buf.clear();
        self.buf.extend_from_slice(h.as_bytes());
        self.spec
            .format
            .encode(self.spec.endian, samples, &mut self.buf)
            .map_err(|(i, m)| fail(format!("sample {i}: {m}")))?;
        self.out.write_all(&self.buf).map_err(SegyError::WriteIo)?;
        self.traces += 1;
        Ok(())
    }

    pub fn traces_written(&self) -> u64 {
        self.traces
    }

    /// Flush and hand back the output.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(SegyError::WriteIo)?;
        Ok(self.out)
    }
}
