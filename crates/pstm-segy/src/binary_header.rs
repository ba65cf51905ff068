//! The 400-byte binary header (file bytes 3201-3600): sample format, count and interval, and the
//! revision's layout flags.

use crate::endian::Endian;
use crate::error::{Bytes, Result, SegyError};
use crate::sample_format::SampleFormat;

/// Binary header fields; each discriminant is the field's first byte in the file (1-based, as in
/// the standard's tables and segyio's `SEGY_BIN_*`). Fields are signed integers of
/// [`BinField::width`] bytes unless noted.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinField {
    JobId = 3201,
    LineNumber = 3205,
    ReelNumber = 3209,
    /// Data traces per ensemble.
    Traces = 3213,
    AuxTraces = 3215,
    /// Sample interval in microseconds (unsigned).
    Interval = 3217,
    IntervalOriginal = 3219,
    /// Samples per trace (unsigned).
    Samples = 3221,
    SamplesOriginal = 3223,
    /// Sample format code, see [`SampleFormat`].
    Format = 3225,
    EnsembleFold = 3227,
    /// 1 as recorded, 2 CDP ensembles, 4 horizontally stacked...
    SortingCode = 3229,
    VerticalSum = 3231,
    SweepFrequencyStart = 3233,
    SweepFrequencyEnd = 3235,
    SweepLength = 3237,
    Sweep = 3239,
    SweepChannel = 3241,
    SweepTaperStart = 3243,
    SweepTaperEnd = 3245,
    Taper = 3247,
    CorrelatedTraces = 3249,
    BinaryGainRecovery = 3251,
    AmplitudeRecovery = 3253,
    /// 1 metres, 2 feet.
    MeasurementSystem = 3255,
    ImpulseSignalPolarity = 3257,
    VibratoryPolarity = 3259,
    /// Revision 2: replaces [`BinField::Traces`] when non-zero.
    ExtTraces = 3261,
    ExtAuxTraces = 3265,
    /// Revision 2: replaces [`BinField::Samples`] when non-zero.
    ExtSamples = 3269,
    /// Revision 2: IEEE double, microseconds; replaces [`BinField::Interval`] when non-zero.
    ExtInterval = 3273,
    ExtIntervalOriginal = 3281,
    ExtSamplesOriginal = 3289,
    ExtEnsembleFold = 3293,
    /// Revision 2: the integer 16909060 (0x01020304) in the file's byte order.
    ByteOrder = 3297,
    /// Revision major number, one byte (revision 1 writes 0x0100 over 3501-3502, the same bytes).
    Revision = 3501,
    RevisionMinor = 3502,
    /// 1: every trace has the binary header's sample count; 0 (revision 1 and later): trace header
    /// bytes 115-116 give each trace's count.
    FixedLengthTraces = 3503,
    /// Number of 3200-byte extended textual headers; -1 (revision 2): until `((SEG: EndText))`.
    ExtendedHeaders = 3505,
    /// Revision 2: additional 240-byte trace headers per trace (two bytes in 2.1, four in 2.0).
    AdditionalTraceHeaders = 3507,
    TimeBasis = 3511,
    /// Revision 2: unsigned 64-bit.
    TracesInFile = 3513,
    /// Revision 2: unsigned 64-bit byte offset of the first trace; 0 means right after the headers.
    FirstTraceOffset = 3521,
    /// Revision 2: number of 3200-byte trailer records after the last trace.
    TrailerRecords = 3529,
}

impl BinField {
    /// Width in bytes.
    pub fn width(self) -> u32 {
        use BinField::*;
        match self {
            JobId | LineNumber | ReelNumber | ExtTraces | ExtAuxTraces | ExtSamples | ExtSamplesOriginal
            | ExtEnsembleFold | ByteOrder | TrailerRecords => 4,
            ExtInterval | ExtIntervalOriginal | TracesInFile | FirstTraceOffset => 8,
            Revision | RevisionMinor => 1,
            _ => 2,
        }
    }

    /// Position in the file (1-based, inclusive), for messages.
    pub fn bytes(self) -> Bytes {
        Bytes::new(self as u32, self.width())
    }

    /// Offset inside the 400-byte header (0-based).
    fn pos(self) -> usize {
        self as usize - 3201
    }
}

/// A SEG-Y revision, as bytes 3501 (major) and 3502 (minor) give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Revision {
    pub major: u8,
    pub minor: u8,
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The binary header as read, with its byte order.
#[derive(Clone, PartialEq, Eq)]
pub struct BinaryHeader {
    raw: [u8; 400],
    endian: Endian,
}

