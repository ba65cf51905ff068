//! The inner loop: one trace into one output column, output times in SIMD lanes.
//!
//! Everything that does not depend on `t0` was settled before ([`super::pair`]): the leg
//! distances, the aperture test against the largest radius, the taper at a fixed aperture and
//! the range of output samples whose traveltime can fall inside the trace. What depends on `t0`
//! only through the output axis and the velocity is read from per-tile tables
//! ([`super::tables`]): the leg law's `a` and `b` (`(t0/2)^2` and `1/v^2` for the straight ray),
//! VTI's `1 + 2 eta`, and the weight numerator. What is left per sample is the two legs (a square
//! root each; a curved ray adds `asinh(c s)/(c s)` per leg, VTI one division per leg), one
//! division for the weights, the interpolation and the sum.
//!
//! This loop reads linearly without antialiasing, and nothing else: the other readings run
//! loops of their own ([`super::read`]) built from the same pieces ([`PairLanes`]), so that
//! their work is not paid here, the loop being bound by its count of vector operations.

use pstm_math::TaperKind;

use super::lanes::{Lanes, asinhc};
use super::pair::Pair;
use super::read::Reading;
use super::tables::{ColumnView, DipView, Shape};

/// Stands in for a zero time in the obliquity `t0 / t`, which is 1 where both are zero (see
/// [`pstm_math::weights`]): `TINY / TINY` is 1, `TINY / t` is as good as 0, and the products the
/// weights form with it stay normal float32 numbers.
pub(crate) const TINY: f32 = 1e-30;

/// The input trace axis, in the units the loop uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceAxis {
    pub inv_dt: f32,
    /// `-t_start / dt`: the sample position is `t * inv_dt + u_offset`.
    pub u_offset: f32,
    /// `n_samples - 1`: positions `0 <= u < last` are inside the trace.
    pub last: f32,
    /// Half the sample interval, the smallest time the spreading weight divides by.
    pub half_dt: f32,
}

impl TraceAxis {
    pub fn new(dt_s: f64, t_start_s: f64, n_samples: usize) -> Self {
        Self {
            inv_dt: (1.0 / dt_s) as f32,
            u_offset: (-t_start_s / dt_s) as f32,
            last: (n_samples as f64 - 1.0) as f32,
            half_dt: (0.5 * dt_s) as f32,
        }
    }
}

/// One trace summed into one column: everything the loop reads.
pub(crate) struct PairJob<'a> {
    pub column: ColumnView<'a>,
    pub axis: TraceAxis,
    pub pair: Pair,
    /// The trace as [`Reading`] reads it: the block's trace, or for the cubic and sinc8 filters
    /// a zero-padded copy starting `half_taps - 1` samples before the trace ([`super::read`]).
    pub trace: &'a [f32],
    pub reading: Reading,
    pub spreading: bool,
    pub obliquity: bool,
    /// A 2D line's spreading, `1/sqrt(v t)`.
    pub line: bool,
}

/// Add one trace's contributions to one column's image and fold (both padded to whole vectors).
#[inline(always)]
pub(crate) fn sum_pair<L: Lanes>(l: L, job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
    // One loop per weight setting and aperture path, so that none tests them per sample.
    match (job.spreading, job.obliquity, job.pair.per_sample_aperture) {
        (false, false, false) => sum_pair_with::<L, false, false, false>(l, job, acc, fold),
        (true, false, false) => sum_pair_with::<L, true, false, false>(l, job, acc, fold),
        (false, true, false) => sum_pair_with::<L, false, true, false>(l, job, acc, fold),
        (true, true, false) => sum_pair_with::<L, true, true, false>(l, job, acc, fold),
        (false, false, true) => sum_pair_with::<L, false, false, true>(l, job, acc, fold),
        (true, false, true) => sum_pair_with::<L, true, false, true>(l, job, acc, fold),
        (false, true, true) => sum_pair_with::<L, false, true, true>(l, job, acc, fold),
        (true, true, true) => sum_pair_with::<L, true, true, true>(l, job, acc, fold),
    }
}

/// What stays fixed along one pair's loop, in lanes.
pub(super) struct PairLanes<'j, L: Lanes> {
    pub l: L,
    pub ds2: L::F,
    pub dr2: L::F,
    pub inv_dt: L::F,
    pub u_offset: L::F,
    pub last: L::F,
    pub zero: L::F,
    pub half_dt: L::F,
    pub tiny: L::F,
    pub dm: L::F,
    pub pair_weight: L::F,
    pub dip: Option<&'j DipView<'j>>,
    /// The stretch mute's largest traveltime per output sample, if there is one.
    pub stretch_limit: Option<&'j [f32]>,
    /// A 2D line's spreading: the weight divides by `sqrt(t)` rather than `t`.
    pub line: bool,
    pub shape: Shape,
    /// A curved ray's `c`.
    pub c: L::F,
    /// VTI's `1 + 2 eta` per output sample.
    pub eta2: &'j [f32],
}

impl<'j, L: Lanes> PairLanes<'j, L> {
    // Methods rather than closures: a closure is not compiled for the caller's instruction set,
    // so its intrinsics become calls (a curved ray ran 100 times slower that way).

