//! The 240-byte trace header.

use crate::TRACE_HEADER_BYTES;
use crate::endian::Endian;
use crate::error::Bytes;

/// Standard trace header fields (revision 1, with revision 2's time scalar); each discriminant
/// is the field's first byte inside the trace header (1-based, as in the standard's tables and
/// segyio's `SEGY_TR_*`). All are two's complement integers of [`TraceField::width`] bytes,
/// except the unsigned sample count and interval.
#[repr(u16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceField {
    /// Trace sequence number within line.
    TraceSequenceLine = 1,
    /// Trace sequence number within file.
    TraceSequenceFile = 5,
    /// Original field record number.
    FieldRecord = 9,
    /// Trace number within the field record.
    TraceNumber = 13,
    EnergySourcePoint = 17,
    /// Ensemble (CDP) number.
    Cdp = 21,
    /// Trace number within the ensemble.
    CdpTrace = 25,
    /// 1 seismic data, 2 dead, 3 dummy...
    TraceIdentificationCode = 29,
    SummedTraces = 31,
    StackedTraces = 33,
    DataUse = 35,
    /// Source to receiver distance, signed (negative: receiver behind the source).
    Offset = 37,
    /// Scaled by [`TraceField::ElevationScalar`].
    ReceiverGroupElevation = 41,
    /// Scaled by [`TraceField::ElevationScalar`].
    SourceSurfaceElevation = 45,
    SourceDepth = 49,
    ReceiverDatumElevation = 53,
    SourceDatumElevation = 57,
    SourceWaterDepth = 61,
    GroupWaterDepth = 65,
    /// Scalar of bytes 41-68: positive multiplies, negative divides, 0 means 1.
    ElevationScalar = 69,
    /// Scalar of bytes 73-88 and 181-188: positive multiplies, negative divides, 0 means 1.
    CoordinateScalar = 71,
    SourceX = 73,
    SourceY = 77,
    GroupX = 81,
    GroupY = 85,
    /// 1 length (metres or feet), 2 seconds of arc, 3 decimal degrees, 4 DMS.
    CoordinateUnits = 89,
    WeatheringVelocity = 91,
    SubWeatheringVelocity = 93,
    SourceUpholeTime = 95,
    GroupUpholeTime = 97,
    SourceStaticCorrection = 99,
    GroupStaticCorrection = 101,
    TotalStaticApplied = 103,
    LagTimeA = 105,
    LagTimeB = 107,
    /// Time of the first sample, ms (the delay).
    DelayRecordingTime = 109,
    MuteTimeStart = 111,
    MuteTimeEnd = 113,
    /// Samples in this trace (unsigned).
    SampleCount = 115,
    /// Sample interval of this trace, microseconds (unsigned).
    SampleInterval = 117,
    GainType = 119,
    InstrumentGainConstant = 121,
    InstrumentInitialGain = 123,
    Correlated = 125,
    SweepFrequencyStart = 127,
    SweepFrequencyEnd = 129,
    SweepLength = 131,
    SweepType = 133,
    SweepTraceTaperLengthStart = 135,
    SweepTraceTaperLengthEnd = 137,
    TaperType = 139,
    AliasFilterFrequency = 141,
    AliasFilterSlope = 143,
    NotchFilterFrequency = 145,
    NotchFilterSlope = 147,
    LowCutFrequency = 149,
    HighCutFrequency = 151,
    LowCutSlope = 153,
    HighCutSlope = 155,
    YearDataRecorded = 157,
    DayOfYear = 159,
    HourOfDay = 161,
    MinuteOfHour = 163,
    SecondOfMinute = 165,
    TimeBaseCode = 167,
    TraceWeightingFactor = 169,
    GeophoneGroupNumberRoll1 = 171,
    GeophoneGroupNumberFirstTrace = 173,
    GeophoneGroupNumberLastTrace = 175,
    GapSize = 177,
    OverTravel = 179,
    /// Ensemble (CDP) X, scaled by [`TraceField::CoordinateScalar`].
    CdpX = 181,
    /// Ensemble (CDP) Y, scaled by [`TraceField::CoordinateScalar`].
    CdpY = 185,
    /// 3D inline number (segyio's default `iline`).
    Inline = 189,
    /// 3D crossline number (segyio's default `xline`).
    Crossline = 193,
    ShotPoint = 197,
    ShotPointScalar = 201,
    TraceValueMeasurementUnit = 203,
    TransductionConstantMantissa = 205,
    TransductionConstantPower = 209,
    TransductionUnit = 211,
    TraceIdentifier = 213,
    /// Revision 2: scalar of the times in bytes 95-114 (positive multiplies, negative divides, 0 means 1).
    TimeScalar = 215,
    SourceType = 217,
    SourceEnergyDirectionMantissa = 219,
    SourceEnergyDirectionExponent = 223,
    SourceMeasurementMantissa = 225,
    SourceMeasurementExponent = 229,
    SourceMeasurementUnit = 231,
    Unassigned1 = 233,
    Unassigned2 = 237,
}

