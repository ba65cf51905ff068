//! The readings other than plain linear interpolation: cubic and sinc8 filters, the `weight`
//! antialiasing, and triangle filters on doubly integrated traces ([`pstm_math::interp`],
//! [`pstm_math::antialias`], combined per contribution as [`pstm_math::ImagingOperator::read`]
//! does).
//!
//! Each runs a loop of its own (const parameters of one generic loop, behind entry points of
//! their own in `x86`), so that the plain loop of [`super::sum`], the common case, is compiled
//! exactly as before and pays nothing for them. The loop has the plain one's shape, a front half
//! per vector (traveltime, position, masks, weights, and the operator's time shift per output
//! step where antialiasing needs it) software pipelined against the back half (the reads), and
//! shares its pieces ([`PairLanes`]). Like the plain loop these are bound by their count of
//! vector operations (on this Zen 4 the time per vector followed it: `weight` adds about 13 of
//! 35 and costs 37%), not by the divisions: a triangle without its two divisions was only 7%
//! faster, and three pipelined stages or blocks of vectors taken stage by stage were slower
//! (spills). Hence the formulations below, chosen for fewer operations. The weight settings are
//! tested per vector rather than compiled into loops of their own as the plain loop's are: the
//! entry points inline every loop into one function, and four times as many loops took rustc
//! over 20 minutes. These loops are also sensitive to where their code lands: the AVX-512
//! `weight` loop measured 1.21 G/s in one binary and 0.92 in another holding the same code at
//! another address.
//!
//! - **Shift.** `dT = max_e |2 rate_s (p - s).e + 2 rate_r (p - r).e|` with the four leg
//!   projections constant per pair ([`super::pair::Pair::projections`], divided by `dt` here so
//!   that `dT` comes out in samples). Each leg's rate is `b rho / (2 m)` (straight: `rho = 1`,
//!   `m = max(s, dt/2)`; curved: `m` times `sqrt(1 + c^2 s^2)`, the root `asinhc` takes anyway;
//!   VTI: `m = max(t_leg, dt/2)` and `rho = 1 - 2 eta z (2 - (1 + 2 eta) z)`,
//!   `z = q / (a + (1 + 2 eta) q)`, the law's ratio without its squares, which underflow in
//!   float32), so that `dT/dt = b X / (m_s m_r)` takes one division; the `weight` factor
//!   `min(1, dt/dT) = m_s m_r / max(b X, m_s m_r)` shares the weights' division.
//! - **Cubic and sinc8** read 4 or 8 taps through the same permuted windows as linear
//!   interpolation ([`Lanes::taps`]), from a copy of the trace padded with zeros, so that taps
//!   outside the trace read zero without a test. Cubic weights are Keys' polynomials; sinc8's
//!   are polynomials fitted once to [`pstm_math::Interpolation::weights`] (a table would need a
//!   gather per tap): in `g = f - 1/2`, tap `k` and tap `7 - k` are mirror images, so each pair
//!   is an even and an odd polynomial of degree 4 in `4 g^2`, within 2e-7 of the weights.
//! - **Triangle** reads the doubly integrated trace `I` at `u - l`, `u`, `u + l`. Its values
//!   are large (a random walk summed) and the filter is their second difference, so the three
//!   reads are never rounded as values: positions are split into integer and fraction with the
//!   fractions of `u +- l` formed from `u`'s (float32 `u - l` would round at `u`'s magnitude,
//!   an error a second difference amplifies), and the second difference is taken from
//!   differences of samples (exact in float32) plus fraction terms. The triangle's test of the
//!   trace's ends, on the exact integer parts, implies `0 <= u < n - 1`, which is not tested
//!   again; the corrected divisor `l^2 - 2 e(u) + e(u - l) + e(u + l)` shares the division with
//!   the weights.

use pstm_math::Interpolation;
use std::sync::LazyLock;

use super::lanes::{Lanes, asinhc};
use super::sum::{PairJob, PairLanes, vectors};
use super::tables::Shape;

/// How the loop reads the trace, from the operator's interpolation and antialiasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Linear interpolation without antialiasing: the loop of [`super::sum`].
    Plain,
    /// An interpolation filter, down-weighted by the `weight` antialiasing or not.
    Filter { interpolation: Interpolation, weighted: bool },
    /// Linear reads of the doubly integrated trace through a triangle filter.
    Triangle,
}

