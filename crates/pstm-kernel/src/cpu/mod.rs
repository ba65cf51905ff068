//! `cpu`: the fast CPU kernel, float32 with explicit SIMD and threads.
//!
//! The same sum as [`crate::cpu_ref`], organised for speed:
//!
//! - per tile, tables of everything per output sample that does not depend on the trace:
//!   `(t0/2)^2`, `1/v^2`, the weight numerator, the dip aperture (`tables`);
//! - per (trace, column), everything that does not depend on `t0`, in float64: leg distances,
//!   aperture test, fixed-aperture taper, the legs' projections on the grid steps for
//!   antialiasing, and the range of output samples whose traveltime can fall inside the trace
//!   (`pair`);
//! - per output sample, in SIMD lanes of consecutive `t0`: the double square root, the weights,
//!   the interpolation and the sum (`sum`), written once against a small vector trait (`lanes`)
//!   and compiled for AVX-512 and AVX2 (`x86`, chosen at run time) and for plain Rust (what
//!   other CPUs run, aarch64 included; [`CpuKernel::portable`] forces it anywhere).
//!
//! Linear interpolation without antialiasing, what nearly every job reads, has the loop of
//! `sum` to itself. The other readings (cubic and sinc8 filters, the `weight` down-weight,
//! triangle filters on the doubly integrated traces the store serves) run loops of their own
//! (`read`), chosen once per pair, so that none of their work (the operator's time shift per
//! output step, more taps, a second division) or their tests costs the plain loop anything:
//! it runs as fast as before they existed. Cubic and sinc8 read a zero-padded copy of each
//! trace, made once per trace and column group, so that taps past the trace's ends read zero
//! without a test.
//!
//! Columns are split among threads in groups; each group takes the block's traces one after the
//! other and sums each into all its columns while the trace is in L1. Every output sample adds
//! its traces in trace order into a float32 accumulator, so for a given instruction set the
//! result does not depend on thread count or block size, bit for bit (instruction sets may differ
//! in the last bits: the portable path does not fuse multiply-adds). Float32 traveltimes put a sample position of about
//! 500 within a few 1e-5 samples; against `cpu-ref` the relative L2 error is at most 3.4e-5 over
//! 500 random parity cases, and at most 3.3e-5 for every interpolation and antialiasing (the
//! triangle 1.8e-5: its second difference is formed so that float32 loses nothing to the
//! doubly integrated trace's magnitude, `read`).

mod lanes;
mod pair;
mod read;
mod sum;
mod tables;
#[cfg(target_arch = "x86_64")]
mod x86;

use rayon::prelude::*;

use crate::{KernelError, MigrationKernel, TileImage, TileMigration, TileTask, TraceBlock};
use pair::TraceSpan;
use read::Reading;
use sum::{PairJob, TraceAxis};
use tables::TileTables;

/// Most columns a thread sums together, trace by trace: the trace stays in L1 across them, and
/// their accumulators (8 bytes per sample) stream from L2. The loop waits on the trace loads
/// whenever the trace is not in L1, so the more columns share it the better (AVX-512, one
/// thread, `small` survey: 1 column 1.0 G/s, 4 columns 1.43, 16 columns 1.56).
const MAX_COLUMNS_PER_GROUP: usize = 16;

/// Columns per group for a tile of `n_columns`: as many as allowed while every thread still
/// gets a few groups to balance the load. Each column sums its traces in trace order whatever
/// the grouping, so this does not change the result.
fn columns_per_group(n_columns: usize) -> usize {
    n_columns.div_ceil(4 * rayon::current_num_threads()).clamp(1, MAX_COLUMNS_PER_GROUP)
}

/// The instruction sets the kernel is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuIsa {
    /// Plain Rust, vectorized by the compiler for the build target.
    Portable,
    /// x86-64 AVX2 and FMA, 8 lanes.
    Avx2,
    /// x86-64 AVX-512F, 16 lanes.
    Avx512,
}

impl CpuIsa {
    /// The instruction sets this machine can run, fastest first.
    pub fn available() -> Vec<CpuIsa> {
        [CpuIsa::Avx512, CpuIsa::Avx2, CpuIsa::Portable].into_iter().filter(|isa| isa.is_available()).collect()
    }

