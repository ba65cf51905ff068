//! IBM System/360 single-precision floats (SEG-Y sample format 1) to and from IEEE 754.
//!
//! An IBM float (IBM System/370 *Principles of Operation*, SA22-7000, chapter "Floating-Point
//! Overview and Support Instructions") is a sign bit, a 7-bit exponent `e` of 16 biased by 64,
//! and a 24-bit fraction `F` read as a binary fraction `0.F`:
//!
//! ```text
//! value = (-1)^sign * (F / 2^24) * 16^(e - 64)
//! ```
//!
//! Normalised, the leading hexadecimal digit of `F` is non-zero, so it carries 21 to 24
//! significant bits. Both directions below evaluate that formula exactly (in integers one way, in
//! `f64`, where every IBM value and every `f32` is exact, the other) instead of through the
//! bit-twiddling tables usual in C (such as segyio's), so results are the correctly rounded ones
//! by construction:
//!
//! - IBM to IEEE: exact for every value inside the range of normal `f32`s (a fraction has at most
//!   24 significant bits, as an `f32`); larger magnitudes saturate at `f32::MAX` and smaller ones
//!   flush to zero, as segyio does, so no infinity or subnormal comes out of a file.
//! - IEEE to IBM: the 24-bit significand is shifted right by 0 to 3 bits to align the exponent to
//!   a power of 16 and rounded to nearest, ties to even; the carry of rounding stays inside 24 bits.
//!   Every finite `f32` fits (IBM reaches 16^63).

const SIGN: u32 = 0x8000_0000;
/// The largest IBM magnitude: exponent 127, fraction all ones.
const IBM_MAX_MAGNITUDE: u32 = 0x7fff_ffff;

/// The IEEE value of an IBM float given as its 32 bits (already in native byte order).
///
/// The formula above done in integers, because import decodes every sample through here: the
/// fraction is shifted until its leading one sits at bit 23, which is then the implicit bit of
/// an `f32` with exponent `4 (e - 64) - 1 - shift`. No bit is lost, so this equals evaluating
/// the formula exactly ([`ibm_to_f32_by_formula`] in the tests checks that).
pub fn ibm_to_f32(bits: u32) -> f32 {
    let fraction = bits & 0x00ff_ffff;
    if fraction == 0 {
        return 0.0;
    }
    let shift = fraction.leading_zeros() as i32 - 8;
    let exponent16 = ((bits >> 24) & 0x7f) as i32 - 64;
    // value = (fraction << shift) / 2^23 * 2^(4 exponent16 - 1 - shift), the first factor in [1, 2).
    let biased = 4 * exponent16 - 1 - shift + 127;
    let magnitude = if biased >= 255 {
        f32::MAX.to_bits()
    } else if biased <= 0 {
        return 0.0;
    } else {
        (biased as u32) << 23 | ((fraction << shift) & 0x007f_ffff)
    };
    f32::from_bits(bits & SIGN | magnitude)
}