/// Zeros before and after the padded copy of a trace: sinc8's `half_taps`.
pub(crate) const PAD: usize = 4;

impl Reading {
    /// The trace as this reading reads it: the block's, or `padded` (at least `n + 2 PAD`
    /// samples, zero outside `PAD..PAD + n`) filled with it and starting `half_taps - 1` samples
    /// before it.
    pub fn trace<'t>(self, trace: &'t [f32], padded: &'t mut [f32]) -> &'t [f32] {
        let half_taps = match self {
            Reading::Filter { interpolation: Interpolation::Cubic, .. } => 2,
            Reading::Filter { interpolation: Interpolation::Sinc8, .. } => 4,
            Reading::Plain | Reading::Triangle | Reading::Filter { interpolation: Interpolation::Linear, .. } => {
                return trace;
            }
        };
        padded[PAD..PAD + trace.len()].copy_from_slice(trace);
        &padded[PAD + 1 - half_taps..]
    }

    /// Whether [`Reading::trace`] reads a padded copy.
    pub fn pads(self) -> bool {
        matches!(self, Reading::Filter { interpolation: Interpolation::Cubic | Interpolation::Sinc8, .. })
    }
}

const LINEAR: u8 = 0;
const CUBIC: u8 = 1;
const SINC8: u8 = 2;
const TRIANGLE: u8 = 3;

/// Add one trace's contributions to one column with a reading other than [`Reading::Plain`].
#[inline(always)]
pub(crate) fn sum_pair_read<L: Lanes>(l: L, job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
    match job.reading {
        Reading::Plain | Reading::Filter { interpolation: Interpolation::Linear, weighted: false } => {
            sum_pair_read_with::<L, LINEAR, false>(l, job, acc, fold)
        }
        Reading::Filter { interpolation: Interpolation::Linear, weighted: true } => {
            sum_pair_read_with::<L, LINEAR, true>(l, job, acc, fold)
        }
        Reading::Filter { interpolation: Interpolation::Cubic, weighted: false } => {
            sum_pair_read_with::<L, CUBIC, false>(l, job, acc, fold)
        }
        Reading::Filter { interpolation: Interpolation::Cubic, weighted: true } => {
            sum_pair_read_with::<L, CUBIC, true>(l, job, acc, fold)
        }
        Reading::Filter { interpolation: Interpolation::Sinc8, weighted: false } => {
            sum_pair_read_with::<L, SINC8, false>(l, job, acc, fold)
        }
        Reading::Filter { interpolation: Interpolation::Sinc8, weighted: true } => {
            sum_pair_read_with::<L, SINC8, true>(l, job, acc, fold)
        }
        Reading::Triangle => sum_pair_read_with::<L, TRIANGLE, false>(l, job, acc, fold),
    }
}

/// Sinc8's weights as polynomials (module documentation): `[k][0]` the even part of tap `k`
/// (`0..4`), `[k][1]` its odd part over `g`, coefficients of `(4 g^2)^0..=4`.
type Sinc8Poly = [[[f32; 5]; 2]; 4];

/// Sinc8's polynomials, interpolating the exact weights at Chebyshev nodes of `y = 4 g^2` in
/// `[0, 1]` (near-minimax: within 2e-7 of the weights in float32, tested).
static SINC8_POLY: LazyLock<Sinc8Poly> = LazyLock::new(|| {
    const N: usize = 5;
    let nodes: Vec<f64> =
        (0..N).map(|i| 0.5 * (1.0 + ((2 * i + 1) as f64 * std::f64::consts::PI / (2 * N) as f64).cos())).collect();
    let mut poly = [[[0.0f32; N]; 2]; 4];
    for (k, tap) in poly.iter_mut().enumerate() {
        let (mut even, mut odd) = ([0.0; N], [0.0; N]);
        for (i, &y) in nodes.iter().enumerate() {
            let g = 0.5 * y.sqrt();
            let (plus, minus) = (Interpolation::Sinc8.weights(0.5 + g)[k], Interpolation::Sinc8.weights(0.5 - g)[k]);
            even[i] = 0.5 * (plus + minus);
            odd[i] = 0.5 * (plus - minus) / g;
        }
        for (part, values) in tap.iter_mut().zip([even, odd]) {
            let coefficients = solve_vandermonde(&nodes, values);
            for (c, v) in part.iter_mut().zip(coefficients) {
                *c = v as f32;
            }
        }
    }
    poly
});