    /// A curved ray's leg: `s asinhc(c s)`, `s = sqrt(a + d2 b)`.
    #[inline(always)]
    fn curved_leg(&self, d2: L::F, a: L::F, b: L::F) -> L::F {
        let l = self.l;
        let s = l.sqrt(l.mul_add(d2, b, a));
        l.mul(s, asinhc(l, l.mul(self.c, s)))
    }

    /// A VTI leg: `sqrt(a + q (a + q) / (a + (1 + 2 eta) q))`, `q = d2 b`.
    #[inline(always)]
    fn vti_leg(&self, d2: L::F, a: L::F, b: L::F, eta2: L::F) -> L::F {
        let l = self.l;
        let q = l.mul(d2, b);
        let den = l.max(l.mul_add(eta2, q, a), self.tiny);
        l.sqrt(l.mul_add(q, l.div(l.add(a, q), den), a))
    }

    /// Both legs' time at output sample `k` from the leg law's `a` and `b` there.
    #[inline(always)]
    pub fn two_way(&self, k: usize, a: L::F, b: L::F) -> L::F {
        let l = self.l;
        match self.shape {
            Shape::Straight => l.add(l.sqrt(l.mul_add(self.ds2, b, a)), l.sqrt(l.mul_add(self.dr2, b, a))),
            Shape::Curved { .. } => l.add(self.curved_leg(self.ds2, a, b), self.curved_leg(self.dr2, a, b)),
            Shape::Vti => {
                let eta2 = l.load(&self.eta2[k..]);
                l.add(self.vti_leg(self.ds2, a, b, eta2), self.vti_leg(self.dr2, a, b, eta2))
            }
        }
    }

    /// Sample position, mask (trace, stretch mute, dip aperture) and taper weight of traveltime
    /// `t` at output sample `k`; the mask leaves out the trace's ends unless `trace_tested`
    /// (a reading that tests them itself).
    #[inline(always)]
    pub fn place(&self, k: usize, t: L::F, trace_tested: bool) -> (L::F, L::M, L::F) {
        let l = self.l;
        let u = l.mul_add(t, self.inv_dt, self.u_offset);
        let mut inside =
            if trace_tested { l.le(self.zero, self.zero) } else { l.and(l.ge(u, self.zero), l.lt(u, self.last)) };
        if let Some(limit) = self.stretch_limit {
            inside = l.and(inside, l.le(t, l.load(&limit[k..])));
        }
        let mut w = self.pair_weight;
        if let Some(dip) = self.dip {
            inside = l.and(inside, l.le(self.dm, l.load(&dip.radius[k..])));
            if dip.kind != TaperKind::None {
                let x = l.mul(l.sub(self.dm, l.load(&dip.taper_start[k..])), l.load(&dip.inv_taper_width[k..]));
                w = l.mul(w, taper(l, dip.kind, l.min(l.max(x, self.zero), l.splat(1.0))));
            }
        }
        (u, inside, w)
    }

    /// The spreading's divisor: `t`, or `sqrt(t)` on a 2D line, at least half a sample.
    #[inline(always)]
    fn spread(&self, t: L::F) -> L::F {
        let l = self.l;
        if self.line { l.sqrt(l.max(t, self.half_dt)) } else { l.max(t, self.half_dt) }
    }

    /// What the weight numerator is divided by at traveltime `t`, if any weight is on.
    #[inline(always)]
    pub fn weight_den(&self, t: L::F, spreading: bool, obliquity: bool) -> Option<L::F> {
        let l = self.l;
        match (spreading, obliquity) {
            (true, true) => Some(l.mul(self.spread(t), l.max(t, self.tiny))),
            (true, false) => Some(self.spread(t)),
            (false, true) => Some(l.max(t, self.tiny)),
            (false, false) => None,
        }
    }

    /// Sample position, mask and weight of the vector at output sample `k`: the half with the
    /// square roots and the division, whose results the other half waits for.
    #[inline(always)]
    fn front<const SPREADING: bool, const OBLIQUITY: bool>(
        &self,
        k: usize,
        a: &[f32],
        b: &[f32],
        weight_num: &[f32],
    ) -> (L::F, L::M, L::F) {
        let l = self.l;
        let (a, b) = (l.load(a), l.load(b));
        let t = self.two_way(k, a, b);
        let (u, inside, mut w) = self.place(k, t, false);
        if let Some(den) = self.weight_den(t, SPREADING, OBLIQUITY) {
            w = l.mul(w, l.div(l.load(weight_num), den));
        }
        (u, inside, w)
    }

    /// The loop's constants for `job`; the dip aperture only where `per_sample_aperture`.
    #[inline(always)]
    pub fn new(l: L, job: &'j PairJob<'j>, per_sample_aperture: bool) -> Self {
        let PairJob { column: col, axis, pair, .. } = job;
        PairLanes {
            l,
            ds2: l.splat(pair.ds2),
            dr2: l.splat(pair.dr2),
            inv_dt: l.splat(axis.inv_dt),
            u_offset: l.splat(axis.u_offset),
            last: l.splat(axis.last),
            zero: l.splat(0.0),
            half_dt: l.splat(axis.half_dt),
            tiny: l.splat(TINY),
            dm: l.splat(pair.dm),
            pair_weight: l.splat(pair.weight),
            dip: col.dip.as_ref().filter(|_| per_sample_aperture),
            stretch_limit: col.stretch_limit,
            line: job.line,
            shape: col.shape,
            c: l.splat(match col.shape {
                Shape::Curved { c } => c,
                _ => 0.0,
            }),
            eta2: col.eta2.unwrap_or(&[]),
        }
    }
}

