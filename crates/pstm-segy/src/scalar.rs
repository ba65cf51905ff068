//! Scalars of SEG-Y trace headers (coordinate scalar, bytes 71-72; elevation scalar, 69-70;
//! revision 2's time scalar, 215-216): a positive scalar multiplies the stored integer, a
//! negative one divides it, and 0 means 1. The standard allows powers of ten up to 10,000.

/// The magnitudes the standard allows (0 counts as 1).
pub const ALLOWED: [i32; 5] = [1, 10, 100, 1_000, 10_000];

/// Why `scalar` is not a SEG-Y scalar, if it is not.
pub fn check(scalar: i32) -> Result<(), String> {
    if scalar == 0 || ALLOWED.contains(&scalar.abs()) {
        Ok(())
    } else {
        Err(format!(
            "{scalar} is not a SEG-Y scalar (0, ±1, ±10, ±100, ±1000 or ±10000: positive multiplies, \
             negative divides, 0 means 1)"
        ))
    }
}

/// The value a stored integer stands for. Dividing (rather than multiplying by 0.01) gives the
/// double nearest the decimal the writer meant: 123456 with scalar -100 is exactly `1234.56`.
pub fn apply(raw: i32, scalar: i32) -> f64 {
    match scalar {
        0 | 1 => f64::from(raw),
        s if s > 0 => f64::from(raw) * f64::from(s),
        s => f64::from(raw) / f64::from(-s),
    }
}

/// The integer to store for `value` under `scalar`, if it fits 4 bytes.
pub fn store(value: f64, scalar: i16) -> Option<i32> {
    let s = f64::from(scalar);
    let v = if scalar < 0 {
        value * -s
    } else if scalar > 1 {
        value / s
    } else {
        value
    };
    let r = v.round();
    (r.is_finite() && r >= f64::from(i32::MIN) && r <= f64::from(i32::MAX)).then_some(r as i32)
}

/// The coordinate scalar for writing `values`: the fewest decimals (up to 3, scalar -1000) that
/// store every value exactly, or, if none does, the most that fit in 4 bytes; multipliers (10
/// and up) only for values too large for 4 bytes. `None` when even 10,000 is not enough.
pub fn choose(values: impl IntoIterator<Item = f64>) -> Option<i16> {
    let mut max_abs = 0.0f64;
    let mut exact = [true; 4];
    for v in values {
        max_abs = max_abs.max(v.abs());
        for (k, e) in exact.iter_mut().enumerate() {
            let scaled = v * 10f64.powi(k as i32);
            // Absolute, in stored units: a thousandth of the last digit kept is rounding noise.
            *e &= (scaled - scaled.round()).abs() < 1e-3;
        }
    }
    let fits = |k: i32| max_abs * 10f64.powi(k) <= f64::from(i32::MAX);
    let to_scalar = |k: i32| if k == 0 { 1 } else { -(10i16.pow(k as u32)) };
    if let Some(k) = (0..4).find(|&k| exact[k as usize] && fits(k)) {
        return Some(to_scalar(k));
    }
    if let Some(k) = (0..4).rev().find(|&k| fits(k)) {
        return Some(to_scalar(k));
    }
    (1..=4).map(|k| 10i16.pow(k)).find(|&s| max_abs / f64::from(s) <= f64::from(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_convention() {
        assert_eq!(apply(123_456, -100), 1234.56);
        assert_eq!(apply(12, 100), 1200.0);
        assert_eq!(apply(12, 0), 12.0);
        assert_eq!(apply(12, 1), 12.0);
        assert_eq!(apply(-5, -10), -0.5);
        assert!(check(0).is_ok() && check(-10_000).is_ok() && check(10).is_ok());
        assert!(check(7).unwrap_err().contains("7 is not a SEG-Y scalar"));
        assert!(check(-32_768).is_err());
    }

    #[test]
    fn choosing_and_storing() {
        assert_eq!(choose([100.0, 2500.0]), Some(1));
        assert_eq!(choose([100.5, 2500.25]), Some(-100));
        assert_eq!(choose([0.001]), Some(-1000));
        // UTM northings with centimetres: -1000 would overflow, -100 is exact.
        assert_eq!(choose([6_543_210.12]), Some(-100));
        // Irrational: as many decimals as fit.
        assert_eq!(choose([1.0 / 3.0]), Some(-1000));
        assert_eq!(choose([6_543_210.0 + 1.0 / 3.0]), Some(-100));
        assert_eq!(choose([1e10]), Some(10));
        assert_eq!(choose([1e20]), None);
        assert_eq!(choose([]), Some(1));
        assert_eq!(store(1234.56, -100), Some(123_456));
        assert_eq!(store(1200.0, 100), Some(12));
        assert_eq!(store(3e9, 1), None);
        for v in [0.0, -12.5, 4_000_000.75] {
            assert_eq!(apply(store(v, -100).unwrap(), -100), v);
        }
    }
}
