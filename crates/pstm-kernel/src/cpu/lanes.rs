//! The vector operations the inner loop is written in, and their portable implementation.
//!
//! The inner loop ([`super::sum`]) is generic over [`Lanes`]; each instruction set implements it
//! once. Almost every operation maps to one instruction. The two that do not are where the
//! instruction sets really differ, so they are part of the trait rather than built from smaller
//! operations: [`Lanes::interp`] (reading a trace at fractional positions: a gather, or loads and
//! permutes where the positions are close together) and [`Lanes::accumulate`] (masked
//! read-modify-write of the image and the fold).
//!
//! [`Portable`] is plain Rust over arrays of eight lanes: what a CPU without a hand-written
//! backend runs (aarch64 among them, where LLVM turns the array loops into NEON instructions),
//! and the path the tests force on x86 to keep it checked.
//!
//! The trait is built on `std::arch` rather than on `pulp`: pulp's portable `Simd` trait has no
//! float-to-integer conversion and no lane permutes, which are the heart of `interp`, so its
//! generic layer would have been bypassed for the loop's most important operations anyway.

/// `asinh(y) / y` for `y >= 0` in lanes: [`pstm_math::traveltime::asinhc`] in float32, within a
/// few float32 roundings. `asinh(y) = ln(1 + z)`, `z = y + y^2 / (1 + sqrt(1 + y^2))` (no
/// cancellation); `ln(1 + z) = 2 atanh(u)` by its series in `u^2`, with `u = z / (2 + z)` where
/// `z < 1/2`, else `u = (m - 1)/(m + 1)` of `1 + z = m 2^e`, `m` in [0.75, 1.5) (`e ln 2` added):
/// `|u| <= 0.2` either way, where the series to `u^11` errs by less than 3e-10. For small `z` the
/// quotient by `y` is taken inside (`z / y = 1 + y / (1 + r)`), so `y = 0` gives 1.
#[inline(always)]
pub(crate) fn asinhc<L: Lanes>(l: L, y: L::F) -> L::F {
    let one = l.splat(1.0);
    let two = l.splat(2.0);
    let r = l.sqrt(l.mul_add(y, y, one));
    let z_over_y = l.add(one, l.div(y, l.add(one, r)));
    let z = l.mul(y, z_over_y);
    let small = l.lt(z, l.splat(0.5));
    let inv = l.div(one, l.add(two, z));
    let (m, e) = l.split_exponent(l.add(one, z));
    let high = l.ge(m, l.splat(1.5));
    let m = l.select(high, l.mul(m, l.splat(0.5)), m);
    let e = l.select(high, l.add(e, one), e);
    let u = l.select(small, l.mul(z, inv), l.div(l.sub(m, one), l.add(m, one)));
    let u2 = l.mul(u, u);
    let mut p = l.splat(1.0 / 11.0);
    for c in [1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0] {
        p = l.mul_add(p, u2, l.splat(c));
    }
    let near = l.mul(l.mul(two, l.mul(z_over_y, inv)), p);
    let far = l.div(l.mul_add(e, l.splat(std::f32::consts::LN_2), l.mul(two, l.mul(u, p))), y);
    l.select(small, near, far)
}

/// `N` float32 lanes. Implementations are zero-sized tokens: holding one is the proof that the
/// instructions it uses can run here.
pub(crate) trait Lanes: Copy {
    const N: usize;
    type F: Copy;
    type M: Copy;