#[inline(always)]
fn sum_pair_with<L: Lanes, const SPREADING: bool, const OBLIQUITY: bool, const PER_SAMPLE_APERTURE: bool>(
    l: L,
    job: &PairJob<'_>,
    acc: &mut [f32],
    fold: &mut [u32],
) {
    let PairJob { column: col, pair, trace, .. } = job;
    let lanes = PairLanes::new(l, job, PER_SAMPLE_APERTURE);
    // Whole-vector chunks of the pair's range: the loop runs without bounds checks.
    let range = pair.samples.clone();
    let mut fronts = range.clone().step_by(L::N).zip(
        vectors::<L>(col.leg_a, &range).zip(vectors::<L>(col.leg_b, &range)).zip(vectors::<L>(col.weight_num, &range)),
    );
    let sums = acc[range.clone()].chunks_exact_mut(L::N).zip(fold[range].chunks_exact_mut(L::N));
    // Software pipelined: the next vector's front half is issued before this vector's
    // interpolation and sum, so that the out-of-order window does not fill up with operations
    // waiting on square roots (10% on AVX2 here).
    let Some((k, ((a, b), weight_num))) = fronts.next() else { return };
    let mut current = lanes.front::<SPREADING, OBLIQUITY>(k, a, b, weight_num);
    for (acc, fold) in sums {
        let next =
            fronts.next().map(|(k, ((a, b), weight_num))| lanes.front::<SPREADING, OBLIQUITY>(k, a, b, weight_num));
        let (u, inside, w) = current;
        let s = l.interp(trace, u, inside);
        l.accumulate(acc, fold, l.mul(w, s), inside);
        match next {
            Some(n) => current = n,
            None => break,
        }
    }
}

#[inline(always)]
pub(super) fn vectors<'t, L: Lanes>(
    table: &'t [f32],
    range: &std::ops::Range<usize>,
) -> std::slice::ChunksExact<'t, f32> {
    table[range.clone()].chunks_exact(L::N)
}

/// The taper weight at `x` = (distance past the taper start) / (taper width), in [0, 1], in
/// lanes: [`pstm_math::Taper::weight`] with polynomials for the cosine and the exponential.
#[inline(always)]
fn taper<L: Lanes>(l: L, kind: TaperKind, x: L::F) -> L::F {
    let one = l.splat(1.0);
    match kind {
        TaperKind::None => one,
        TaperKind::Linear => l.sub(one, x),
        // 0.5 (1 + cos(pi x)) = 0.5 - 0.5 sin(pi (x - 1/2)), the sine on [-pi/2, pi/2] by its
        // Taylor series to z^11 (truncation below 6e-8).
        TaperKind::Cosine => {
            let z = l.mul(l.sub(x, l.splat(0.5)), l.splat(std::f32::consts::PI));
            let z2 = l.mul(z, z);
            let mut p = l.splat(-1.0 / 39_916_800.0);
            for c in [1.0 / 362_880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0, 1.0] {
                p = l.mul_add(p, z2, l.splat(c));
            }
            let half = l.splat(0.5);
            l.sub(half, l.mul(half, l.mul(p, z)))
        }
        // exp(-4.5 x^2) = exp(-4.5 x^2 / 4)^4: the inner argument lies in [-1.125, 0], where the
        // Taylor series to z^11 is good to 1e-8; two squarings (each doubling the relative
        // rounding error, hence not more of them) raise it to the 4th power.
        TaperKind::Gaussian => {
            let z = l.mul(l.mul(x, x), l.splat(-4.5 / 4.0));
            let mut e = l.splat(1.0 / 39_916_800.0);
            for n in (0..11).rev() {
                let inv_factorial = (1..=n).fold(1.0f32, |f, k| f / k as f32);
                e = l.mul_add(e, z, l.splat(inv_factorial));
            }
            e = l.mul(e, e);
            l.mul(e, e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::lanes::Portable;
    use pstm_math::Taper;

    #[test]
    fn lane_tapers_match_the_formula() {
        for kind in [TaperKind::None, TaperKind::Linear, TaperKind::Cosine, TaperKind::Gaussian] {
            let t = Taper { kind, fraction: 0.25 };
            for i in 0..=400 {
                let x = i as f64 / 400.0;
                // dm = ts + x (a - ts) with a = 1000, ts = 750.
                let expect = t.weight(750.0 + 250.0 * x, 1000.0);
                let got = taper(Portable, kind, [x as f32; 8])[0] as f64;
                assert!((got - expect).abs() < 3e-7, "{kind:?} x = {x}: {got} vs {expect}");
            }
        }
    }
}