/// The coefficients `c` of the polynomial through `(x[i], y[i])`: Gaussian elimination with
/// partial pivoting on the Vandermonde system, in float64.
fn solve_vandermonde<const N: usize>(x: &[f64], y: [f64; N]) -> [f64; N] {
    let mut m: Vec<[f64; N]> = x.iter().map(|&xi| std::array::from_fn(|j| xi.powi(j as i32))).collect();
    let mut rhs = y;
    for col in 0..N {
        let pivot = (col..N).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs())).unwrap_or(col);
        m.swap(col, pivot);
        rhs.swap(col, pivot);
        let (top, rest) = m.split_at_mut(col + 1);
        let (top_rhs, rest_rhs) = rhs.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (row, r) in rest.iter_mut().zip(rest_rhs.iter_mut()) {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            *r -= f * top_rhs[col];
        }
    }
    let mut c = [0.0; N];
    for row in (0..N).rev() {
        let s: f64 = (row + 1..N).map(|j| m[row][j] * c[j]).sum();
        c[row] = (rhs[row] - s) / m[row][row];
    }
    c
}

/// What the front half hands the back half.
struct Front<L: Lanes> {
    u: L::F,
    inside: L::M,
    /// The weight, or for the triangle its numerator.
    w: L::F,
    /// The triangle's weight denominator, if any weight divides.
    den: Option<L::F>,
    /// The triangle's half-length in samples.
    half_length: L::F,
}

/// The reading's constants along one pair's loop, in lanes.
struct ReadLanes<L: Lanes> {
    /// `[(p - s).e1, (p - s).e2, (p - r).e1, (p - r).e2] / dt`, so that the shift comes out in
    /// samples.
    projections: [L::F; 4],
    one: L::F,
    sinc8: [[[L::F; 5]; 2]; 4],
}

impl<L: Lanes> ReadLanes<L> {
    #[inline(always)]
    fn new<const READ: u8>(l: L, job: &PairJob<'_>) -> Self {
        let zero = l.splat(0.0);
        let mut sinc8 = [[[zero; 5]; 2]; 4];
        if READ == SINC8 {
            for (lanes, poly) in sinc8.iter_mut().zip(SINC8_POLY.iter()) {
                for (lanes, poly) in lanes.iter_mut().zip(poly) {
                    for (lane, &c) in lanes.iter_mut().zip(poly) {
                        *lane = l.splat(c);
                    }
                }
            }
        }
        let scaled = job.pair.projections.map(|p| l.splat(p * job.axis.inv_dt));
        Self { projections: scaled, one: l.splat(1.0), sinc8 }
    }

    /// One leg's time `t`, and its rate `d t / d(d^2) = b rho / (2 m)` as `(m, rho)`, `rho` 1
    /// (`None`) but for VTI (module documentation).
    #[inline(always)]
    fn leg(&self, p: &PairLanes<'_, L>, d2: L::F, a: L::F, b: L::F, eta2: L::F) -> (L::F, L::F, Option<L::F>) {
        let l = p.l;
        match p.shape {
            Shape::Straight => {
                let s = l.sqrt(l.mul_add(d2, b, a));
                (s, l.max(s, p.half_dt), None)
            }
            Shape::Curved { .. } => {
                let s = l.sqrt(l.mul_add(d2, b, a));
                let y = l.mul(p.c, s);
                // The root `asinhc` forms too: computed once.
                let r = l.sqrt(l.mul_add(y, y, self.one));
                (l.mul(s, asinhc(l, y)), l.mul(l.max(s, p.half_dt), r), None)
            }
            Shape::Vti => {
                let q = l.mul(d2, b);
                let z = l.div(q, l.max(l.mul_add(eta2, q, a), p.tiny));
                let t = l.sqrt(l.mul_add(z, l.add(a, q), a));
                // 1 - 2 eta z (2 - (1 + 2 eta) z), 2 eta = eta2 - 1.
                let rho = l.sub(self.one, l.mul(l.sub(eta2, self.one), l.mul(z, l.sub(l.splat(2.0), l.mul(eta2, z)))));
                (t, l.max(t, p.half_dt), Some(rho))
            }
        }
    }

