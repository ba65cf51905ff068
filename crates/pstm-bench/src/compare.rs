//! Comparing two kernels on a whole job: the roadmap's correctness test and race check.
//!
//! Both kernels migrate the job through [`migrate_to_memory`] (fresh trace reads, outputs
//! poisoned with NaN and `u32::MAX`, so an unwritten sample shows). The candidate is measured
//! against the baseline with [`pstm_kernel::parity::compare`] outside the grid-wide borderline
//! mask ([`pstm_engine::check::borderline_mask`]): the samples where float32 and float64 may
//! rightly take different branches. With `repeat > 1` the candidate runs again and every run must
//! equal the first bit for bit: kernels promise an order of summation that does not depend on
//! threads or timing, so any difference is a race.

use std::fmt;
use std::time::Instant;

use pstm_engine::executor::migrate_to_memory;
use pstm_engine::output::MemoryVolumes;
use pstm_engine::{MigrationJob, RunOptions, RunSummary};
use pstm_kernel::parity::{Comparison, compare};
use pstm_kernel::{MigrationKernel, TileImage};

use crate::error::{BenchError, Result};

/// The project's parity rule: relative L2 error of a float32 kernel against `cpu-ref`.
pub const PARITY_RTOL: f64 = pstm_kernel::parity::REL_L2_TOLERANCE;

/// When a candidate passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Largest relative L2 error `|cand - base| / |base|` over unmasked samples.
    pub rtol: f64,
    /// Largest absolute difference over unmasked samples; `None`: not checked. There is no
    /// default because image amplitudes scale with the data (the spreading weight alone makes
    /// them of order 1e-3 on the presets); `max_rel` is reported for that instead.
    pub atol: Option<f64>,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self { rtol: PARITY_RTOL, atol: None }
    }
}

/// The stack and fold of a run as one image, for [`pstm_kernel::parity::compare`].
pub fn as_image(volumes: MemoryVolumes) -> TileImage {
    TileImage { image: volumes.stack, fold: volumes.fold }
}

/// Why a comparison fails the tolerance; empty when it passes.
pub fn failures(c: &Comparison, tolerance: &Tolerance) -> Vec<String> {
    let mut why = Vec::new();
    if c.non_finite > 0 {
        why.push(format!("{} candidate samples are NaN, infinite or never written (fold u32::MAX)", c.non_finite));
    }
    if c.rel_l2.is_nan() || c.rel_l2 > tolerance.rtol {
        why.push(format!("relative L2 error {:.3e} exceeds rtol {:.1e}", c.rel_l2, tolerance.rtol));
    }
    if c.fold_mismatches > 0 {
        why.push(format!("fold differs at {} samples outside the borderline mask", c.fold_mismatches));
    }
    if let Some(atol) = tolerance.atol
        && (c.max_abs.is_nan() || c.max_abs > atol)
    {
        why.push(format!("max absolute difference {:.3e} exceeds atol {atol:.1e}", c.max_abs));
    }
    why
}

/// Samples inside the mask whose fold differs (excused, but worth a line in the report).
pub fn masked_fold_mismatches(baseline: &TileImage, candidate: &TileImage, mask: &[bool]) -> usize {
    (0..mask.len()).filter(|&i| mask[i] && baseline.fold[i] != candidate.fold[i]).count()
}

/// Whether two images are identical bit for bit (NaN payloads included).
pub fn bitwise_equal(a: &TileImage, b: &TileImage) -> bool {
    a.fold == b.fold
        && a.image.len() == b.image.len()
        && a.image.iter().zip(&b.image).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Largest absolute difference between two images (NaN if either has a NaN where the other
/// differs).
fn max_abs_diff(a: &TileImage, b: &TileImage) -> f64 {
    a.image
        .iter()
        .zip(&b.image)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .fold(0.0, |m, d| if d.is_nan() || m.is_nan() { f64::NAN } else { m.max(d) })
}

/// Repeated candidate runs against the first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatCheck {
    /// Candidate runs in all, the first included.
    pub runs: usize,
    /// Runs after the first that equal it bit for bit.
    pub identical: usize,
    /// Largest absolute difference of any run from the first.
    pub max_abs_diff: f64,
}

impl RepeatCheck {
    pub fn all_identical(&self) -> bool {
        self.identical + 1 == self.runs
    }
}

/// What `pstm compare` settles.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    pub dataset: String,
    pub baseline: RunSummary,
    /// The candidate's runs, the compared one first.
    pub candidate: Vec<RunSummary>,
    pub comparison: Comparison,
    pub masked_fold_mismatches: usize,
    pub mask_s: f64,
    pub repeat: Option<RepeatCheck>,
    pub tolerance: Tolerance,
    /// Why the candidate fails; empty when it passes.
    pub failures: Vec<String>,
}

