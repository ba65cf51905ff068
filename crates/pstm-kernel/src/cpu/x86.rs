//! AVX2 (8 lanes) and AVX-512 (16 lanes) implementations of [`Lanes`], and the entry points
//! compiled for them.
//!
//! Each entry point is a `#[target_feature]` function that instantiates the generic loop with its
//! token; every trait method is `#[inline(always)]`, so the whole loop is compiled for that
//! instruction set. The tokens are private to this module and made only inside those entry
//! points, which `CpuIsa` calls only after detecting the features at run time: that is what
//! makes the `unsafe` intrinsic calls below sound.
//!
//! Reading the trace: gathers are slow on AMD cores (microcoded on Zen 2; on this Zen 4 the AVX2
//! loop runs at half speed with them). But `dt/dt0 <= 1` for a constant velocity, so consecutive
//! output times on the input's sampling read consecutive or repeated input samples: when the
//! lanes' sample indices lie within a small window above the first lane's, loading the window
//! and permuting it gives both interpolation samples of every lane. Windows: AVX2 8 samples, or
//! 16 with a blend; AVX-512 32, across two registers; either covers output sampled up to twice as
//! coarsely as the input. A gather remains for the rest (coarser output, velocity falling fast
//! with time, traces shorter than the window). The filters' taps (`taps`: cubic, sinc8, the
//! triangle's three pairs) come through the same windows, one load and permute per tap, the
//! window's offsets permuted from the first lane's index where the window needs no clamping:
//! the loops of those readings are bound by their count of vector operations, and that saves
//! one per window (a triangle reads three).
//!
//! Square roots and the weight division use the exact instructions: estimates refined by a
//! Newton step (`vrsqrt14ps`, `vrcp14ps`) were as accurate but 5-10% slower here, the loop being
//! bound by its total vector work more than by the divide unit.

use std::arch::x86_64::*;

use super::lanes::Lanes;
use super::read::sum_pair_read;
use super::sum::{PairJob, sum_pair};

pub(crate) fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

pub(crate) fn has_avx512() -> bool {
    has_avx2() && is_x86_feature_detected!("avx512f")
}

#[target_feature(enable = "avx2,fma")]
pub(crate) fn sum_pair_avx2(job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
    sum_pair(Avx2(()), job, acc, fold)
}

#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) fn sum_pair_avx512(job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
    sum_pair(Avx512(()), job, acc, fold)
}

/// The loops of the other readings ([`super::read`]), in entry points of their own so that the
/// plain loop's code stays as it was.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sum_pair_read_avx2(job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
    sum_pair_read(Avx2(()), job, acc, fold)
}

#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) fn sum_pair_read_avx512(job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
    sum_pair_read(Avx512(()), job, acc, fold)
}

#[derive(Clone, Copy)]
struct Avx2(());