    /// Both legs' time `t`, and the shift per output step in samples, `dT/dt`, as `b X` over
    /// `m_s m_r`: `(t, b X, m_s m_r)`.
    #[inline(always)]
    fn legs_and_shift(&self, p: &PairLanes<'_, L>, k: usize, a: L::F, b: L::F) -> (L::F, L::F, L::F) {
        let l = p.l;
        let eta2 = if p.shape == Shape::Vti { l.load(&p.eta2[k..]) } else { p.zero };
        let (ts, ms, rho_s) = self.leg(p, p.ds2, a, b, eta2);
        let (tr, mr, rho_r) = self.leg(p, p.dr2, a, b, eta2);
        // 2 rate_s P_s + 2 rate_r P_r = b (rho_s m_r P_s + rho_r m_s P_r) / (m_s m_r).
        let (cs, cr) = match (rho_s, rho_r) {
            (Some(rs), Some(rr)) => (l.mul(rs, mr), l.mul(rr, ms)),
            _ => (mr, ms),
        };
        let [s1, s2, r1, r2] = self.projections;
        let x1 = l.mul_add(s1, cs, l.mul(r1, cr));
        let x2 = l.mul_add(s2, cs, l.mul(r2, cr));
        (l.add(ts, tr), l.mul(b, l.max(l.abs(x1), l.abs(x2))), l.mul(ms, mr))
    }