impl CompareOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Migrate `job` with both kernels, compare, and with `repeat > 1` run the candidate again.
pub fn run(
    job: &MigrationJob,
    dataset: &str,
    baseline: &dyn MigrationKernel,
    candidate: &dyn MigrationKernel,
    tolerance: Tolerance,
    repeat: usize,
) -> Result<CompareOutcome> {
    if repeat == 0 {
        return Err(BenchError::Invalid("--repeat must be at least 1 (the candidate's one compared run)".into()));
    }
    let options = RunOptions::QUIET;
    let (base, baseline_summary) = migrate_to_memory(job, baseline, options)?;
    let base = as_image(base);
    let (first, summary) = migrate_to_memory(job, candidate, options)?;
    let first = as_image(first);
    let t = Instant::now();
    let mask = pstm_engine::check::borderline_mask(job)?;
    let mask_s = t.elapsed().as_secs_f64();
    let comparison = compare(&base, &first, Some(&mask));
    let masked_fold_mismatches = masked_fold_mismatches(&base, &first, &mask);
    drop(base);
    let mut candidate_summaries = vec![summary];
    let mut why = failures(&comparison, &tolerance);
    let repeat_check = if repeat > 1 {
        let mut check = RepeatCheck { runs: repeat, identical: 0, max_abs_diff: 0.0 };
        for _ in 1..repeat {
            let (again, s) = migrate_to_memory(job, candidate, options)?;
            let again = as_image(again);
            candidate_summaries.push(s);
            if bitwise_equal(&first, &again) {
                check.identical += 1;
            } else {
                let d = max_abs_diff(&first, &again);
                check.max_abs_diff = if d.is_nan() { d } else { check.max_abs_diff.max(d) };
            }
        }
        if !check.all_identical() {
            why.push(format!(
                "{} of {} repeated candidate runs differ from the first bit for bit (max abs difference {:.3e}): a race or a summation order that depends on timing",
                check.runs - 1 - check.identical,
                check.runs - 1,
                check.max_abs_diff
            ));
        }
        Some(check)
    } else {
        None
    };
    Ok(CompareOutcome {
        dataset: dataset.to_string(),
        baseline: baseline_summary,
        candidate: candidate_summaries,
        comparison,
        masked_fold_mismatches,
        mask_s,
        repeat: repeat_check,
        tolerance,
        failures: why,
    })
}

impl fmt::Display for CompareOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, c, k) = (&self.baseline, &self.candidate[0], &self.comparison);
        writeln!(
            f,
            "dataset            {}: {} traces, {} output samples, {:.4e} contributions",
            self.dataset, b.n_traces, b.n_output_samples, b.contributions as f64
        )?;
        writeln!(
            f,
            "baseline           {} on {}: {:.3} s ({:.3} G contributions/s)",
            b.kernel,
            b.device,
            b.total_s,
            b.rate() * 1e-9
        )?;
        writeln!(
            f,
            "candidate          {} on {}: {:.3} s ({:.3} G contributions/s)",
            c.kernel,
            c.device,
            c.total_s,
            c.rate() * 1e-9
        )?;
        writeln!(f, "max abs difference {:.3e}", k.max_abs)?;
        writeln!(f, "max rel difference {:.3e}   (max abs difference / max |baseline|)", k.max_rel)?;
        writeln!(f, "relative L2        {:.3e}   (rtol {:.1e})", k.rel_l2, self.tolerance.rtol)?;
        if let Some(atol) = self.tolerance.atol {
            writeln!(f, "atol               {atol:.1e}")?;
        }
        writeln!(
            f,
            "fold               {} outside the mask; {} differ inside it",
            if k.fold_mismatches == 0 { "equal".to_string() } else { format!("{} samples differ", k.fold_mismatches) },
            self.masked_fold_mismatches
        )?;
        writeln!(
            f,
            "masked             {} of {} samples ({:.2e}): float32/float64 branch differences at trace ends and aperture edges ({:.2} s to find)",
            k.masked,
            k.n,
            k.masked as f64 / k.n.max(1) as f64,
            self.mask_s
        )?;
        writeln!(f, "non-finite         {}", k.non_finite)?;
        if let Some(r) = &self.repeat {
            writeln!(
                f,
                "repeat             {} candidate runs: {}",
                r.runs,
                if r.all_identical() {
                    "all bitwise identical".to_string()
                } else {
                    format!(
                        "{} of {} differ from the first (max abs {:.3e})",
                        r.runs - 1 - r.identical,
                        r.runs - 1,
                        r.max_abs_diff
                    )
                }
            )?;
        }
        if self.passed() { write!(f, "PASS") } else { write!(f, "FAIL: {}", self.failures.join("; ")) }
    }
}
