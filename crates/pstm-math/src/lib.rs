//! The mathematics of Kirchhoff pre-stack time migration, with no I/O and no GPU.
//!
//! Every kernel in pstm (the float64 reference, the SIMD CPU kernel, the WGSL kernels and their
//! CPU twins) computes the same sum. For an output sample at surface position `(x, y)` and
//! zero-offset two-way time `t0`:
//!
//! ```text
//! image(x, y, t0) = sum over traces i with |m_i - (x, y)| <= A(t0):
//!                   taper(|m_i - (x, y)|, A) * w(t0, t, v) * trace_i(t)
//! t = sqrt((t0/2)^2 + |s_i - (x, y)|^2 / v^2) + sqrt((t0/2)^2 + |r_i - (x, y)|^2 / v^2)
//! ```
//!
//! with `s_i`, `r_i`, `m_i` the source, receiver and midpoint of trace `i`, `v = Vrms(x, y, t0)`,
//! `A(t0)` the aperture ([`aperture`]), `w` the amplitude weights ([`weights`]) and `trace_i(t)`
//! linearly interpolated ([`interp`]). The fold of an output sample counts the traces that
//! contributed to it: inside the aperture, with `t` inside the trace.
//!
//! This crate holds each piece of that formula once, in float64, written to be read. The kernels
//! that need speed restate it in their own precision and layout and are tested against it.
//!
//! It also holds the forward model used by the synthetic survey generator ([`model`]): the
//! traveltimes of point diffractors and planar reflectors, wavelets and noise. The forward model
//! and the migration share [`traveltime`], so a diffractor generated at time `2z/v` must focus at
//! `2z/v`: the focusing tests check exactly that.

pub mod adaptive;
pub mod antialias;
pub mod aperture;
pub mod conditioning;
pub mod geometry;
pub mod grid;
pub mod interp;
pub mod media;
pub mod model;
pub mod multiscale;
pub mod operator;
pub mod prefilter;
pub mod rng;
pub mod time_sampling;
pub mod traveltime;
pub mod traveltime_table;
pub mod velocity;
pub mod wavelet;
pub mod weights;

pub use antialias::{AntialiasMethod, Antialiasing};
pub use aperture::{Aperture, ApertureMode, Taper, TaperKind};
pub use geometry::TraceGeometry;
pub use grid::{OutputGrid, Tile, TimeAxis};
pub use interp::Interpolation;
pub use operator::{ImagingOperator, Traveltime};
pub use prefilter::Prefilter;
pub use traveltime::{Gradient, LegLaw, LegShape};
pub use velocity::{Eta, TileVelocity, VelocityError, VelocityFunction, VelocityModel, VelocityType};
pub use weights::AmplitudeWeights;
