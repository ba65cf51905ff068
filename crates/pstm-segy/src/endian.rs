//! Byte order, and reading and writing big- or little-endian numbers at fixed positions.

/// Byte order of a file's binary numbers (headers and samples alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endian {
    /// The standard's order, and the one every revision before 2 requires.
    #[default]
    Big,
    /// Allowed by revision 2 (marked by bytes 3297-3300), and written by some software anyway.
    Little,
}

impl std::fmt::Display for Endian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Endian::Big => "big-endian",
            Endian::Little => "little-endian",
        })
    }
}

macro_rules! read_write {
    ($read:ident, $write:ident, $t:ty, $n:literal) => {
        /// Read at byte `pos` (0-based) of `buf`; panics if `buf` is too short (a caller's bug:
        /// header buffers have fixed sizes).
        pub fn $read(self, buf: &[u8], pos: usize) -> $t {
            let b: [u8; $n] = buf[pos..pos + $n].try_into().expect("slice of the right length");
            match self {
                Endian::Big => <$t>::from_be_bytes(b),
                Endian::Little => <$t>::from_le_bytes(b),
            }
        }

        /// Write at byte `pos` (0-based) of `buf`.
        pub fn $write(self, buf: &mut [u8], pos: usize, v: $t) {
            let b = match self {
                Endian::Big => v.to_be_bytes(),
                Endian::Little => v.to_le_bytes(),
            };
            buf[pos..pos + $n].copy_from_slice(&b);
        }
    };
}

impl Endian {
    read_write!(i16, put_i16, i16, 2);
    read_write!(u16, put_u16, u16, 2);
    read_write!(i32, put_i32, i32, 4);
    read_write!(u32, put_u32, u32, 4);
    read_write!(u64, put_u64, u64, 8);
    read_write!(f64, put_f64, f64, 8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_orders() {
        let mut b = [0u8; 8];
        Endian::Big.put_i32(&mut b, 2, 0x01020304);
        assert_eq!(b[2..6], [1, 2, 3, 4]);
        assert_eq!(Endian::Little.i32(&b, 2), 0x04030201);
        Endian::Little.put_i16(&mut b, 0, -2);
        assert_eq!(Endian::Little.i16(&b, 0), -2);
        assert_eq!(b[..2], [0xFE, 0xFF]);
    }
}