    /// The front half at output sample `k` (as the plain loop's, plus the shift).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn front<const READ: u8, const WEIGHTED: bool>(
        &self,
        p: &PairLanes<'_, L>,
        k: usize,
        a: &[f32],
        b: &[f32],
        weight_num: &[f32],
        spreading: bool,
        obliquity: bool,
    ) -> Front<L> {
        let l = p.l;
        let (a, b) = (l.load(a), l.load(b));
        let antialiased = WEIGHTED || READ == TRIANGLE;
        let (t, bx, m2) =
            if antialiased { self.legs_and_shift(p, k, a, b) } else { (p.two_way(k, a, b), p.zero, p.zero) };
        // The triangle's own test of the trace's ends implies `0 <= u < n - 1`.
        let (u, inside, mut w) = p.place(k, t, READ == TRIANGLE);
        let mut den = p.weight_den(t, spreading, obliquity);
        if den.is_some() {
            w = l.mul(w, l.load(weight_num));
        }
        let mut half_length = self.one;
        if WEIGHTED {
            // min(1, dt/dT) = m_s m_r / max(b X, m_s m_r).
            w = l.mul(w, m2);
            let aa = l.max(bx, m2);
            den = Some(match den {
                Some(d) => l.mul(d, aa),
                None => aa,
            });
        }
        if READ == TRIANGLE {
            // l = max(dT / dt, 1).
            half_length = l.max(l.div(bx, m2), self.one);
            return Front { u, inside, w, den, half_length };
        }
        if let Some(d) = den {
            w = l.div(w, d);
        }
        Front { u, inside, w, den: None, half_length }
    }

    /// The back half: the weighted read and the lanes that contribute.
    #[inline(always)]
    fn back<const READ: u8>(&self, p: &PairLanes<'_, L>, trace: &[f32], f: &Front<L>) -> (L::F, L::M) {
        let l = p.l;
        match READ {
            CUBIC => {
                let i = l.floor(f.u);
                let x = l.sub(f.u, i);
                let [s0, s1, s2, s3] = l.taps::<4>(trace, i, f.inside);
                let [w0, w1, w2, w3] = self.cubic_weights(l, x);
                let s = l.mul_add(w3, s3, l.mul_add(w2, s2, l.mul_add(w1, s1, l.mul(w0, s0))));
                (l.mul(f.w, s), f.inside)
            }
            SINC8 => {
                let i = l.floor(f.u);
                let g = l.sub(l.sub(f.u, i), l.splat(0.5));
                let taps = l.taps::<8>(trace, i, f.inside);
                // Taps k and 7 - k weigh E(y) + g O(y) and E(y) - g O(y): the odd parts are summed
                // first and multiplied by g once.
                let y = l.mul(l.splat(4.0), l.mul(g, g));
                let (mut even, mut odd) = (p.zero, p.zero);
                for (k, [e, o]) in self.sinc8.iter().enumerate() {
                    even = l.mul_add(horner(l, e, y), l.add(taps[k], taps[7 - k]), even);
                    odd = l.mul_add(horner(l, o, y), l.sub(taps[k], taps[7 - k]), odd);
                }
                (l.mul(f.w, l.mul_add(g, odd, even)), f.inside)
            }
            TRIANGLE => self.triangle(p, trace, f),
            _ => (l.mul(f.w, l.interp(trace, f.u, f.inside)), f.inside),
        }
    }

    /// Keys' cubic (`a = -1/2`) weights of samples `i - 1 ..= i + 2` at fraction `x`.
    #[inline(always)]
    fn cubic_weights(&self, l: L, x: L::F) -> [L::F; 4] {
        let x2 = l.mul(x, x);
        let (half, minus_half) = (l.splat(0.5), l.splat(-0.5));
        [
            l.mul(l.mul_add(l.mul_add(minus_half, x, self.one), x, minus_half), x),
            l.mul_add(l.mul_add(l.splat(1.5), x, l.splat(-2.5)), x2, self.one),
            l.mul(l.mul_add(l.mul_add(l.splat(-1.5), x, l.splat(2.0)), x, half), x),
            l.mul(l.mul_add(half, x, minus_half), x2),
        ]
    }

    /// `(2 I(u) - I(u - l) - I(u + l)) / (l^2 - 2 e(u) + e(u - l) + e(u + l))` times the weight,
    /// where the triangle stays inside the trace (module documentation).
    #[inline(always)]
    fn triangle(&self, p: &PairLanes<'_, L>, trace: &[f32], f: &Front<L>) -> (L::F, L::M) {
        let l = p.l;
        let hl = f.half_length;
        let iu = l.floor(f.u);
        let fu = l.sub(f.u, iu);
        let (qm, qp) = (l.sub(fu, hl), l.add(fu, hl));
        let (im, ip) = (l.floor(qm), l.floor(qp));
        let (fm, fp) = (l.sub(qm, im), l.sub(qp, ip));
        let (index_m, index_p) = (l.add(iu, im), l.add(iu, ip));
        // u - l >= 0 and u + l < n - 1, on the exact integer parts.
        let inside = l.and(f.inside, l.and(l.ge(index_m, p.zero), l.lt(index_p, p.last)));
        let [a0, a1] = l.taps::<2>(trace, index_m, inside);
        let [b0, b1] = l.taps::<2>(trace, iu, inside);
        let [c0, c1] = l.taps::<2>(trace, index_p, inside);
        // Relative to I[iu] (sample differences are exact): I(u - l) - I[iu] + I(u + l) - I[iu]
        // from twice I(u) - I[iu].
        let sides = l.mul_add(fm, l.sub(a1, a0), l.mul_add(fp, l.sub(c1, c0), l.add(l.sub(a0, b0), l.sub(c0, b0))));
        let db = l.sub(b1, b0);
        let num = l.mul_sub(fu, l.add(db, db), sides);
        // l^2 + e(u - l) + e(u + l) - 2 e(u), 2 e(f) = f - f^2.
        let bends = l.add(bend(l, fm), bend(l, fp));
        let mut den = l.sub(l.mul_add(l.splat(0.5), bends, l.mul(hl, hl)), bend(l, fu));
        if let Some(d) = f.den {
            den = l.mul(den, d);
        }
        (l.div(l.mul(f.w, num), den), inside)
    }
}

/// `2 e(f) = f - f^2`: twice the error of reading a double integral linearly at fraction `f`,
/// per unit of its curvature ([`pstm_math::antialias::triangle`]).
#[inline(always)]
fn bend<L: Lanes>(l: L, f: L::F) -> L::F {
    l.neg_mul_add(f, f, f)
}

/// `c[0] + c[1] y + ... + c[4] y^4`.
#[inline(always)]
fn horner<L: Lanes>(l: L, c: &[L::F; 5], y: L::F) -> L::F {
    let mut v = c[4];
    for &ci in c[..4].iter().rev() {
        v = l.mul_add(v, y, ci);
    }
    v
}