impl TraceField {
    /// Every field, in byte order.
    pub const ALL: [TraceField; 91] = [
        TraceField::TraceSequenceLine,
        TraceField::TraceSequenceFile,
        TraceField::FieldRecord,
        TraceField::TraceNumber,
        TraceField::EnergySourcePoint,
        TraceField::Cdp,
        TraceField::CdpTrace,
        TraceField::TraceIdentificationCode,
        TraceField::SummedTraces,
        TraceField::StackedTraces,
        TraceField::DataUse,
        TraceField::Offset,
        TraceField::ReceiverGroupElevation,
        TraceField::SourceSurfaceElevation,
        TraceField::SourceDepth,
        TraceField::ReceiverDatumElevation,
        TraceField::SourceDatumElevation,
        TraceField::SourceWaterDepth,
        TraceField::GroupWaterDepth,
        TraceField::ElevationScalar,
        TraceField::CoordinateScalar,
        TraceField::SourceX,
        TraceField::SourceY,
        TraceField::GroupX,
        TraceField::GroupY,
        TraceField::CoordinateUnits,
        TraceField::WeatheringVelocity,
        TraceField::SubWeatheringVelocity,
        TraceField::SourceUpholeTime,
        TraceField::GroupUpholeTime,
        TraceField::SourceStaticCorrection,
        TraceField::GroupStaticCorrection,
        TraceField::TotalStaticApplied,
        TraceField::LagTimeA,
        TraceField::LagTimeB,
        TraceField::DelayRecordingTime,
        TraceField::MuteTimeStart,
        TraceField::MuteTimeEnd,
        TraceField::SampleCount,
        TraceField::SampleInterval,
        TraceField::GainType,
        TraceField::InstrumentGainConstant,
        TraceField::InstrumentInitialGain,
        TraceField::Correlated,
        TraceField::SweepFrequencyStart,
        TraceField::SweepFrequencyEnd,
        TraceField::SweepLength,
        TraceField::SweepType,
        TraceField::SweepTraceTaperLengthStart,
        TraceField::SweepTraceTaperLengthEnd,
        TraceField::TaperType,
        TraceField::AliasFilterFrequency,
        TraceField::AliasFilterSlope,
        TraceField::NotchFilterFrequency,
        TraceField::NotchFilterSlope,
        TraceField::LowCutFrequency,
        TraceField::HighCutFrequency,
        TraceField::LowCutSlope,
        TraceField::HighCutSlope,
        TraceField::YearDataRecorded,
        TraceField::DayOfYear,
        TraceField::HourOfDay,
        TraceField::MinuteOfHour,
        TraceField::SecondOfMinute,
        TraceField::TimeBaseCode,
        TraceField::TraceWeightingFactor,
        TraceField::GeophoneGroupNumberRoll1,
        TraceField::GeophoneGroupNumberFirstTrace,
        TraceField::GeophoneGroupNumberLastTrace,
        TraceField::GapSize,
        TraceField::OverTravel,
        TraceField::CdpX,
        TraceField::CdpY,
        TraceField::Inline,
        TraceField::Crossline,
        TraceField::ShotPoint,
        TraceField::ShotPointScalar,
        TraceField::TraceValueMeasurementUnit,
        TraceField::TransductionConstantMantissa,
        TraceField::TransductionConstantPower,
        TraceField::TransductionUnit,
        TraceField::TraceIdentifier,
        TraceField::TimeScalar,
        TraceField::SourceType,
        TraceField::SourceEnergyDirectionMantissa,
        TraceField::SourceEnergyDirectionExponent,
        TraceField::SourceMeasurementMantissa,
        TraceField::SourceMeasurementExponent,
        TraceField::SourceMeasurementUnit,
        TraceField::Unassigned1,
        TraceField::Unassigned2,
    ];

    /// Width in bytes: 2 or 4.
    pub fn width(self) -> u32 {
        use TraceField::*;
        match self {
            TraceSequenceLine
            | TraceSequenceFile
            | FieldRecord
            | TraceNumber
            | EnergySourcePoint
            | Cdp
            | CdpTrace
            | Offset
            | ReceiverGroupElevation
            | SourceSurfaceElevation
            | SourceDepth
            | ReceiverDatumElevation
            | SourceDatumElevation
            | SourceWaterDepth
            | GroupWaterDepth
            | SourceX
            | SourceY
            | GroupX
            | GroupY
            | CdpX
            | CdpY
            | Inline
            | Crossline
            | ShotPoint
            | TransductionConstantMantissa
            | SourceEnergyDirectionMantissa
            | SourceMeasurementMantissa
            | Unassigned1
            | Unassigned2 => 4,
            _ => 2,
        }
    }