// SAFETY (every `unsafe` block in this impl): an `Avx2` exists only inside `sum_pair_avx2`, so
// AVX2 and FMA are available; pointer arguments are checked against the slices they come from.
impl Lanes for Avx2 {
    const N: usize = 8;
    type F = __m256;
    type M = __m256;

    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        assert!(s.len() >= 8);
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn mul_sub(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmsub_ps(a, b, c) }
    }
    #[inline(always)]
    fn neg_mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn div(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn sqrt(self, a: __m256) -> __m256 {
        unsafe { _mm256_sqrt_ps(a) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn abs(self, a: __m256) -> __m256 {
        unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
    }
    #[inline(always)]
    fn floor(self, a: __m256) -> __m256 {
        unsafe { _mm256_floor_ps(a) }
    }
    #[inline(always)]
    fn ge(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_GE_OQ>(a, b) }
    }
    #[inline(always)]
    fn lt(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn and(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_and_ps(a, b) }
    }
    #[inline(always)]
    fn select(self, m: __m256, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_blendv_ps(b, a, m) }
    }
    #[inline(always)]
    fn split_exponent(self, a: __m256) -> (__m256, __m256) {
        unsafe {
            let bits = _mm256_castps_si256(a);
            let e = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127));
            let m =
                _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)), _mm256_set1_epi32(0x3f80_0000));
            (_mm256_castsi256_ps(m), _mm256_cvtepi32_ps(e))
        }
    }

    #[inline(always)]
    fn interp(self, trace: &[f32], u: __m256, inside: __m256) -> __m256 {
        // A window of 8 samples from the first lane's index (one register; output sampled as
        // the input), else of 16 (two registers and a blend; output sampled up to twice as
        // coarsely), each read again one sample on for the right neighbours.
        let n = trace.len();
        unsafe {
            let i = _mm256_cvttps_epi32(u);
            let f = _mm256_sub_ps(u, _mm256_cvtepi32_ps(i));
            if n > 16 {
                let first = _mm_cvtsi128_si32(_mm256_castsi256_si128(i));
                let (base, d) = window_offsets(i, first, n, 8);
                if fits_window(d, 8, inside) {
                    let p = trace.as_ptr().add(base);
                    let s0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(p), d);
                    let s1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(p.add(1)), d);
                    return _mm256_fmadd_ps(f, _mm256_sub_ps(s1, s0), s0);
                }
                let (base, d) = window_offsets(i, first, n, 16);
                if fits_window(d, 16, inside) {
                    let p = trace.as_ptr().add(base);
                    let (s0, s1) = (permute16(p, d), permute16(p.add(1), d));
                    return _mm256_fmadd_ps(f, _mm256_sub_ps(s1, s0), s0);
                }
            }
            // Indices clamped into the trace, so that even masked-off lanes stay in bounds.
            let i = _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()), _mm256_set1_epi32(n as i32 - 2));
            let zero = _mm256_setzero_ps();
            let s0 = _mm256_mask_i32gather_ps::<4>(zero, trace.as_ptr(), i, inside);
            let i1 = _mm256_add_epi32(i, _mm256_set1_epi32(1));
            let s1 = _mm256_mask_i32gather_ps::<4>(zero, trace.as_ptr(), i1, inside);
            _mm256_fmadd_ps(f, _mm256_sub_ps(s1, s0), s0)
        }
    }

    #[inline(always)]
    fn taps<const T: usize>(self, trace: &[f32], index: __m256, inside: __m256) -> [__m256; T] {
        // The windows of `interp`, each tap loaded one sample further on; no closures here
        // (`std::array::from_fn` included), for the reason given below `Avx2`.
        let n = trace.len();
        assert!(n >= T);
        let mut out = [unsafe { _mm256_setzero_ps() }; T];
        unsafe {
            let i = _mm256_cvttps_epi32(index);
            if n >= 16 + T {
                let first = _mm_cvtsi128_si32(_mm256_castsi256_si128(i));
                // Tap k loads 8 (or 16) samples from base + k: base + T + 7 (+ 8) < n. Where the
                // window need not be clamped into the trace (nearly always), the offsets come from
                // a lane permute rather than a broadcast back from the scalar.
                let (base, d) = if first >= 0 && first <= (n - 8 - T) as i32 {
                    (first as usize, _mm256_sub_epi32(i, _mm256_permutevar8x32_epi32(i, _mm256_setzero_si256())))
                } else {
                    window_offsets(i, first, n, 8 + T - 1)
                };
                if fits_window(d, 8, inside) {
                    let p = trace.as_ptr().add(base);
                    for (k, tap) in out.iter_mut().enumerate() {
                        *tap = _mm256_permutevar8x32_ps(_mm256_loadu_ps(p.add(k)), d);
                    }
                    return out;
                }
                let (base, d) = window_offsets(i, first, n, 16 + T - 1);
                if fits_window(d, 16, inside) {
                    let p = trace.as_ptr().add(base);
                    for (k, tap) in out.iter_mut().enumerate() {
                        *tap = permute16(p.add(k), d);
                    }
                    return out;
                }
            }
            let i = _mm256_min_epi32(_mm256_max_epi32(i, _mm256_setzero_si256()), _mm256_set1_epi32((n - T) as i32));
            for (k, tap) in out.iter_mut().enumerate() {
                let ik = _mm256_add_epi32(i, _mm256_set1_epi32(k as i32));
                *tap = _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), trace.as_ptr(), ik, inside);
            }
        }
        out
    }

    #[inline(always)]
    fn accumulate(self, acc: &mut [f32], fold: &mut [u32], v: __m256, inside: __m256) {
        assert!(acc.len() >= 8 && fold.len() >= 8);
        unsafe {
            let a = _mm256_loadu_ps(acc.as_ptr());
            _mm256_storeu_ps(acc.as_mut_ptr(), _mm256_add_ps(a, _mm256_and_ps(v, inside)));
            let fp = fold.as_mut_ptr() as *mut __m256i;
            // A true lane is all ones, -1 as an integer: subtracting the mask counts it.
            _mm256_storeu_si256(fp, _mm256_sub_epi32(_mm256_loadu_si256(fp), _mm256_castps_si256(inside)));
        }
    }
}

