//! Velocity functions, Dix conversion, and sampling a model at output positions.
//!
//! Migration needs the RMS velocity `Vrms(x, y, t0)` at every output sample. Users describe it as
//! a constant, a linear function of time `v0 + k t`, a table of `(t, v)` picks, or a 3D cube, and
//! declare it either RMS or interval. Interval velocities are converted to RMS by Dix's equation,
//!
//! ```text
//! Vrms(t)^2 = (1/t) * integral from 0 to t of Vint(tau)^2 dtau,
//! ```
//!
//! evaluated exactly for the piecewise-linear interval functions used here (a linear `Vint`
//! squared is a quadratic, integrated in closed form per segment). Tables interpolate linearly
//! between picks and hold the end values beyond them.
//!
//! [`VelocityModel::sample`] is the one function every kernel uses to get velocities for a tile.

use serde::{Deserialize, Serialize};

/// Whether a user's velocities are RMS (stacking) or interval velocities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VelocityType {
    #[default]
    Rms,
    Interval,
}

/// A velocity function as the user gave it, before conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum VelocityFunction {
    /// One velocity everywhere (m/s).
    Constant(f64),
    /// `v(t) = v0 + k t`, t in seconds of two-way time.
    Linear { v0: f64, k: f64 },
    /// Picks `(t_s, v)`, times strictly increasing.
    Table { times: Vec<f64>, velocities: Vec<f64> },
    /// A regular cube over world x, y and two-way time.
    Cube(VelocityCube),
}