    pub fn is_available(self) -> bool {
        match self {
            CpuIsa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            CpuIsa::Avx2 => x86::has_avx2(),
            #[cfg(target_arch = "x86_64")]
            CpuIsa::Avx512 => x86::has_avx512(),
            #[cfg(not(target_arch = "x86_64"))]
            CpuIsa::Avx2 | CpuIsa::Avx512 => false,
        }
    }

    fn lanes(self) -> usize {
        match self {
            CpuIsa::Portable | CpuIsa::Avx2 => 8,
            CpuIsa::Avx512 => 16,
        }
    }

    fn sum_pair(self, job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
        if job.reading != Reading::Plain {
            return self.sum_pair_read(job, acc, fold);
        }
        match self {
            CpuIsa::Portable => sum::sum_pair(lanes::Portable, job, acc, fold),
            // SAFETY: a `CpuKernel` holds an instruction set only after `is_available` said yes.
            #[cfg(target_arch = "x86_64")]
            CpuIsa::Avx2 => unsafe { x86::sum_pair_avx2(job, acc, fold) },
            #[cfg(target_arch = "x86_64")]
            CpuIsa::Avx512 => unsafe { x86::sum_pair_avx512(job, acc, fold) },
            #[cfg(not(target_arch = "x86_64"))]
            CpuIsa::Avx2 | CpuIsa::Avx512 => unreachable!("x86 instruction set on another architecture"),
        }
    }

    fn sum_pair_read(self, job: &PairJob<'_>, acc: &mut [f32], fold: &mut [u32]) {
        match self {
            CpuIsa::Portable => read::sum_pair_read(lanes::Portable, job, acc, fold),
            // SAFETY: as in `sum_pair`.
            #[cfg(target_arch = "x86_64")]
            CpuIsa::Avx2 => unsafe { x86::sum_pair_read_avx2(job, acc, fold) },
            #[cfg(target_arch = "x86_64")]
            CpuIsa::Avx512 => unsafe { x86::sum_pair_read_avx512(job, acc, fold) },
            #[cfg(not(target_arch = "x86_64"))]
            CpuIsa::Avx2 | CpuIsa::Avx512 => unreachable!("x86 instruction set on another architecture"),
        }
    }
}

/// The fast CPU kernel, on the fastest instruction set of this machine unless told otherwise.
#[derive(Debug, Clone, Copy)]
pub struct CpuKernel {
    isa: CpuIsa,
}

impl Default for CpuKernel {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuKernel {
    pub fn new() -> Self {
        Self { isa: CpuIsa::available()[0] }
    }

    /// The plain-Rust path, whatever this machine offers: what CPUs without a hand-written
    /// backend run, forced here so that it is tested everywhere.
    pub fn portable() -> Self {
        Self { isa: CpuIsa::Portable }
    }

    pub fn with_isa(isa: CpuIsa) -> Result<Self, KernelError> {
        if isa.is_available() {
            Ok(Self { isa })
        } else {
            Err(KernelError::Unavailable { kernel: "cpu".into(), reason: format!("this CPU lacks {isa:?}") })
        }
    }

    pub fn isa(&self) -> CpuIsa {
        self.isa
    }
}

impl MigrationKernel for CpuKernel {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn device(&self) -> String {
        format!("{}, {:?}", crate::cpu_description(), self.isa)
    }

    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        use pstm_math::{AntialiasMethod as Aa, Interpolation as In, Traveltime as Tt};
        // No wildcard: a new traveltime, interpolation or antialiasing does not compile until
        // its tables, loop and sample-range bounds handle it.
        let op = task.operator;
        let reading = match (op.traveltime, op.interpolation, op.antialiasing.method) {
            (Tt::StraightRay | Tt::CurvedRay | Tt::Vti, In::Linear, Aa::None) => Reading::Plain,
            (Tt::StraightRay | Tt::CurvedRay | Tt::Vti, interpolation @ (In::Cubic | In::Sinc8), Aa::None) => {
                Reading::Filter { interpolation, weighted: false }
            }
            (
                Tt::StraightRay | Tt::CurvedRay | Tt::Vti,
                interpolation @ (In::Linear | In::Cubic | In::Sinc8),
                Aa::Weight,
            ) => Reading::Filter { interpolation, weighted: true },
            (Tt::StraightRay | Tt::CurvedRay | Tt::Vti, In::Linear, Aa::Triangle) => Reading::Triangle,
            (Tt::StraightRay | Tt::CurvedRay | Tt::Vti, interpolation @ (In::Cubic | In::Sinc8), Aa::Triangle) => {
                return Err(KernelError::Input {
                    kernel: self.name().to_string(),
                    message: format!(
                        "triangle antialiasing reads the doubly integrated trace linearly, not with interpolation {interpolation:?} (algorithm.interpolation: linear, or another algorithm.antialiasing.method)"
                    ),
                });
            }
        };
        task.check_medium(self.name())?;
        let tables = TileTables::new(&task);
        let n = task.columns.len() * tables.nt_padded;
        Ok(Box::new(CpuTile { isa: self.isa, task, tables, reading, acc: vec![0.0; n], fold: vec![0; n] }))
    }

