//! Sample formats (binary header bytes 3225-3226) and their conversion to and from `f32`.

use crate::endian::Endian;
use crate::ibm;

/// The sample formats pstm reads and writes. The discriminant is the format code.
#[repr(i16)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 4-byte IBM float ([`crate::ibm`]): revisions 0 and 1's usual format.
    IbmFloat32 = 1,
    /// 4-byte two's complement integer.
    Int32 = 2,
    /// 2-byte two's complement integer.
    Int16 = 3,
    /// 4-byte IEEE float.
    IeeeFloat32 = 5,
    /// 8-byte IEEE float (revision 2).
    IeeeFloat64 = 6,
    /// 1-byte two's complement integer.
    Int8 = 8,
}

impl SampleFormat {
    pub const ALL: [SampleFormat; 6] = [
        SampleFormat::IbmFloat32,
        SampleFormat::Int32,
        SampleFormat::Int16,
        SampleFormat::IeeeFloat32,
        SampleFormat::IeeeFloat64,
        SampleFormat::Int8,
    ];

    /// The format of a code, or why it cannot be read.
    pub fn from_code(code: i16) -> Result<Self, String> {
        Self::ALL.into_iter().find(|f| f.code() == code).ok_or_else(|| match code {
            0 => "the sample format code is not set (0)".to_string(),
            4 => "format 4 (4-byte fixed point with gain, obsolete since revision 1) is not supported".to_string(),
            7 | 9..=12 | 15 | 16 => {
                format!("format {code} (a revision 2 integer format) is not supported; supported: {}", Self::list())
            }
            _ => format!("{code} is not a SEG-Y sample format code; supported: {}", Self::list()),
        })
    }

    fn list() -> String {
        Self::ALL.iter().map(|f| format!("{} ({})", f.code(), f.name())).collect::<Vec<_>>().join(", ")
    }

    /// Whether any revision defines `code` (used to guess the byte order).
    pub fn is_known_code(code: i16) -> bool {
        matches!(code, 1..=12 | 15 | 16)
    }

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::IbmFloat32 => "4-byte IBM float",
            SampleFormat::Int32 => "4-byte integer",
            SampleFormat::Int16 => "2-byte integer",
            SampleFormat::IeeeFloat32 => "4-byte IEEE float",
            SampleFormat::IeeeFloat64 => "8-byte IEEE float",
            SampleFormat::Int8 => "1-byte integer",
        }
    }

    pub fn bytes_per_sample(self) -> usize {
        match self {
            SampleFormat::IbmFloat32 | SampleFormat::Int32 | SampleFormat::IeeeFloat32 => 4,
            SampleFormat::Int16 => 2,
            SampleFormat::IeeeFloat64 => 8,
            SampleFormat::Int8 => 1,
        }
    }

    /// Decode `dst.len()` samples from `src`, which holds exactly that many. Doubles beyond the
    /// `f32` range saturate at `±f32::MAX`, as IBM floats do.
    pub fn decode(self, endian: Endian, src: &[u8], dst: &mut [f32]) {
        let n = self.bytes_per_sample();
        assert_eq!(src.len(), dst.len() * n, "sample bytes for {} samples", dst.len());
        let words = src.chunks_exact(n).zip(dst.iter_mut());
        match self {
            SampleFormat::IbmFloat32 => words.for_each(|(w, d)| *d = ibm::ibm_to_f32(endian.u32(w, 0))),
            SampleFormat::IeeeFloat32 => words.for_each(|(w, d)| *d = f32::from_bits(endian.u32(w, 0))),
            SampleFormat::Int32 => words.for_each(|(w, d)| *d = endian.i32(w, 0) as f32),
            SampleFormat::Int16 => words.for_each(|(w, d)| *d = f32::from(endian.i16(w, 0))),
            SampleFormat::Int8 => words.for_each(|(w, d)| *d = f32::from(w[0] as i8)),
            SampleFormat::IeeeFloat64 => words.for_each(|(w, d)| {
                let v = endian.f64(w, 0);
                *d = if v.is_nan() { f32::NAN } else { v.clamp(-f32::MAX as f64, f32::MAX as f64) as f32 };
            }),
        }
    }

    /// Append the encoding of `src` to `dst`. Integer formats round to nearest and fail, naming
    /// the sample, when a value does not fit.
    pub fn encode(self, endian: Endian, src: &[f32], dst: &mut Vec<u8>) -> Result<(), (usize, String)> {
        let n = self.bytes_per_sample();
        let start = dst.len();
        dst.resize(start + src.len() * n, 0);
        let words = dst[start..].chunks_exact_mut(n).zip(src.iter().copied()).enumerate();
        let int = |i: usize, v: f32, min: f64, max: f64| -> Result<i64, (usize, String)> {
            let r = (v as f64).round();
            if r >= min && r <= max {
                Ok(r as i64)
            } else {
                Err((i, format!("value {v} does not fit a {}", self.name())))
            }
        };
        for (i, (w, v)) in words {
            match self {
                SampleFormat::IbmFloat32 => endian.put_u32(w, 0, ibm::f32_to_ibm(v)),
                SampleFormat::IeeeFloat32 => endian.put_u32(w, 0, v.to_bits()),
                SampleFormat::IeeeFloat64 => endian.put_f64(w, 0, v as f64),
                SampleFormat::Int32 => endian.put_i32(w, 0, int(i, v, i32::MIN as f64, i32::MAX as f64)? as i32),
                SampleFormat::Int16 => endian.put_i16(w, 0, int(i, v, i16::MIN as f64, i16::MAX as f64)? as i16),
                SampleFormat::Int8 => w[0] = int(i, v, i8::MIN as f64, i8::MAX as f64)? as i8 as u8,
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (format {})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_integers_survive_every_format_and_byte_order() {
        let values: Vec<f32> = vec![0.0, 1.0, -1.0, 17.0, -128.0, 127.0, 3.0, -64.0];
        for format in SampleFormat::ALL {
            for endian in [Endian::Big, Endian::Little] {
                let mut bytes = Vec::new();
                format.encode(endian, &values, &mut bytes).unwrap();
                assert_eq!(bytes.len(), values.len() * format.bytes_per_sample());
                let mut back = vec![0.0; values.len()];
                format.decode(endian, &bytes, &mut back);
                assert_eq!(back, values, "{format} {endian}");
            }
        }
    }

    #[test]
    fn codes_and_errors() {
        for f in SampleFormat::ALL {
            assert_eq!(SampleFormat::from_code(f.code()), Ok(f));
        }
        assert!(SampleFormat::from_code(0).unwrap_err().contains("not set"));
        assert!(SampleFormat::from_code(4).unwrap_err().contains("obsolete"));
        assert!(SampleFormat::from_code(13).unwrap_err().contains("not a SEG-Y sample format"));
        let e = SampleFormat::Int16.encode(Endian::Big, &[1.0, 40_000.0], &mut Vec::new()).unwrap_err();
        assert_eq!(e.0, 1);
    }

    #[test]
    fn big_endian_bytes_are_the_standard_ones() {
        let mut b = Vec::new();
        SampleFormat::IbmFloat32.encode(Endian::Big, &[-118.625], &mut b).unwrap();
        assert_eq!(b, [0xC2, 0x76, 0xA0, 0x00]);
        b.clear();
        SampleFormat::IeeeFloat32.encode(Endian::Little, &[1.0], &mut b).unwrap();
        assert_eq!(b, [0, 0, 0x80, 0x3F]);
    }
}
