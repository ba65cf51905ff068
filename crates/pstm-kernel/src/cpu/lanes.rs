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
    fn div(self, a: Self::F, b: Self::F) -> Self::F;
    fn sqrt(self, a: Self::F) -> Self::F;
    fn max(self, a: Self::F, b: Self::F) -> Self::F;
    fn min(self, a: Self::F, b: Self::F) -> Self::F;
    fn ge(self, a: Self::F, b: Self::F) -> Self::M;
    fn lt(self, a: Self::F, b: Self::F) -> Self::M;
    fn le(self, a: Self::F, b: Self::F) -> Self::M;
    fn and(self, a: Self::M, b: Self::M) -> Self::M;

    /// `trace` linearly interpolated at fractional sample positions `u`, in the lanes of
    /// `inside`, where `0 <= u < trace.len() - 1`; any finite value in the other lanes.
    fn interp(self, trace: &[f32], u: Self::F, inside: Self::M) -> Self::F;

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
    fn accumulate(self, acc: &mut [f32], fold: &mut [u32], v: Self::F, inside: Self::M) {
        // Branch-free, so that it vectorizes.
        for k in 0..P {
            acc[k] += if inside[k] { v[k] } else { 0.0 };
            fold[k] += inside[k] as u32;
        }
    }
}