#[inline(always)]
fn sum_pair_read_with<L: Lanes, const READ: u8, const WEIGHTED: bool>(
    l: L,
    job: &PairJob<'_>,
    acc: &mut [f32],
    fold: &mut [u32],
) {
    let PairJob { column: col, pair, trace, spreading, obliquity, .. } = job;
    let (spreading, obliquity) = (*spreading, *obliquity);
    let lanes = PairLanes::new(l, job, pair.per_sample_aperture);
    let read = ReadLanes::new::<READ>(l, job);
    let range = pair.samples.clone();
    let mut fronts = range.clone().step_by(L::N).zip(
        vectors::<L>(col.leg_a, &range).zip(vectors::<L>(col.leg_b, &range)).zip(vectors::<L>(col.weight_num, &range)),
    );
    let sums = acc[range.clone()].chunks_exact_mut(L::N).zip(fold[range].chunks_exact_mut(L::N));
    // Software pipelined as the plain loop; `match` rather than `Option::map` and a closure.
    let Some((k, ((a, b), weight_num))) = fronts.next() else { return };
    let mut current = read.front::<READ, WEIGHTED>(&lanes, k, a, b, weight_num, spreading, obliquity);
    for (acc, fold) in sums {
        let next = match fronts.next() {
            Some((k, ((a, b), weight_num))) => {
                Some(read.front::<READ, WEIGHTED>(&lanes, k, a, b, weight_num, spreading, obliquity))
            }
            None => None,
        };
        let (v, inside) = read.back::<READ>(&lanes, trace, &current);
        l.accumulate(acc, fold, v, inside);
        match next {
            Some(n) => current = n,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::lanes::Portable;

    #[test]
    fn lane_filter_weights_match_the_formula() {
        let read = ReadLanes::<Portable> {
            projections: [[0.0; 8]; 4],
            one: [1.0; 8],
            sinc8: SINC8_POLY.map(|tap| tap.map(|part| part.map(|c| [c; 8]))),
        };
        let (mut cubic, mut sinc8) = (0.0f64, 0.0f64);
        for i in 0..=4000 {
            let f = i as f64 / 4000.0 * 0.999_999;
            let w = read.cubic_weights(Portable, [f as f32; 8]);
            for (k, e) in Interpolation::Cubic.weights(f).iter().enumerate() {
                cubic = cubic.max((w[k][0] as f64 - e).abs());
            }
            let g = [(f - 0.5) as f32; 8];
            let y = Portable.mul(Portable.splat(4.0), Portable.mul(g, g));
            let exact = Interpolation::Sinc8.weights(f);
            for (k, [even, odd]) in read.sinc8.iter().enumerate() {
                let (e, o) = (horner(Portable, even, y)[0] as f64, horner(Portable, odd, y)[0] as f64 * g[0] as f64);
                sinc8 = sinc8.max((e + o - exact[k]).abs()).max((e - o - exact[7 - k]).abs());
            }
        }
        println!("lane weights against the formula: cubic {cubic:.1e}, sinc8 {sinc8:.1e}");
        assert!(cubic < 3e-7 && sinc8 < 4e-7, "{cubic:.1e}, {sinc8:.1e}");
    }

    #[test]
    fn lane_floor_and_taps_read_what_they_should() {
        let x = [-2.5f32, -1.0, -0.25, 0.0, 0.75, 1.0, 3.5, 1e6];
        assert_eq!(Portable.floor(x), [-3.0, -1.0, -1.0, 0.0, 0.0, 1.0, 3.0, 1e6]);
        let trace: Vec<f32> = (0..20).map(|i| i as f32).collect();
        let taps = Portable.taps::<4>(&trace, [0.0, 3.0, 16.0, 30.0, -4.0, 7.0, 1.0, 2.0], [true; 8]);
        assert_eq!(taps[0], [0.0, 3.0, 16.0, 16.0, 0.0, 7.0, 1.0, 2.0]);
        assert_eq!(taps[3], [3.0, 6.0, 19.0, 19.0, 3.0, 10.0, 4.0, 5.0]);
    }
}
