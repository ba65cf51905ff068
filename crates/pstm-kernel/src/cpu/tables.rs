//! Per-tile tables: everything per output sample that does not depend on the trace.
//!
//! A leg's traveltime starts from `s^2 = a + d^2 b` ([`pstm_math::traveltime`]): `a` depends on
//! the output time only (`(t0/2)^2`, times a curved ray's factor), `b` on the velocity too
//! (`1/v^2`, or a curved ray's), and a VTI leg reads `1 + 2 eta` as well; the weights through a numerator `(1/v) * t0` (whichever factors are switched on), the dip
//! aperture through its radius and taper start. All are computed once per tile in float64 and
//! stored as float32, padded to a whole number of vectors so the loop never runs short. Tables
//! that depend on the velocity exist once per velocity column: once per tile when the velocity
//! does not vary laterally.

use pstm_math::{ApertureMode, TaperKind};

use super::sum::TINY;
use crate::TileTask;

/// Widest vector of any backend, in float32 lanes; tables are padded to a multiple of it.
pub(crate) const MAX_LANES: usize = 16;

pub(crate) struct TileTables {
    pub nt: usize,
    /// `nt` rounded up to a multiple of [`MAX_LANES`]: the stride of every per-column array.
    pub nt_padded: usize,
    /// `a` of the leg law per output sample.
    pub leg_a: Vec<f32>,
    /// The largest ratio of `a` to `(t0/2)^2` (1 but for a curved ray): the sample-range bounds'.
    pub a_factor_max: f64,
    /// How `s` becomes a leg's time.
    pub shape: Shape,
    /// The stretch mute's largest traveltime per output sample, when there is a stretch mute.
    pub stretch_limit: Option<Vec<f32>>,
    pub columns: Vec<VelocityColumn>,
}

/// The traveltime type as the loop computes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    Straight,
    /// `c = k/2`, made non-negative (the law is even in `c`).
    Curved {
        c: f32,
    },
    Vti,
}

/// The tables of one velocity column.
pub(crate) struct VelocityColumn {
    /// `b` of the leg law per output sample.
    pub leg_b: Vec<f32>,
    /// `1 + 2 eta` per output sample (VTI only).
    pub eta2: Option<Vec<f32>>,
    /// Smallest and largest `b` (the sample-range bounds').
    pub b_min: f64,
    pub b_max: f64,
    /// Smallest and largest `eta` (0 and 0 but for VTI).
    pub eta_min: f64,
    pub eta_max: f64,
    /// `1/v` if spreading (`1/sqrt(v)` on a 2D line), times `t0` if obliquity (`TINY` for
    /// `t0 = 0`), 1 otherwise.
    pub weight_num: Vec<f32>,
    pub dip: Option<DipTables>,
    /// Largest aperture radius over the column's samples.
    pub radius_max: f64,
    /// Smallest taper start: a trace at most this far from the column is inside the aperture
    /// with weight 1 at every sample.
    pub taper_start_min: f64,
    /// The dip aperture's radius per sample, where it never shrinks with time (the usual case:
    /// `v t0` grows): a trace then enters the aperture at one sample and stays.
    pub growing_radius: Option<Vec<f64>>,
}

pub(crate) struct DipTables {
    pub kind: TaperKind,
    pub radius: Vec<f32>,
    pub taper_start: Vec<f32>,
    /// `1 / (radius - taper_start)`, 0 where the taper has no width.
    pub inv_taper_width: Vec<f32>,
}

/// What the loop reads for one column.
pub(crate) struct ColumnView<'a> {
    pub leg_a: &'a [f32],
    pub stretch_limit: Option<&'a [f32]>,
    pub leg_b: &'a [f32],
    pub eta2: Option<&'a [f32]>,
    pub shape: Shape,
    pub weight_num: &'a [f32],
    pub dip: Option<DipView<'a>>,
}

pub(crate) struct DipView<'a> {
    pub kind: TaperKind,
    pub radius: &'a [f32],
    pub taper_start: &'a [f32],
    pub inv_taper_width: &'a [f32],
}

impl TileTables {
    pub fn new(task: &TileTask<'_>) -> Self {
        let nt = task.time.nt;
        let nt_padded = nt.div_ceil(MAX_LANES) * MAX_LANES;
        let op = task.operator;
        // `a` does not depend on the velocity: the law at any velocity gives it.
        let a: Vec<f64> = (0..nt).map(|it| op.leg_law(task.time.time(it), 1.0, 0.0).a).collect();
        let a_factor_max = (0..nt)
            .map(|it| {
                let t0 = task.time.time(it);
                if t0 == 0.0 { 1.0 } else { a[it] / (0.25 * t0 * t0) }
            })
            .fold(1.0, f64::max);
        let leg_a = padded(nt_padded, a.iter().copied());
        let shape = match op.leg_law(1.0, 1.0, 0.0).shape {
            pstm_math::LegShape::Straight => Shape::Straight,
            pstm_math::LegShape::Curved { c } => Shape::Curved { c: c.abs() as f32 },
            pstm_math::LegShape::Vti { .. } => Shape::Vti,
        };
        let stretch_limit = task
            .operator
            .stretch_mute
            .map(|_| padded(nt_padded, (0..nt).map(|it| task.operator.stretch_limit(task.time.time(it)))));
        let columns = (0..task.velocity.n_columns).map(|vc| VelocityColumn::new(task, vc, nt_padded)).collect();
        Self { nt, nt_padded, leg_a, a_factor_max, shape, stretch_limit, columns }
    }