/// The IBM float nearest to `x`, as 32 bits in native byte order. NaN becomes 0 and infinities
/// the largest IBM magnitude: IBM floats have neither (writers reject them before this).
pub fn f32_to_ibm(x: f32) -> u32 {
    if x == 0.0 || x.is_nan() {
        return 0;
    }
    let sign = if x.is_sign_negative() { SIGN } else { 0 };
    if x.is_infinite() {
        return sign | IBM_MAX_MAGNITUDE;
    }
    // As an f64 every f32, subnormals included, is normal: value = (m / 2^53) * 2^p, m in
    // [2^52, 2^53).
    let bits = (x.abs() as f64).to_bits();
    let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let p = ((bits >> 52) & 0x7ff) as i32 - 1022;
    // The smallest power of 16 at or above 2^p, and how far the significand moves to reach it.
    let p16 = (p + 3).div_euclid(4);
    let shift = (4 * p16 - p) as u32;
    let dropped_bits = 53 - 24 + shift;
    let mut fraction = m >> dropped_bits;
    let rest = m & ((1u64 << dropped_bits) - 1);
    let half = 1u64 << (dropped_bits - 1);
    if rest > half || (rest == half && fraction & 1 == 1) {
        fraction += 1;
    }
    // Rounding never carries out of 24 bits: with no shift the dropped bits are the zeros an f32
    // gains as an f64, and with a shift the fraction has at most 23 bits.
    let exponent = p16 + 64;
    debug_assert!((0..=127).contains(&exponent), "every f32 is inside the IBM range");
    sign | (exponent as u32) << 24 | fraction as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit patterns worked out by hand from the formula above; -118.625 is the example of the
    /// IBM documentation (and of Wikipedia's "IBM hexadecimal floating-point").
    const KNOWN: [(u32, f32); 8] = [
        (0x4110_0000, 1.0),
        (0xC110_0000, -1.0),
        (0xC276_A000, -118.625),
        (0x4264_0000, 100.0),
        (0x4080_0000, 0.5),
        (0x3F80_0000, 0.031_25),
        (0x4120_0000, 2.0),
        (0x4610_0000, 1_048_576.0),
    ];

    /// `2^n` as an `f64`, exactly, for `n` in the normal range.
    fn pow2(n: i32) -> f64 {
        f64::from_bits(((n + 1023) as u64) << 52)
    }

    /// The formula in `f64`, where every IBM value is exact, with the same saturation and flush.
    fn ibm_to_f32_by_formula(bits: u32) -> f32 {
        let fraction = bits & 0x00ff_ffff;
        let exponent16 = ((bits >> 24) & 0x7f) as i32 - 64;
        let magnitude = fraction as f64 * pow2(4 * exponent16 - 24);
        let m = if magnitude >= f32::MAX as f64 {
            f32::MAX
        } else if magnitude < f32::MIN_POSITIVE as f64 {
            0.0
        } else {
            magnitude as f32
        };
        if bits & SIGN != 0 && m != 0.0 { -m } else { m }
    }

    #[test]
    fn integer_decoding_equals_the_formula() {
        for exponent in 0..128u32 {
            for fraction in (0..=0xFF_FFFFu32).step_by(997).chain([1, 0xFF_FFFF, 0x10_0000, 0x0F_FFFF]) {
                for sign in [0, SIGN] {
                    let ibm = sign | exponent << 24 | fraction;
                    assert_eq!(ibm_to_f32(ibm).to_bits(), ibm_to_f32_by_formula(ibm).to_bits(), "{ibm:08X}");
                }
            }
        }
    }

    #[test]
    fn known_bit_patterns_both_ways() {
        for (ibm, ieee) in KNOWN {
            assert_eq!(f32_to_ibm(ieee), ibm, "{ieee} -> {ibm:08X}");
            assert_eq!(ibm_to_f32(ibm).to_bits(), ieee.to_bits(), "{ibm:08X} -> {ieee}");
        }
        // 0.1 has no exact IBM form: 0.19999A (hex) * 16^0, rounded up in the last hex digit
        // (truncation would give 0x40199999), which reads back as 0.10000002384...
        assert_eq!(f32_to_ibm(0.1), 0x4019_999A);
        assert_eq!(ibm_to_f32(0x4019_999A) as f64, 0x19_999A as f64 / 16_777_216.0);
    }

    #[test]
    fn zero_unnormalised_and_extremes() {
        assert_eq!(ibm_to_f32(0), 0.0);
        assert_eq!(ibm_to_f32(0x8000_0000), 0.0);
        // A fraction of zero with any exponent is zero.
        assert_eq!(ibm_to_f32(0x4500_0000), 0.0);
        // Unnormalised: leading hex digit 0. 0x010000 / 2^24 * 16 = 1/16.
        assert_eq!(ibm_to_f32(0x4101_0000), 0.0625);
        assert_eq!(ibm_to_f32(0x7FFF_FFFF), f32::MAX);
        assert_eq!(ibm_to_f32(0xFFFF_FFFF), -f32::MAX);
        // 16^-31 / 16 = 2^-128, below the normal f32 range: flushed.
        assert_eq!(ibm_to_f32(0x2110_0000), 0.0);
        assert_eq!(f32_to_ibm(0.0), 0);
        assert_eq!(f32_to_ibm(-0.0), 0);
        assert_eq!(f32_to_ibm(f32::INFINITY), 0x7FFF_FFFF);
        assert_eq!(f32_to_ibm(f32::NAN), 0);
        // f32::MAX = (1 - 2^-24) * 2^128 = (1 - 2^-24) * 16^32: exponent 96, fraction all ones.
        assert_eq!(f32_to_ibm(f32::MAX), 0x60FF_FFFF);
    }

    #[test]
    fn round_to_nearest() {
        // 1 + 2^-23 needs 24 bits after the leading one; IBM keeps 21 at exponent 1: rounds down.
        assert_eq!(f32_to_ibm(1.0 + f32::EPSILON), 0x4110_0000);
        // Just below 16: all 24 significand bits set, shifted by 0, exact.
        assert_eq!(f32_to_ibm(16.0 - 16.0 * f32::EPSILON / 2.0), 0x41FF_FFFF);
        // Just below 2: 24 ones; kept to 21 bits at exponent 1 they round up to exactly 2.
        let almost_2 = f32::from_bits(0x3FFF_FFFF);
        assert_eq!(f32_to_ibm(almost_2), 0x4120_0000);
    }

    #[test]
    fn ibm_values_survive_ieee_and_back() {
        // Every normalised IBM fraction with exponents across the f32 range.
        for exponent in [0x21u32, 0x30, 0x40, 0x41, 0x50, 0x60] {
            for fraction in (0x10_0000u32..=0xFF_FFFF).step_by(4099) {
                for sign in [0, SIGN] {
                    let ibm = sign | exponent << 24 | fraction;
                    let x = ibm_to_f32(ibm);
                    if x != 0.0 {
                        assert_eq!(f32_to_ibm(x), ibm, "{ibm:08X}");
                    }
                }
            }
        }
    }

    #[test]
    fn ieee_to_ibm_error_is_within_half_an_ibm_unit() {
        let mut x = 1.2345e-30f32;
        while x < 1e30 {
            let back = ibm_to_f32(f32_to_ibm(x)) as f64;
            // 21 significant bits at worst: half a unit is 2^-21 relative.
            assert!(((back - x as f64) / x as f64).abs() <= 2f64.powi(-21), "{x} -> {back}");
            x *= 1.37;
        }
    }
}