// Helpers of `Avx2::interp`: plain functions, not closures, so that they inline into the
// `#[target_feature]` entry point with the rest (a closure here made the loop ten times slower).
// SAFETY: as for `Avx2`; callers guarantee `n > width` and pointers with `width + 1` samples.

/// Start of a window of `width + 1` samples at the first lane's index, clamped into the trace,
/// and every lane's offset from it.
#[inline(always)]
unsafe fn window_offsets(i: __m256i, first: i32, n: usize, width: usize) -> (usize, __m256i) {
    let base = first.clamp(0, (n - width - 1) as i32);
    (base as usize, unsafe { _mm256_sub_epi32(i, _mm256_set1_epi32(base)) })
}

/// Whether every lane inside the trace has its offset in `0..width` (compared unsigned, which
/// also rejects negative offsets).
#[inline(always)]
unsafe fn fits_window(d: __m256i, width: usize, inside: __m256) -> bool {
    unsafe {
        let limit = _mm256_set1_epi32(width as i32 - 1);
        let fits = _mm256_cmpeq_epi32(_mm256_min_epu32(d, limit), d);
        _mm256_movemask_ps(_mm256_andnot_ps(_mm256_castsi256_ps(fits), inside)) == 0
    }
}

/// `p[d]` per lane for offsets `d` in `0..16`: the permute reads the low three bits, the blend
/// picks the register.
#[inline(always)]
unsafe fn permute16(p: *const f32, d: __m256i) -> __m256 {
    unsafe {
        let (lo, hi) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)));
        let high = _mm256_castsi256_ps(_mm256_cmpgt_epi32(d, _mm256_set1_epi32(7)));
        _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, d), _mm256_permutevar8x32_ps(hi, d), high)
    }
}

#[derive(Clone, Copy)]
struct Avx512(());