    fn concurrent_tiles(&self) -> usize {
        rayon::current_num_threads()
    }

    fn bytes_per_output_sample(&self) -> usize {
        // Accumulator and fold, plus, where the velocity varies laterally, up to six float32
        // tables and one float64 table per column.
        8 + 6 * 4 + 8
    }

    fn cost_model(&self) -> crate::CostModel {
        // Measured on one core (AVX-512, `small`): 1.4-1.6 G contributions/s; a (trace, column)
        // pair outside the aperture costs its distance test, a few ns.
        crate::CostModel::cpu(0.67e-9, 3e-9)
    }
}

struct CpuTile<'a> {
    isa: CpuIsa,
    task: TileTask<'a>,
    tables: TileTables,
    reading: Reading,
    /// `acc[c * nt_padded + it]`, likewise `fold`.
    acc: Vec<f32>,
    fold: Vec<u32>,
}

impl TileMigration for CpuTile<'_> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let (task, tables, isa, reading) = (self.task, &self.tables, self.isa, self.reading);
        let ntp = tables.nt_padded;
        if ntp == 0 || block.n_samples < 2 {
            return Ok(());
        }
        let axis = TraceAxis::new(block.dt_s, block.t_start_s, block.n_samples);
        let span = TraceSpan {
            t_start_s: block.t_start_s,
            t_end_s: block.t_start_s + (block.n_samples - 1) as f64 * block.dt_s,
        };
        let bounds = pair::LawBounds { shape: tables.shape, a_factor_max: tables.a_factor_max };
        let columns_per_group = columns_per_group(task.columns.len());
        let group = columns_per_group * ntp;
        self.acc.par_chunks_mut(group).zip(self.fold.par_chunks_mut(group)).enumerate().for_each(|(g, (acc, fold))| {
            let first_column = g * columns_per_group;
            // The zero-padded copy of each trace that cubic and sinc8 read.
            let mut padded = vec![0.0f32; if reading.pads() { block.n_samples + 2 * read::PAD } else { 0 }];
            for (i, geometry) in block.geometry.iter().enumerate() {
                let trace = reading.trace(block.trace(i), &mut padded);
                let columns = acc.chunks_exact_mut(ntp).zip(fold.chunks_exact_mut(ntp));
                for (c, (acc, fold)) in (first_column..).zip(columns) {
                    let col = tables.velocity_column(c);
                    let xy = task.columns[c];
                    let Some(pair) =
                        pair::pair(geometry, xy, col, task.operator, &task.time, bounds, span, isa.lanes(), ntp)
                    else {
                        continue;
                    };
                    let job = PairJob {
                        column: tables.view(c),
                        axis,
                        pair,
                        trace,
                        spreading: task.operator.weights.spreading,
                        obliquity: task.operator.weights.obliquity,
                        line: task.operator.weights.line,
                        reading,
                    };
                    isa.sum_pair(&job, acc, fold);
                }
            }
        });
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError> {
        let (nt, ntp) = (self.tables.nt, self.tables.nt_padded);
        if nt == 0 {
            return Ok(());
        }
        for (c, (image, fold)) in out.image.chunks_exact_mut(nt).zip(out.fold.chunks_exact_mut(nt)).enumerate() {
            image.copy_from_slice(&self.acc[c * ntp..c * ntp + nt]);
            fold.copy_from_slice(&self.fold[c * ntp..c * ntp + nt]);
        }
        Ok(())
    }
}
