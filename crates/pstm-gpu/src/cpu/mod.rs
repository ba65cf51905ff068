//! CPU twins of the WGSL modules: the same functions, variable names and loops, in float32 Rust.
//!
//! A twin is how a kernel is debugged: it runs here without a GPU, under a debugger, with
//! prints, and is tested against `cpu-ref` with the same tolerance as the GPU kernel. When the
//! GPU and its twin disagree, the difference lies in the device (compiler, driver, precision of
//! built-ins), not in the algorithm. Each file names the WGSL file it mirrors; a change to one
//! is a change to both.

pub mod migrate_v0;
pub mod migrate_v1;
pub mod migrate_v2;
pub mod traveltime;
pub mod velocity;
pub mod weights;