    fn splat(self, x: f32) -> Self::F;
    /// The first `N` elements of `s`.
    fn load(self, s: &[f32]) -> Self::F;
    fn add(self, a: Self::F, b: Self::F) -> Self::F;
    fn sub(self, a: Self::F, b: Self::F) -> Self::F;
    fn mul(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a * b + c`, fused where the hardware fuses.
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// `a * b - c`, fused where the hardware fuses.
    fn mul_sub(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// `c - a * b`, fused where the hardware fuses.
    fn neg_mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    fn div(self, a: Self::F, b: Self::F) -> Self::F;
    fn sqrt(self, a: Self::F) -> Self::F;
    fn max(self, a: Self::F, b: Self::F) -> Self::F;
    fn min(self, a: Self::F, b: Self::F) -> Self::F;
    fn abs(self, a: Self::F) -> Self::F;
    /// Rounded towards minus infinity (an integer as a float; any value where `|a| >= 2^31`).
    fn floor(self, a: Self::F) -> Self::F;
    fn ge(self, a: Self::F, b: Self::F) -> Self::M;
    fn lt(self, a: Self::F, b: Self::F) -> Self::M;
    fn le(self, a: Self::F, b: Self::F) -> Self::M;
    fn and(self, a: Self::M, b: Self::M) -> Self::M;
    /// `a` in the lanes of `m`, `b` in the others.
    fn select(self, m: Self::M, a: Self::F, b: Self::F) -> Self::F;
    /// `(m, e)` with `a = m 2^e`, `m` in [1, 2), `e` an integer as a float, for positive normal
    /// `a` (what a logarithm starts from).
    fn split_exponent(self, a: Self::F) -> (Self::F, Self::F);

    /// `trace` linearly interpolated at fractional sample positions `u`, in the lanes of
    /// `inside`, where `0 <= u < trace.len() - 1`; any finite value in the other lanes.
    fn interp(self, trace: &[f32], u: Self::F, inside: Self::M) -> Self::F;

    /// `T` consecutive samples of every lane: `taps[k] = trace[i + k]` for `k` in `0..T`, `i`
    /// the integer-valued `index`, in the lanes of `inside`, where `0 <= i` and
    /// `i + T <= trace.len()`; any finite value in the other lanes. `trace` holds at least `T`
    /// samples. What the filters of [`super::read`] read (the same windows as `interp`).
    fn taps<const T: usize>(self, trace: &[f32], index: Self::F, inside: Self::M) -> [Self::F; T];

    /// `acc[k] += v[k]` and `fold[k] += 1` for the lanes `k` of `inside`; `acc` and `fold` hold
    /// at least `N` elements.
    fn accumulate(self, acc: &mut [f32], fold: &mut [u32], v: Self::F, inside: Self::M);
}

const P: usize = 8;

/// Eight lanes in plain Rust.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

/// `f` lane by lane, as a plain indexed loop: the shape the vectorizer reliably turns into SIMD.
#[inline(always)]
fn lanewise<T: Copy + Default>(f: impl Fn(usize) -> T) -> [T; P] {
    let mut out = [T::default(); P];
    for (k, o) in out.iter_mut().enumerate() {
        *o = f(k);
    }
    out
}

impl Lanes for Portable {
    const N: usize = P;
    type F = [f32; P];
    type M = [bool; P];

    #[inline(always)]
    fn splat(self, x: f32) -> Self::F {
        [x; P]
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Self::F {
        s[..P].try_into().unwrap()
    }
    #[inline(always)]
    fn add(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| a[k] + b[k])
    }
    #[inline(always)]
    fn sub(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| a[k] - b[k])
    }
    #[inline(always)]
    fn mul(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| a[k] * b[k])
    }
    #[inline(always)]
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        // Unfused: `f32::mul_add` is a library call where the target has no FMA instruction.
        lanewise(|k| a[k] * b[k] + c[k])
    }
    #[inline(always)]
    fn mul_sub(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        lanewise(|k| a[k] * b[k] - c[k])
    }
    #[inline(always)]
    fn neg_mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F {
        lanewise(|k| c[k] - a[k] * b[k])
    }
    #[inline(always)]
    fn div(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| a[k] / b[k])
    }
    #[inline(always)]
    fn sqrt(self, a: Self::F) -> Self::F {
        lanewise(|k| a[k].sqrt())
    }
    #[inline(always)]
    fn max(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| if a[k] > b[k] { a[k] } else { b[k] })
    }
    #[inline(always)]
    fn min(self, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| if a[k] < b[k] { a[k] } else { b[k] })
    }
    #[inline(always)]
    fn abs(self, a: Self::F) -> Self::F {
        lanewise(|k| a[k].abs())
    }
    #[inline(always)]
    fn floor(self, a: Self::F) -> Self::F {
        // Truncation and a correction below zero (`f32::floor` is a library call on baseline
        // x86-64).
        lanewise(|k| {
            let t = a[k] as i32 as f32;
            if t > a[k] { t - 1.0 } else { t }
        })
    }
    #[inline(always)]
    fn ge(self, a: Self::F, b: Self::F) -> Self::M {
        lanewise(|k| a[k] >= b[k])
    }
    #[inline(always)]
    fn lt(self, a: Self::F, b: Self::F) -> Self::M {
        lanewise(|k| a[k] < b[k])
    }
    #[inline(always)]
    fn le(self, a: Self::F, b: Self::F) -> Self::M {
        lanewise(|k| a[k] <= b[k])
    }
    #[inline(always)]
    fn and(self, a: Self::M, b: Self::M) -> Self::M {
        lanewise(|k| a[k] & b[k])
    }
    #[inline(always)]
    fn select(self, m: Self::M, a: Self::F, b: Self::F) -> Self::F {
        lanewise(|k| if m[k] { a[k] } else { b[k] })
    }
    #[inline(always)]
    fn split_exponent(self, a: Self::F) -> (Self::F, Self::F) {
        let bits: [u32; P] = lanewise(|k| a[k].to_bits());
        (
            lanewise(|k| f32::from_bits((bits[k] & 0x007f_ffff) | 0x3f80_0000)),
            lanewise(|k| ((bits[k] >> 23) as i32 - 127) as f32),
        )
    }

    #[inline(always)]
    fn interp(self, trace: &[f32], u: Self::F, inside: Self::M) -> Self::F {
        // Positions clamped into the trace before the conversion, so that it is a plain vector
        // conversion; every lane reads, and the mask selects afterwards: no branch.
        let last_pair = trace.len().saturating_sub(2);
        let i: [i32; P] = lanewise(|k| u[k].clamp(0.0, last_pair as f32) as i32);
        let f = lanewise(|k| u[k] - i[k] as f32);
        let (mut s0, mut s1) = ([0.0; P], [0.0; P]);
        for k in 0..P {
            let j = (i[k] as usize).min(last_pair);
            (s0[k], s1[k]) = (trace[j], trace[j + 1]);
        }
        lanewise(|k| if inside[k] { s0[k] + f[k] * (s1[k] - s0[k]) } else { 0.0 })
    }

    #[inline(always)]
    fn taps<const T: usize>(self, trace: &[f32], index: Self::F, _inside: Self::M) -> [Self::F; T] {
        // Every lane reads, its index clamped into the trace.
        let last = trace.len() - T;
        let mut out = [[0.0; P]; T];
        for k in 0..P {
            let i = (index[k].max(0.0) as usize).min(last);
            for (tap, s) in out.iter_mut().zip(&trace[i..i + T]) {
                tap[k] = *s;
            }
        }
        out
    }

    #[inline(always)]
    fn accumulate(self, acc: &mut [f32], fold: &mut [u32], v: Self::F, inside: Self::M) {
        // Branch-free, so that it vectorizes.
        for k in 0..P {
            acc[k] += if inside[k] { v[k] } else { 0.0 };
            fold[k] += inside[k] as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_asinhc_matches_float64() {
        let mut worst = 0.0f64;
        for i in 0..=20000 {
            // 0 to 60, densely near 0 and across the branch at z = 1/2.
            let y = (i as f64 / 20000.0).powi(3) * 60.0;
            let got = asinhc(Portable, [y as f32; 8])[0] as f64;
            let expect = pstm_math::traveltime::asinhc((y as f32) as f64);
            worst = worst.max((got / expect - 1.0).abs());
        }
        println!("asinh(y)/y in float32 lanes: worst relative error {worst:.2e}");
        assert!(worst < 6e-7, "{worst}");
    }
}
