//! Per-tile tables: everything per output sample that does not depend on the trace.
//!
//! The traveltime depends on `t0` through `(t0/2)^2` and on the velocity only through `1/v^2`,
//! the weights through a numerator `(1/v) * t0` (whichever factors are switched on), the dip
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
    pub half_t0_sq: Vec<f32>,
    /// The stretch mute's largest traveltime per output sample, when there is a stretch mute.
    pub stretch_limit: Option<Vec<f32>>,
    pub columns: Vec<VelocityColumn>,
}

/// The tables of one velocity column.
pub(crate) struct VelocityColumn {
    pub inv_v2: Vec<f32>,
    /// `1/v` if spreading (`1/sqrt(v)` on a 2D line), times `t0` if obliquity (`TINY` for
    /// `t0 = 0`), 1 otherwise.
    pub weight_num: Vec<f32>,
    pub dip: Option<DipTables>,
    pub v_min: f64,
    pub v_max: f64,
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
    pub half_t0_sq: &'a [f32],
    pub stretch_limit: Option<&'a [f32]>,
    pub inv_v2: &'a [f32],
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
        let half_t0_sq = padded(
            nt_padded,
            (0..nt).map(|it| {
                let t0 = task.time.time(it);
                0.25 * t0 * t0
            }),
        );
        let stretch_limit = task
            .operator
            .stretch_mute
            .map(|_| padded(nt_padded, (0..nt).map(|it| task.operator.stretch_limit(task.time.time(it)))));
        let columns = (0..task.velocity.n_columns).map(|vc| VelocityColumn::new(task, vc, nt_padded)).collect();
        Self { nt, nt_padded, half_t0_sq, stretch_limit, columns }
    }

    /// The tables of output column `c`.
    pub fn velocity_column(&self, c: usize) -> &VelocityColumn {
        &self.columns[if self.columns.len() == 1 { 0 } else { c }]
    }

    pub fn view(&self, c: usize) -> ColumnView<'_> {
        let col = self.velocity_column(c);
        ColumnView {
            half_t0_sq: &self.half_t0_sq,
            stretch_limit: self.stretch_limit.as_deref(),
            inv_v2: &col.inv_v2,
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
        let inv_v2 = padded(nt_padded, vrms.iter().map(|v| 1.0 / (v * v)));
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
            inv_v2,
            weight_num,
            dip,
            v_min: min(&vrms),
            v_max: max(&vrms),
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