/// Velocities on a regular `(nx, ny, nt)` grid (C order), axis-aligned in world coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct VelocityCube {
    pub x0: f64,
    pub dx: f64,
    pub nx: usize,
    pub y0: f64,
    pub dy: f64,
    pub ny: usize,
    pub t0: f64,
    pub dt: f64,
    pub nt: usize,
    pub data: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VelocityError {
    #[error("velocity {value} m/s {at} is not a positive finite number")]
    NotPositive { value: f64, at: String },
    #[error("velocity table is empty")]
    EmptyTable,
    #[error("velocity table has {times} times but {velocities} velocities")]
    TableLengthMismatch { times: usize, velocities: usize },
    #[error("velocity table time {value} s at pick {index} is not a finite number")]
    TimeNotFinite { index: usize, value: f64 },
    #[error("velocity table times must increase strictly: pick {index} has t = {t} s after t = {previous} s")]
    NotMonotonic { index: usize, t: f64, previous: f64 },
    #[error(
        "an interval-velocity table needs at least two picks to define an interval; \
         for one velocity everywhere use a constant velocity"
    )]
    SingleIntervalPick,
    #[error("velocity cube axis {axis}: {problem}")]
    BadCubeAxis { axis: &'static str, problem: String },
    #[error("velocity cube holds {got} values but its axes need {expected}")]
    CubeSize { got: usize, expected: usize },
    #[error("{cube} cube does not cover the output: {what} ({value:.3}) lies outside the cube's {range}")]
    CubeDoesNotCover { cube: &'static str, what: String, value: f64, range: String },
    #[error("eta {value} {at} is outside [{min}, {max}]", min = ETA_RANGE.0, max = ETA_RANGE.1)]
    EtaOutOfRange { value: f64, at: String },
}

/// The anellipticities a VTI job accepts: measured values lie within about [-0.05, 0.4]; the
/// traveltime's bounds need `1 + 2 eta > 0`.
pub const ETA_RANGE: (f64, f64) = (-0.2, 1.0);

/// The anellipticity `eta` of a VTI medium (`algorithm.traveltime: vti`), as a function of
/// two-way time and position like the velocity.
#[derive(Debug, Clone, PartialEq)]
pub enum Eta {
    Constant(f64),
    /// Picks `(t_s, eta)`, times strictly increasing, interpolated linearly and held beyond.
    Table {
        times: Vec<f64>,
        values: Vec<f64>,
    },
    /// A regular cube over world x, y and two-way time, interpolated like a velocity cube.
    Cube(VelocityCube),
}

impl Eta {
    fn check(&self) -> Result<(), VelocityError> {
        let within = |value: f64, at: &dyn Fn() -> String| {
            if value >= ETA_RANGE.0 && value <= ETA_RANGE.1 {
                Ok(())
            } else {
                Err(VelocityError::EtaOutOfRange { value, at: at() })
            }
        };
        match self {
            Eta::Constant(e) => within(*e, &|| "(constant eta)".into()),
            Eta::Table { times, values } => {
                check_times(times, values.len())?;
                for (i, &e) in values.iter().enumerate() {
                    within(e, &|| format!("(eta table pick {i})"))?;
                }
                Ok(())
            }
            Eta::Cube(cube) => {
                cube.check_axes()?;
                for (i, &e) in cube.data.iter().enumerate() {
                    let (ix, iy, it) = (i / (cube.ny * cube.nt), (i / cube.nt) % cube.ny, i % cube.nt);
                    within(e as f64, &|| format!("in the eta cube at index ({ix}, {iy}, {it})"))?;
                }
                Ok(())
            }
        }
    }

    /// Eta at world position `(x, y)` and two-way time `t` (s).
    pub fn at(&self, x: f64, y: f64, t: f64) -> f64 {
        match self {
            Eta::Constant(e) => *e,
            Eta::Table { times, values } => interp_table(times, values, t),
            Eta::Cube(cube) => cube.sample(x, y, t),
        }
    }
}

/// A validated model that answers RMS velocities.
#[derive(Debug, Clone, PartialEq)]
pub struct VelocityModel {
    rms: Rms,
    eta: Option<Eta>,
}

#[derive(Debug, Clone, PartialEq)]
enum Rms {
    Constant(f64),
    Linear {
        v0: f64,
        k: f64,
    },
    /// RMS velocity of the interval function `v0 + k t`.
    DixLinear {
        v0: f64,
        k: f64,
    },
    Table {
        times: Vec<f64>,
        velocities: Vec<f64>,
    },
    DixTable(DixTable),
    Cube(VelocityCube),
}

/// A piecewise-linear interval function with the running integral of `Vint^2` at each pick.
#[derive(Debug, Clone, PartialEq)]
struct DixTable {
    times: Vec<f64>,
    vint: Vec<f64>,
    /// `integral_0^{times[i]} Vint^2`.
    cumulative: Vec<f64>,
}

impl DixTable {
    fn new(times: Vec<f64>, vint: Vec<f64>) -> Self {
        let mut cumulative = Vec::with_capacity(times.len());
        // Before the first pick the first velocity holds.
        let mut acc = vint[0] * vint[0] * times[0].max(0.0);
        cumulative.push(acc);
        for i in 1..times.len() {
            acc += segment_integral(vint[i - 1], vint[i], times[i] - times[i - 1], times[i] - times[i - 1]);
            cumulative.push(acc);
        }
        Self { times, vint, cumulative }
    }

    fn vrms(&self, t: f64) -> f64 {
        let n = self.times.len();
        if t <= 0.0 {
            return self.vint[0];
        }
        let integral = if t <= self.times[0] {
            self.vint[0] * self.vint[0] * t
        } else if t >= self.times[n - 1] {
            self.cumulative[n - 1] + self.vint[n - 1] * self.vint[n - 1] * (t - self.times[n - 1])
        } else {
            let i = self.times.partition_point(|&x| x <= t) - 1;
            let len = self.times[i + 1] - self.times[i];
            self.cumulative[i] + segment_integral(self.vint[i], self.vint[i + 1], len, t - self.times[i])
        };
        (integral / t).sqrt()
    }
}

/// `integral_0^s (a + (b - a) tau / len)^2 dtau`: the squared linear interval velocity over the
/// first `s` seconds of a segment of length `len` running from `a` to `b`.
fn segment_integral(a: f64, b: f64, len: f64, s: f64) -> f64 {
    let g = (b - a) / len;
    a * a * s + a * g * s * s + g * g * s * s * s / 3.0
}

fn check_positive(value: f64, at: impl FnOnce() -> String) -> Result<(), VelocityError> {
    if value.is_finite() && value > 0.0 { Ok(()) } else { Err(VelocityError::NotPositive { value, at: at() }) }
}

fn check_table(times: &[f64], velocities: &[f64]) -> Result<(), VelocityError> {
    check_times(times, velocities.len())?;
    for (i, (&t, &v)) in times.iter().zip(velocities).enumerate() {
        check_positive(v, || format!("at pick {i} (t = {t} s)"))?;
    }
    Ok(())
}

/// A table's times: as many as its values, finite, strictly increasing.
fn check_times(times: &[f64], n_values: usize) -> Result<(), VelocityError> {
    if times.is_empty() {
        return Err(VelocityError::EmptyTable);
    }
    if times.len() != n_values {
        return Err(VelocityError::TableLengthMismatch { times: times.len(), velocities: n_values });
    }
    for (i, &t) in times.iter().enumerate() {
        if !t.is_finite() {
            return Err(VelocityError::TimeNotFinite { index: i, value: t });
        }
        if i > 0 && t <= times[i - 1] {
            return Err(VelocityError::NotMonotonic { index: i, t, previous: times[i - 1] });
        }
    }
    Ok(())
}

impl VelocityCube {
    fn check(&self) -> Result<(), VelocityError> {
        self.check_axes()?;
        for (i, &v) in self.data.iter().enumerate() {
            let (ix, iy, it) = (i / (self.ny * self.nt), (i / self.nt) % self.ny, i % self.nt);
            check_positive(v as f64, || format!("in the velocity cube at index ({ix}, {iy}, {it})"))?;
        }
        Ok(())
    }

    fn check_axes(&self) -> Result<(), VelocityError> {
        for (axis, d, n) in [("x", self.dx, self.nx), ("y", self.dy, self.ny), ("t", self.dt, self.nt)] {
            if n == 0 {
                return Err(VelocityError::BadCubeAxis { axis, problem: "has no samples".into() });
            }
            if !(d.is_finite() && d > 0.0) {
                return Err(VelocityError::BadCubeAxis { axis, problem: format!("spacing {d} is not positive") });
            }
        }
        let expected = self.nx * self.ny * self.nt;
        if self.data.len() != expected {
            return Err(VelocityError::CubeSize { got: self.data.len(), expected });
        }
        Ok(())
    }

    /// Replace each column's interval velocities by RMS velocities at the same times.
    fn dix_in_place(&mut self) {
        let times: Vec<f64> = (0..self.nt).map(|i| self.t0 + i as f64 * self.dt).collect();
        for col in self.data.chunks_mut(self.nt) {
            if self.nt == 1 {
                continue;
            }
            let table = DixTable::new(times.clone(), col.iter().map(|&v| v as f64).collect());
            for (v, &t) in col.iter_mut().zip(&times) {
                *v = table.vrms(t) as f32;
            }
        }
    }

    /// The lateral cell holding world `(x, y)`: the lower corner's indices along x and y and the
    /// fractions towards the next corner, as [`VelocityModel::vrms`] interpolates (GPU kernels
    /// receive these instead of the world position).
    pub fn lateral_cell(&self, x: f64, y: f64) -> ([usize; 2], [f64; 2]) {
        let (ix, fx) = Self::position(self.x0, self.dx, self.nx, x);
        let (iy, fy) = Self::position(self.y0, self.dy, self.ny, y);
        ([ix, iy], [fx, fy])
    }

    /// The cell along the time axis holding two-way time `t` (s): lower index and fraction.
    pub fn time_cell(&self, t: f64) -> (usize, f64) {
        Self::position(self.t0, self.dt, self.nt, t)
    }

    /// Fractional index along an axis, clamped to the cube (callers check coverage first).
    fn position(o: f64, d: f64, n: usize, x: f64) -> (usize, f64) {
        let u = ((x - o) / d).clamp(0.0, (n - 1) as f64);
        let i = (u as usize).min(n.saturating_sub(2));
        (i, if n > 1 { u - i as f64 } else { 0.0 })
    }

    fn at(&self, ix: usize, iy: usize, it: usize) -> f64 {
        self.data[(ix * self.ny + iy) * self.nt + it] as f64
    }

    /// Trilinear interpolation.
    fn sample(&self, x: f64, y: f64, t: f64) -> f64 {
        let (ix, fx) = Self::position(self.x0, self.dx, self.nx, x);
        let (iy, fy) = Self::position(self.y0, self.dy, self.ny, y);
        let (it, ft) = Self::position(self.t0, self.dt, self.nt, t);
        let jx = (ix + 1).min(self.nx - 1);
        let jy = (iy + 1).min(self.ny - 1);
        let jt = (it + 1).min(self.nt - 1);
        let lerp = |a: f64, b: f64, f: f64| a + f * (b - a);
        let c = |ax, ay| lerp(self.at(ax, ay, it), self.at(ax, ay, jt), ft);
        lerp(lerp(c(ix, iy), c(ix, jy), fy), lerp(c(jx, iy), c(jx, jy), fy), fx)
    }

    fn axis_range(o: f64, d: f64, n: usize) -> (f64, f64) {
        (o, o + (n - 1) as f64 * d)
    }
}

/// Velocities for one tile: `values[c * nt + it]` is the RMS velocity (m/s) at column `c`, output
/// time sample `it`. A laterally invariant model stores one column shared by all.
#[derive(Debug, Clone, PartialEq)]
pub struct TileVelocity {
    pub values: Vec<f32>,
    pub n_columns: usize,
    pub nt: usize,
    /// A VTI model's eta, laid out as `values`; empty without one.
    pub eta: Vec<f32>,
}

impl TileVelocity {
    /// Velocities of column `c` (of the tile's columns), one per output time sample.
    pub fn column(&self, c: usize) -> &[f32] {
        let c = if self.n_columns == 1 { 0 } else { c };
        &self.values[c * self.nt..(c + 1) * self.nt]
    }

    /// Eta of column `c`, or `None` without an eta model.
    pub fn eta_column(&self, c: usize) -> Option<&[f32]> {
        let c = if self.n_columns == 1 { 0 } else { c };
        (!self.eta.is_empty()).then(|| &self.eta[c * self.nt..(c + 1) * self.nt])
    }

    pub fn is_laterally_invariant(&self) -> bool {
        self.n_columns == 1
    }
}

impl VelocityModel {
    /// Validate a user's function and convert it to RMS velocities.
    pub fn new(function: VelocityFunction, kind: VelocityType) -> Result<Self, VelocityError> {
        let rms = match (function, kind) {
            (VelocityFunction::Constant(v), _) => {
                check_positive(v, || "(constant velocity)".into())?;
                Rms::Constant(v)
            }
            (VelocityFunction::Linear { v0, k }, kind) => {
                check_positive(v0, || "(v0 of the linear velocity)".into())?;
                if !k.is_finite() {
                    return Err(VelocityError::NotPositive { value: k, at: "(gradient k)".into() });
                }
                match kind {
                    VelocityType::Rms => Rms::Linear { v0, k },
                    VelocityType::Interval => Rms::DixLinear { v0, k },
                }
            }
            (VelocityFunction::Table { times, velocities }, kind) => {
                check_table(&times, &velocities)?;
                match kind {
                    VelocityType::Rms => Rms::Table { times, velocities },
                    VelocityType::Interval => {
                        if times.len() < 2 {
                            return Err(VelocityError::SingleIntervalPick);
                        }
                        Rms::DixTable(DixTable::new(times, velocities))
                    }
                }
            }
            (VelocityFunction::Cube(mut cube), kind) => {
                cube.check()?;
                if kind == VelocityType::Interval {
                    cube.dix_in_place();
                }
                Rms::Cube(cube)
            }
        };
        Ok(Self { rms, eta: None })
    }

    /// Shorthand for a constant RMS velocity.
    pub fn constant(v: f64) -> Self {
        Self { rms: Rms::Constant(v), eta: None }
    }

    /// The cube, when the model is one (after Dix conversion for interval velocities).
    pub fn cube(&self) -> Option<&VelocityCube> {
        match &self.rms {
            Rms::Cube(cube) => Some(cube),
            _ => None,
        }
    }

    /// This model with a VTI anellipticity.
    pub fn with_eta(mut self, eta: Eta) -> Result<Self, VelocityError> {
        eta.check()?;
        self.eta = Some(eta);
        Ok(self)
    }

    pub fn eta(&self) -> Option<&Eta> {
        self.eta.as_ref()
    }

    /// True when the velocity (and eta) vary with time only.
    pub fn is_laterally_invariant(&self) -> bool {
        !matches!(self.rms, Rms::Cube(_)) && !matches!(self.eta, Some(Eta::Cube(_)))
    }

    /// RMS velocity (m/s) at world position `(x, y)` and two-way time `t` (s).
    pub fn vrms(&self, x: f64, y: f64, t: f64) -> f64 {
        match &self.rms {
            Rms::Constant(v) => *v,
            Rms::Linear { v0, k } => v0 + k * t,
            Rms::DixLinear { v0, k } => {
                let t = t.max(0.0);
                (v0 * v0 + v0 * k * t + k * k * t * t / 3.0).sqrt()
            }
            Rms::Table { times, velocities } => interp_table(times, velocities, t),
            Rms::DixTable(table) => table.vrms(t),
            Rms::Cube(cube) => cube.sample(x, y, t),
        }
    }

    /// Check that a cube covers every position and time the migration will ask for; times and
    /// positions are compared with a tolerance of a thousandth of the cube's spacing.
    pub fn check_covers(&self, bounds: (f64, f64, f64, f64), t_range: (f64, f64)) -> Result<(), VelocityError> {
        let eta_cube = match &self.eta {
            Some(Eta::Cube(c)) => Some(c),
            _ => None,
        };
        for (c, name) in [(self.cube(), "velocity"), (eta_cube, "eta")] {
            if let Some(c) = c {
                Self::cube_covers(c, name, bounds, t_range)?;
            }
        }
        Ok(())
    }

    fn cube_covers(
        c: &VelocityCube,
        name: &'static str,
        bounds: (f64, f64, f64, f64),
        t_range: (f64, f64),
    ) -> Result<(), VelocityError> {
        let (xmin, ymin, xmax, ymax) = bounds;
        let axes = [
            ("x", c.x0, c.dx, c.nx, [("output x minimum", xmin), ("output x maximum", xmax)]),
            ("y", c.y0, c.dy, c.ny, [("output y minimum", ymin), ("output y maximum", ymax)]),
            ("t", c.t0, c.dt, c.nt, [("first output time (s)", t_range.0), ("last output time (s)", t_range.1)]),
        ];
        for (axis, o, d, n, checks) in axes {
            let (lo, hi) = VelocityCube::axis_range(o, d, n);
            let tol = 1e-3 * d;
            for (what, value) in checks {
                if value < lo - tol || value > hi + tol {
                    return Err(VelocityError::CubeDoesNotCover {
                        cube: name,
                        what: what.to_string(),
                        value,
                        range: format!("{axis} range [{lo:.3}, {hi:.3}]"),
                    });
                }
            }
        }
        Ok(())
    }

    /// RMS velocities at every column and output time of a tile; fails if any is not a positive
    /// finite number (a linear function with a negative gradient can reach zero).
    pub fn sample(&self, columns: &[[f64; 2]], time: &crate::TimeAxis) -> Result<TileVelocity, VelocityError> {
        let lateral = !self.is_laterally_invariant();
        let cols: &[[f64; 2]] = if lateral { columns } else { &columns[..columns.len().min(1)] };
        let cols = if cols.is_empty() { &[[0.0, 0.0]][..] } else { cols };
        let mut values = Vec::with_capacity(cols.len() * time.nt);
        for &[x, y] in cols {
            for it in 0..time.nt {
                let t = time.time(it);
                let v = self.vrms(x, y, t);
                check_positive(v, || format!("at x = {x:.1}, y = {y:.1}, t = {t:.4} s"))?;
                values.push(v as f32);
            }
        }
        Ok(TileVelocity { values, n_columns: cols.len(), nt: time.nt, eta: self.sample_eta(cols, time) })
    }

    /// Eta at every one of `columns` and output time, column after column; empty without eta.
    pub fn sample_eta(&self, columns: &[[f64; 2]], time: &crate::TimeAxis) -> Vec<f32> {
        let Some(eta) = &self.eta else { return Vec::new() };
        columns.iter().flat_map(|&[x, y]| (0..time.nt).map(move |it| eta.at(x, y, time.time(it)) as f32)).collect()
    }
}

fn interp_table(times: &[f64], values: &[f64], t: f64) -> f64 {
    let n = times.len();
    if t <= times[0] {
        return values[0];
    }
    if t >= times[n - 1] {
        return values[n - 1];
    }
    let i = times.partition_point(|&x| x <= t) - 1;
    let f = (t - times[i]) / (times[i + 1] - times[i]);
    values[i] + f * (values[i + 1] - values[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimeAxis;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn dix_layered_case_by_hand() {
        // Vint: 2000 m/s at 0 s rising linearly to 3000 m/s at 1 s, then constant 3000.
        // integral_0^1 (2000 + 1000 t)^2 dt = 4e6 + 2e6 + 1e6/3 = 6.333333e6 -> Vrms(1) = 2516.611
        // integral_0^2 = 6.333333e6 + 9e6 = 15.333333e6 -> Vrms(2) = sqrt(7.666667e6) = 2768.875
        let m = VelocityModel::new(
            VelocityFunction::Table { times: vec![0.0, 1.0], velocities: vec![2000.0, 3000.0] },
            VelocityType::Interval,
        )
        .unwrap();
        assert!(close(m.vrms(0.0, 0.0, 1.0), 2516.611, 1e-3), "{}", m.vrms(0.0, 0.0, 1.0));
        assert!(close(m.vrms(0.0, 0.0, 2.0), 2768.875, 1e-3), "{}", m.vrms(0.0, 0.0, 2.0));
        // Halfway through the ramp: integral_0^0.5 = 4e6*0.5 + 2e6*0.25 + 1e6*0.125/3
        let half = ((2.0e6 + 0.5e6 + 1e6 * 0.125 / 3.0) / 0.5f64).sqrt();
        assert!(close(m.vrms(0.0, 0.0, 0.5), half, 1e-6));
        // A layer cake in three picks: 1500 to 0.4 s, ramps as picks say.
        let m = VelocityModel::new(
            VelocityFunction::Table { times: vec![0.4, 0.8, 1.2], velocities: vec![1500.0, 1500.0, 2500.0] },
            VelocityType::Interval,
        )
        .unwrap();
        assert!(close(m.vrms(0.0, 0.0, 0.8), 1500.0, 1e-9));
        // integral to 1.2 = 1500^2*0.8 + (1500^2 + 1500*2500 + 2500^2)/3 * 0.4
        let i = 1500.0f64.powi(2) * 0.8 + (1500.0f64.powi(2) + 1500.0 * 2500.0 + 2500.0f64.powi(2)) / 3.0 * 0.4;
        assert!(close(m.vrms(0.0, 0.0, 1.2), (i / 1.2).sqrt(), 1e-6));
    }

    #[test]
    fn dix_linear_matches_table_of_the_same_function() {
        let lin =
            VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 600.0 }, VelocityType::Interval).unwrap();
        let tab = VelocityModel::new(
            VelocityFunction::Table { times: vec![0.0, 5.0], velocities: vec![1800.0, 4800.0] },
            VelocityType::Interval,
        )
        .unwrap();
        for t in [0.1, 0.7, 2.0, 4.9] {
            assert!(close(lin.vrms(0.0, 0.0, t), tab.vrms(0.0, 0.0, t), 1e-6));
        }
        // Constant interval velocity is its own RMS velocity.
        let c = VelocityModel::new(VelocityFunction::Linear { v0: 2000.0, k: 0.0 }, VelocityType::Interval).unwrap();
        assert!(close(c.vrms(0.0, 0.0, 3.0), 2000.0, 1e-9));
    }

    #[test]
    fn rms_table_interpolates_and_holds_ends() {
        let m = VelocityModel::new(
            VelocityFunction::Table { times: vec![0.5, 1.5], velocities: vec![2000.0, 3000.0] },
            VelocityType::Rms,
        )
        .unwrap();
        assert_eq!(m.vrms(0.0, 0.0, 0.0), 2000.0);
        assert_eq!(m.vrms(0.0, 0.0, 1.0), 2500.0);
        assert_eq!(m.vrms(0.0, 0.0, 9.0), 3000.0);
    }

    fn cube() -> VelocityCube {
        // v = 2000 + x + 2 y + 100 t on a 3 x 4 x 5 grid: trilinear interpolation is exact.
        let (nx, ny, nt) = (3, 4, 5);
        let mut data = Vec::new();
        for ix in 0..nx {
            for iy in 0..ny {
                for it in 0..nt {
                    let (x, y, t) = (100.0 + 50.0 * ix as f64, -20.0 + 10.0 * iy as f64, 0.5 * it as f64);
                    data.push((2000.0 + x + 2.0 * y + 100.0 * t) as f32);
                }
            }
        }
        VelocityCube { x0: 100.0, dx: 50.0, nx, y0: -20.0, dy: 10.0, ny, t0: 0.0, dt: 0.5, nt, data }
    }

    #[test]
    fn cube_trilinear_is_exact_for_linear_fields() {
        let m = VelocityModel::new(VelocityFunction::Cube(cube()), VelocityType::Rms).unwrap();
        for &(x, y, t) in &[(100.0, -20.0, 0.0), (173.0, 3.3, 1.234), (200.0, 10.0, 2.0)] {
            assert!(close(m.vrms(x, y, t), 2000.0 + x + 2.0 * y + 100.0 * t, 1e-3));
        }
        assert!(m.check_covers((100.0, -20.0, 200.0, 10.0), (0.0, 2.0)).is_ok());
        let e = m.check_covers((90.0, -20.0, 200.0, 10.0), (0.0, 2.0)).unwrap_err();
        assert!(e.to_string().contains("output x minimum"), "{e}");
        let e = m.check_covers((100.0, -20.0, 200.0, 10.0), (0.0, 2.5)).unwrap_err();
        assert!(e.to_string().contains("last output time"), "{e}");
    }

    #[test]
    fn sampling_a_tile() {
        let m = VelocityModel::new(VelocityFunction::Linear { v0: 2000.0, k: 500.0 }, VelocityType::Rms).unwrap();
        let time = TimeAxis { t0_s: 0.0, dt_s: 0.5, nt: 3 };
        let tv = m.sample(&[[0.0, 0.0], [10.0, 0.0]], &time).unwrap();
        assert!(tv.is_laterally_invariant());
        assert_eq!(tv.column(1), &[2000.0, 2250.0, 2500.0]);
        let neg = VelocityModel::new(VelocityFunction::Linear { v0: 2000.0, k: -1500.0 }, VelocityType::Rms).unwrap();
        let time = TimeAxis { t0_s: 0.0, dt_s: 1.0, nt: 3 };
        assert!(matches!(neg.sample(&[[0.0, 0.0]], &time), Err(VelocityError::NotPositive { .. })));
        let cube = VelocityModel::new(VelocityFunction::Cube(cube()), VelocityType::Rms).unwrap();
        let tv = cube.sample(&[[100.0, -20.0], [150.0, 0.0]], &time).unwrap();
        assert_eq!(tv.n_columns, 2);
        assert!(close(tv.column(1)[1] as f64, 2000.0 + 150.0 + 0.0 + 100.0, 1e-3));
    }

    #[test]
    fn bad_tables_are_rejected() {
        let table =
            |t: Vec<f64>, v: Vec<f64>, k| VelocityModel::new(VelocityFunction::Table { times: t, velocities: v }, k);
        assert!(matches!(table(vec![], vec![], VelocityType::Rms), Err(VelocityError::EmptyTable)));
        assert!(matches!(
            table(vec![0.0, 1.0], vec![2000.0, f64::NAN], VelocityType::Rms),
            Err(VelocityError::NotPositive { .. })
        ));
        assert!(matches!(
            table(vec![0.0, 1.0, 0.5], vec![2000.0, 2100.0, 2200.0], VelocityType::Rms),
            Err(VelocityError::NotMonotonic { index: 2, .. })
        ));
        assert!(matches!(
            table(vec![1.0], vec![2000.0], VelocityType::Interval),
            Err(VelocityError::SingleIntervalPick)
        ));
        assert!(table(vec![1.0], vec![2000.0], VelocityType::Rms).is_ok());
        assert!(matches!(
            VelocityModel::new(VelocityFunction::Constant(-5.0), VelocityType::Rms),
            Err(VelocityError::NotPositive { .. })
        ));
        let mut c = cube();
        c.data[7] = 0.0;
        assert!(VelocityModel::new(VelocityFunction::Cube(c), VelocityType::Rms).is_err());
    }

    #[test]
    fn interval_cube_is_converted_per_column() {
        let mut c = cube();
        for v in c.data.iter_mut() {
            *v = 2500.0;
        }
        let m = VelocityModel::new(VelocityFunction::Cube(c), VelocityType::Interval).unwrap();
        assert!(close(m.vrms(150.0, 0.0, 1.7), 2500.0, 1e-3));
    }
}