    /// First byte inside the trace header, 1-based.
    pub fn byte(self) -> u32 {
        self as u32
    }

    pub fn bytes(self) -> Bytes {
        Bytes::new(self.byte(), self.width())
    }
}

/// One trace header: 240 bytes and the byte order of the file they belong to.
#[derive(Clone, PartialEq, Eq)]
pub struct TraceHeader {
    raw: [u8; TRACE_HEADER_BYTES],
    endian: Endian,
}

impl std::fmt::Debug for TraceHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TraceHeader");
        for field in TraceField::ALL {
            let v = self.get(field);
            if v != 0 {
                d.field(&format!("{field:?}"), &v);
            }
        }
        d.finish()
    }
}

impl TraceHeader {
    /// All zeros.
    pub fn new(endian: Endian) -> Self {
        Self { raw: [0; TRACE_HEADER_BYTES], endian }
    }

    pub fn from_bytes(raw: [u8; TRACE_HEADER_BYTES], endian: Endian) -> Self {
        Self { raw, endian }
    }

    pub fn as_bytes(&self) -> &[u8; TRACE_HEADER_BYTES] {
        &self.raw
    }

    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// A standard field. The sample count and interval read unsigned, the others signed.
    pub fn get(&self, field: TraceField) -> i32 {
        match field {
            TraceField::SampleCount | TraceField::SampleInterval => {
                i32::from(self.endian.u16(&self.raw, field.byte() as usize - 1))
            }
            _ => self.get_at(field.byte(), field.width()),
        }
    }

    /// The signed integer of `width` (2 or 4) bytes starting at 1-based `byte`. Panics if the
    /// bytes run past the header (a [`crate::HeaderMap`] never allows that).
    pub fn get_at(&self, byte: u32, width: u32) -> i32 {
        let p = byte as usize - 1;
        match width {
            2 => i32::from(self.endian.i16(&self.raw, p)),
            _ => self.endian.i32(&self.raw, p),
        }
    }

    /// Set a standard field; fails when `value` does not fit its bytes.
    pub fn set(&mut self, field: TraceField, value: i64) -> Result<(), String> {
        let unsigned = matches!(field, TraceField::SampleCount | TraceField::SampleInterval);
        self.set_at(field.byte(), field.width(), unsigned, value)
            .map_err(|e| format!("{field:?} ({}): {e}", field.bytes()))
    }

    /// Set the integer of `width` (2 or 4) bytes at 1-based `byte`; fails when `value` does not
    /// fit.
    pub fn set_at(&mut self, byte: u32, width: u32, unsigned: bool, value: i64) -> Result<(), String> {
        let p = byte as usize - 1;
        let too_big = || format!("value {value} does not fit {width} bytes");
        match (width, unsigned) {
            (2, true) => self.endian.put_u16(&mut self.raw, p, u16::try_from(value).map_err(|_| too_big())?),
            (2, false) => self.endian.put_i16(&mut self.raw, p, i16::try_from(value).map_err(|_| too_big())?),
            _ => self.endian.put_i32(&mut self.raw, p, i32::try_from(value).map_err(|_| too_big())?),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_tile_the_header() {
        let mut next = 1;
        for f in TraceField::ALL {
            assert_eq!(f.byte(), next, "{f:?}");
            next += f.width();
        }
        assert_eq!(next, 241);
    }

    #[test]
    fn get_and_set() {
        for endian in [Endian::Big, Endian::Little] {
            let mut h = TraceHeader::new(endian);
            h.set(TraceField::CoordinateScalar, -100).unwrap();
            h.set(TraceField::SourceX, 123_456_789).unwrap();
            h.set(TraceField::SampleCount, 60_000).unwrap();
            assert_eq!(h.get(TraceField::CoordinateScalar), -100);
            assert_eq!(h.get(TraceField::SourceX), 123_456_789);
            assert_eq!(h.get(TraceField::SampleCount), 60_000);
            assert!(h.set(TraceField::DelayRecordingTime, 40_000).is_err());
            assert!(h.set(TraceField::SampleCount, -1).is_err());
        }
        let mut h = TraceHeader::new(Endian::Big);
        h.set(TraceField::Inline, 0x0102_0304).unwrap();
        assert_eq!(h.as_bytes()[188..192], [1, 2, 3, 4]);
    }
}