// SAFETY (every `unsafe` block in this impl): an `Avx512` exists only inside `sum_pair_avx512`,
// so AVX-512F is available; pointer arguments are checked against the slices they come from.
impl Lanes for Avx512 {
    const N: usize = 16;
    type F = __m512;
    type M = __mmask16;

    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        assert!(s.len() >= 16);
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn mul_sub(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmsub_ps(a, b, c) }
    }
    #[inline(always)]
    fn neg_mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn sqrt(self, a: __m512) -> __m512 {
        unsafe { _mm512_sqrt_ps(a) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    fn abs(self, a: __m512) -> __m512 {
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    fn floor(self, a: __m512) -> __m512 {
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    fn ge(self, a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a, b) }
    }
    #[inline(always)]
    fn lt(self, a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    fn le(self, a: __m512, b: __m512) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LE_OQ>(a, b) }
    }
    #[inline(always)]
    fn and(self, a: __mmask16, b: __mmask16) -> __mmask16 {
        a & b
    }
    #[inline(always)]
    fn select(self, m: __mmask16, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mask_blend_ps(m, b, a) }
    }
    #[inline(always)]
    fn split_exponent(self, a: __m512) -> (__m512, __m512) {
        unsafe { (_mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_ZERO>(a), _mm512_getexp_ps(a)) }
    }

    #[inline(always)]
    fn interp(self, trace: &[f32], u: __m512, inside: __mmask16) -> __m512 {
        // Window: 32 samples from the first lane's index, permuted across two registers; the
        // right neighbour of index 30 is the window's last sample.
        const WINDOW: usize = 32;
        let n = trace.len();
        unsafe {
            let i = _mm512_cvttps_epi32(u);
            let f = _mm512_sub_ps(u, _mm512_cvtepi32_ps(i));
            if n >= WINDOW {
                let base = _mm_cvtsi128_si32(_mm512_castsi512_si128(i)).clamp(0, (n - WINDOW) as i32);
                let d = _mm512_sub_epi32(i, _mm512_set1_epi32(base));
                // Unsigned d <= 30 also rejects d < 0.
                let limit = _mm512_set1_epi32(WINDOW as i32 - 2);
                if _mm512_mask_cmpgt_epu32_mask(inside, d, limit) == 0 {
                    let p = trace.as_ptr().add(base as usize);
                    let (lo, hi) = (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)));
                    let s0 = _mm512_permutex2var_ps(lo, d, hi);
                    let s1 = _mm512_permutex2var_ps(lo, _mm512_add_epi32(d, _mm512_set1_epi32(1)), hi);
                    return _mm512_fmadd_ps(f, _mm512_sub_ps(s1, s0), s0);
                }
            }
            // Indices clamped into the trace, so that even masked-off lanes stay in bounds.
            let i = _mm512_min_epi32(_mm512_max_epi32(i, _mm512_setzero_si512()), _mm512_set1_epi32(n as i32 - 2));
            let zero = _mm512_setzero_ps();
            let s0 = _mm512_mask_i32gather_ps::<4>(zero, inside, i, trace.as_ptr());
            let i1 = _mm512_add_epi32(i, _mm512_set1_epi32(1));
            let s1 = _mm512_mask_i32gather_ps::<4>(zero, inside, i1, trace.as_ptr());
            _mm512_fmadd_ps(f, _mm512_sub_ps(s1, s0), s0)
        }
    }

    #[inline(always)]
    fn taps<const T: usize>(self, trace: &[f32], index: __m512, inside: __mmask16) -> [__m512; T] {
        // The window of `interp`, 32 samples from the first lane's index across two registers;
        // tap k permutes with the offsets plus k, so offsets up to 32 - T fit.
        const WINDOW: usize = 32;
        let n = trace.len();
        assert!(n >= T);
        let mut out = [unsafe { _mm512_setzero_ps() }; T];
        unsafe {
            let i = _mm512_cvttps_epi32(index);
            if n >= WINDOW {
                let first = _mm_cvtsi128_si32(_mm512_castsi512_si128(i));
                // The offsets from the first lane by a lane permute rather than a broadcast back
                // from the scalar, where the window need not be clamped into the trace.
                let (base, d) = if first >= 0 && first <= (n - WINDOW) as i32 {
                    (first, _mm512_sub_epi32(i, _mm512_permutexvar_epi32(_mm512_setzero_si512(), i)))
                } else {
                    let base = first.clamp(0, (n - WINDOW) as i32);
                    (base, _mm512_sub_epi32(i, _mm512_set1_epi32(base)))
                };
                let limit = _mm512_set1_epi32((WINDOW - T) as i32);
                if _mm512_mask_cmpgt_epu32_mask(inside, d, limit) == 0 {
                    let p = trace.as_ptr().add(base as usize);
                    let (lo, hi) = (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16)));
                    for (k, tap) in out.iter_mut().enumerate() {
                        *tap = _mm512_permutex2var_ps(lo, _mm512_add_epi32(d, _mm512_set1_epi32(k as i32)), hi);
                    }
                    return out;
                }
            }
            let i = _mm512_min_epi32(_mm512_max_epi32(i, _mm512_setzero_si512()), _mm512_set1_epi32((n - T) as i32));
            for (k, tap) in out.iter_mut().enumerate() {
                let ik = _mm512_add_epi32(i, _mm512_set1_epi32(k as i32));
                *tap = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), inside, ik, trace.as_ptr());
            }
        }
        out
    }

    #[inline(always)]
    fn accumulate(self, acc: &mut [f32], fold: &mut [u32], v: __m512, inside: __mmask16) {
        assert!(acc.len() >= 16 && fold.len() >= 16);
        unsafe {
            let a = _mm512_loadu_ps(acc.as_ptr());
            _mm512_storeu_ps(acc.as_mut_ptr(), _mm512_mask_add_ps(a, inside, a, v));
            let fp = fold.as_mut_ptr() as *mut __m512i;
            let f = _mm512_loadu_si512(fp);
            _mm512_storeu_si512(fp, _mm512_mask_add_epi32(f, inside, f, _mm512_set1_epi32(1)));
        }
    }
}