impl std::fmt::Debug for BinaryHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryHeader")
            .field("endian", &self.endian)
            .field("format", &self.get(BinField::Format))
            .field("samples", &self.get(BinField::Samples))
            .field("interval", &self.get(BinField::Interval))
            .field("revision", &self.revision())
            .finish()
    }
}

const BYTE_ORDER_MARK: u32 = 0x0102_0304;

impl BinaryHeader {
    /// All zeros, to be filled by a writer.
    pub fn new(endian: Endian) -> Self {
        Self { raw: [0; 400], endian }
    }

    /// Wrap 400 bytes read from a file, detecting their byte order: the revision 2 byte-order
    /// mark (bytes 3297-3300) when present, else the byte order in which the sample format code
    /// (bytes 3225-3226) is a known code, else big-endian (the standard's).
    pub fn from_bytes(raw: [u8; 400]) -> Self {
        let endian = Self::detect_endian(&raw);
        Self { raw, endian }
    }

    fn detect_endian(raw: &[u8; 400]) -> Endian {
        let mark = BinField::ByteOrder.pos();
        match Endian::Big.u32(raw, mark) {
            BYTE_ORDER_MARK => return Endian::Big,
            m if m == BYTE_ORDER_MARK.swap_bytes() => return Endian::Little,
            _ => {}
        }
        let format = BinField::Format.pos();
        if SampleFormat::is_known_code(Endian::Big.i16(raw, format)) {
            Endian::Big
        } else if SampleFormat::is_known_code(Endian::Little.i16(raw, format)) {
            Endian::Little
        } else {
            Endian::Big
        }
    }

    pub fn endian(&self) -> Endian {
        self.endian
    }

    pub fn as_bytes(&self) -> &[u8; 400] {
        &self.raw
    }

    /// An integer field. Sample count, interval and the 64-bit fields are unsigned; the others
    /// are two's complement. [`BinField::ExtInterval`] and [`BinField::ExtIntervalOriginal`] are
    /// doubles: use [`BinaryHeader::ext_interval_us`].
    pub fn get(&self, field: BinField) -> i64 {
        let (e, p) = (self.endian, field.pos());
        match field {
            BinField::Samples | BinField::Interval | BinField::SamplesOriginal | BinField::IntervalOriginal => {
                i64::from(e.u16(&self.raw, p))
            }
            BinField::TracesInFile | BinField::FirstTraceOffset => e.u64(&self.raw, p).min(i64::MAX as u64) as i64,
            BinField::ExtInterval | BinField::ExtIntervalOriginal => e.f64(&self.raw, p) as i64,
            _ => match field.width() {
                1 => i64::from(self.raw[p]),
                2 => i64::from(e.i16(&self.raw, p)),
                _ => i64::from(e.i32(&self.raw, p)),
            },
        }
    }

    /// Set an integer field; fails when the value does not fit its bytes.
    pub fn set(&mut self, field: BinField, value: i64) -> Result<()> {
        let (e, p) = (self.endian, field.pos());
        let unsigned16 = matches!(
            field,
            BinField::Samples | BinField::Interval | BinField::SamplesOriginal | BinField::IntervalOriginal
        );
        let out_of_range = || SegyError::BinaryField {
            bytes: field.bytes(),
            name: field.name(),
            value,
            message: "does not fit the field".into(),
        };
        match (field.width(), unsigned16) {
            (1, _) => self.raw[p] = u8::try_from(value).map_err(|_| out_of_range())?,
            (2, true) => e.put_u16(&mut self.raw, p, u16::try_from(value).map_err(|_| out_of_range())?),
            (2, false) => e.put_i16(&mut self.raw, p, i16::try_from(value).map_err(|_| out_of_range())?),
            (4, _) => e.put_i32(&mut self.raw, p, i32::try_from(value).map_err(|_| out_of_range())?),
            _ if matches!(field, BinField::ExtInterval | BinField::ExtIntervalOriginal) => {
                e.put_f64(&mut self.raw, p, value as f64)
            }
            _ => e.put_u64(&mut self.raw, p, u64::try_from(value).map_err(|_| out_of_range())?),
        }
        Ok(())
    }

    /// Write the revision 2 byte-order mark in this header's byte order.
    pub fn set_byte_order_mark(&mut self) {
        self.endian.put_u32(&mut self.raw, BinField::ByteOrder.pos(), BYTE_ORDER_MARK);
    }

    /// Revision 2's extended sample interval (microseconds), 0 when unset.
    pub fn ext_interval_us(&self) -> f64 {
        self.endian.f64(&self.raw, BinField::ExtInterval.pos())
    }