    /// The tables of output column `c`.
    pub fn velocity_column(&self, c: usize) -> &VelocityColumn {
        &self.columns[if self.columns.len() == 1 { 0 } else { c }]
    }

    pub fn view(&self, c: usize) -> ColumnView<'_> {
        let col = self.velocity_column(c);
        ColumnView {
            leg_a: &self.leg_a,
            stretch_limit: self.stretch_limit.as_deref(),
            leg_b: &col.leg_b,
            eta2: col.eta2.as_deref(),
            shape: self.shape,
            weight_num: &col.weight_num,
            dip: col.dip.as_ref().map(|d| DipView {
                kind: d.kind,
                radius: &d.radius,
                taper_start: &d.taper_start,
                inv_taper_width: &d.inv_taper_width,
            }),
        }
    }
}

impl VelocityColumn {
    fn new(task: &TileTask<'_>, vc: usize, nt_padded: usize) -> Self {
        let params = task.operator;
        let vrms: Vec<f64> = task.velocity.values[vc * task.velocity.nt..(vc + 1) * task.velocity.nt]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let t0 = |it: usize| task.time.time(it);
        let eta: Option<Vec<f64>> = task.velocity.eta_column(vc).map(|e| e.iter().map(|&x| x as f64).collect());
        let laws: Vec<pstm_math::LegLaw> = vrms
            .iter()
            .enumerate()
            .map(|(it, &v)| params.leg_law(t0(it), v, eta.as_ref().map_or(0.0, |e| e[it])))
            .collect();
        let leg_b = padded(nt_padded, laws.iter().map(|l| l.b));
        let eta2 = match params.traveltime {
            pstm_math::Traveltime::Vti => eta.as_ref().map(|e| padded(nt_padded, e.iter().map(|e| 1.0 + 2.0 * e))),
            _ => None,
        };
        let (eta_min, eta_max) = eta.as_ref().filter(|_| eta2.is_some()).map_or((0.0, 0.0), |e| {
            (e.iter().copied().fold(f64::INFINITY, f64::min), e.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        });
        let weight_num = padded(
            nt_padded,
            vrms.iter().enumerate().map(|(it, v)| {
                let spreading = match (params.weights.spreading, params.weights.line) {
                    (false, _) => 1.0,
                    (true, false) => 1.0 / v,
                    (true, true) => 1.0 / v.sqrt(),
                };
                let obliquity = match (params.weights.obliquity, t0(it)) {
                    (false, _) => 1.0,
                    (true, 0.0) => TINY as f64,
                    (true, t0) => t0,
                };
                spreading * obliquity
            }),
        );
        let radius: Vec<f64> = vrms.iter().enumerate().map(|(it, &v)| params.aperture.radius(t0(it), v)).collect();
        // As in `Taper::weight`: no taper means weight 1 all the way to the radius.
        let taper_start: Vec<f64> = radius
            .iter()
            .map(|&a| if params.taper.kind == TaperKind::None { a } else { (a * (1.0 - params.taper.fraction)).min(a) })
            .collect();
        let dip = (params.aperture.mode == ApertureMode::Dip).then(|| DipTables {
            kind: params.taper.kind,
            radius: padded(nt_padded, radius.iter().copied()),
            taper_start: padded(nt_padded, taper_start.iter().copied()),
            inv_taper_width: padded(
                nt_padded,
                radius.iter().zip(&taper_start).map(|(&a, &ts)| if a > ts { 1.0 / (a - ts) } else { 0.0 }),
            ),
        });
        let min = |s: &[f64]| s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = |s: &[f64]| s.iter().copied().fold(0.0, f64::max);
        Self {
            b_min: laws.iter().map(|l| l.b).fold(f64::INFINITY, f64::min),
            b_max: laws.iter().map(|l| l.b).fold(0.0, f64::max),
            leg_b,
            eta2,
            eta_min,
            eta_max,
            weight_num,
            dip,
            radius_max: max(&radius),
            taper_start_min: min(&taper_start),
            growing_radius: (params.aperture.mode == ApertureMode::Dip && radius.is_sorted()).then_some(radius),
        }
    }
}

/// `values` as float32, padded to `n` by repeating the last value (padding lanes compute
/// something finite and are never read back).
fn padded(n: usize, values: impl Iterator<Item = f64>) -> Vec<f32> {
    let mut out: Vec<f32> = values.map(|v| v as f32).collect();
    let last = out.last().copied().unwrap_or(0.0);
    out.resize(n, last);
    out
}