    /// The revision from bytes 3501-3502. A little-endian writer that stored revision 1 as the
    /// 16-bit 0x0100 put the 1 in byte 3502; that is read as 1.0 too.
    pub fn revision(&self) -> Revision {
        let (major, minor) = (self.raw[BinField::Revision.pos()], self.raw[BinField::RevisionMinor.pos()]);
        if self.endian == Endian::Little && major == 0 && (1..=2).contains(&minor) {
            return Revision { major: minor, minor: 0 };
        }
        Revision { major, minor }
    }
}

impl BinField {
    /// The field's name, for messages.
    pub fn name(self) -> &'static str {
        use BinField::*;
        match self {
            JobId => "job id",
            LineNumber => "line number",
            ReelNumber => "reel number",
            Traces => "data traces per ensemble",
            AuxTraces => "auxiliary traces per ensemble",
            Interval => "sample interval (us)",
            IntervalOriginal => "original sample interval (us)",
            Samples => "samples per trace",
            SamplesOriginal => "original samples per trace",
            Format => "sample format code",
            EnsembleFold => "ensemble fold",
            SortingCode => "trace sorting code",
            VerticalSum => "vertical sum code",
            SweepFrequencyStart | SweepFrequencyEnd | SweepLength | Sweep | SweepChannel | SweepTaperStart
            | SweepTaperEnd | Taper => "sweep field",
            CorrelatedTraces => "correlated data traces",
            BinaryGainRecovery => "binary gain recovered",
            AmplitudeRecovery => "amplitude recovery method",
            MeasurementSystem => "measurement system",
            ImpulseSignalPolarity => "impulse signal polarity",
            VibratoryPolarity => "vibratory polarity code",
            ExtTraces => "extended data traces per ensemble",
            ExtAuxTraces => "extended auxiliary traces per ensemble",
            ExtSamples => "extended samples per trace",
            ExtInterval => "extended sample interval (us)",
            ExtIntervalOriginal => "extended original sample interval (us)",
            ExtSamplesOriginal => "extended original samples per trace",
            ExtEnsembleFold => "extended ensemble fold",
            ByteOrder => "byte order mark",
            Revision => "SEG-Y revision (major)",
            RevisionMinor => "SEG-Y revision (minor)",
            FixedLengthTraces => "fixed length trace flag",
            ExtendedHeaders => "number of extended textual headers",
            AdditionalTraceHeaders => "additional trace headers",
            TimeBasis => "time basis code",
            TracesInFile => "traces in file",
            FirstTraceOffset => "byte offset of first trace",
            TrailerRecords => "trailer records",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_sit_where_the_standard_says() {
        let mut h = BinaryHeader::new(Endian::Big);
        h.set(BinField::Format, 5).unwrap();
        h.set(BinField::Samples, 40_000).unwrap();
        h.set(BinField::Revision, 1).unwrap();
        assert_eq!(h.as_bytes()[3225 - 3201..3227 - 3201], [0, 5]);
        assert_eq!(h.get(BinField::Samples), 40_000);
        assert_eq!(h.as_bytes()[300], 1);
        assert_eq!(h.revision(), Revision { major: 1, minor: 0 });
        assert!(h.set(BinField::Samples, 70_000).is_err());
        assert!(h.set(BinField::Format, -40_000).is_err());
        assert_eq!(BinField::TrailerRecords.bytes().to_string(), "bytes 3529-3532");
    }

    #[test]
    fn byte_order_from_mark_then_format_code() {
        for endian in [Endian::Big, Endian::Little] {
            let mut h = BinaryHeader::new(endian);
            h.set(BinField::Format, 1).unwrap();
            assert_eq!(BinaryHeader::from_bytes(*h.as_bytes()).endian(), endian);
            // With the mark, even an unknown format code decides nothing.
            h.set(BinField::Format, 0x0500).unwrap();
            h.set_byte_order_mark();
            assert_eq!(BinaryHeader::from_bytes(*h.as_bytes()).endian(), endian);
        }
        // Neither: big-endian, and the format code reads as it stands.
        assert_eq!(BinaryHeader::from_bytes([0; 400]).endian(), Endian::Big);
    }

    #[test]
    fn little_endian_revision_one_as_a_short() {
        let mut raw = [0u8; 400];
        raw[3225 - 3201] = 5;
        raw[301] = 1;
        let h = BinaryHeader::from_bytes(raw);
        assert_eq!(h.endian(), Endian::Little);
        assert_eq!(h.revision(), Revision { major: 1, minor: 0 });
    }
}
