//! The roadmap's regression alert: median throughput against a previous results file.

use std::fmt;

use crate::record::{BenchRecord, BenchResults};

/// Default alert threshold: a median throughput more than 5% below the previous one.
pub const DEFAULT_MAX_DROP: f64 = 0.05;

/// One kernel and dataset found in both files.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kernel: String,
    pub dataset: String,
    /// Median contributions per second, before and now.
    pub previous: f64,
    pub current: f64,
    /// True when `current < previous * (1 - max_drop)`.
    pub regressed: bool,
    /// The highest 1-minute load average recorded around either measurement, when it exceeded
    /// the machine's cores: other work shared the CPU, so the change may be noise.
    pub busy_load: Option<f64>,
}

impl Change {
    /// `kernel on dataset: previous -> current G contributions/s (+x.x%)`.
    pub fn summary(&self) -> String {
        format!(
            "{} on {}: {:.4} -> {:.4} G contributions/s ({:+.1}%)",
            self.kernel,
            self.dataset,
            self.previous * 1e-9,
            self.current * 1e-9,
            self.relative() * 100.0
        )
    }

    /// `current / previous - 1`: -0.07 is a 7% drop.
    pub fn relative(&self) -> f64 {
        self.current / self.previous - 1.0
    }
}

/// Every kernel and dataset of `current` against `previous`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionCheck {
    pub max_drop: f64,
    pub changes: Vec<Change>,
    /// Records of `current` with no counterpart in `previous` (`kernel on dataset`).
    pub new: Vec<String>,
    /// A note when the two files come from different machines, whose rates do not compare.
    pub machine_note: Option<String>,
}

impl RegressionCheck {
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.regressed)
    }

    pub fn any_regressed(&self) -> bool {
        self.regressions().next().is_some()
    }
}

/// The record's highest 1-minute load average, if it exceeded `cores`.
fn busy_load(r: &BenchRecord, cores: usize) -> Option<f64> {
    [r.load_before, r.load_after].into_iter().flatten().map(|l| l[0]).reduce(f64::max).filter(|&l| l > cores as f64)
}

/// Compare median contributions per second, kernel by kernel and dataset by dataset.
pub fn check(previous: &BenchResults, current: &BenchResults, max_drop: f64) -> RegressionCheck {
    let mut changes = Vec::new();
    let mut new = Vec::new();
    for r in &current.results {
        match previous.find(&r.version, &r.dataset) {
            Some(p) => {
                let (before, now) = (p.contributions_per_s.median, r.contributions_per_s.median);
                changes.push(Change {
                    kernel: r.version.clone(),
                    dataset: r.dataset.clone(),
                    previous: before,
                    current: now,
                    regressed: now < before * (1.0 - max_drop),
                    busy_load: busy_load(p, previous.machine.logical_cores)
                        .into_iter()
                        .chain(busy_load(r, current.machine.logical_cores))
                        .reduce(f64::max),
                });
            }
            None => new.push(format!("{} on {}", r.version, r.dataset)),
        }
    }
    let (a, b) = (&previous.machine, &current.machine);
    let machine_note = (a.cpu_model != b.cpu_model || a.logical_cores != b.logical_cores).then(|| {
        format!(
            "the previous results come from another machine ({}: {}, {} cores; now {}: {}, {} cores): rates may differ for that alone",
            a.name, a.cpu_model, a.logical_cores, b.name, b.cpu_model, b.logical_cores
        )
    });
    RegressionCheck { max_drop, changes, new, machine_note }
}

impl fmt::Display for RegressionCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "throughput against the previous results (alert below -{:.0}%):", self.max_drop * 100.0)?;
        for c in &self.changes {
            writeln!(
                f,
                "  {:<10} {:<10} {:>10.4} -> {:>10.4} G contributions/s  {:>+7.1}%{}{}",
                c.kernel,
                c.dataset,
                c.previous * 1e-9,
                c.current * 1e-9,
                c.relative() * 100.0,
                if c.regressed { "  REGRESSION" } else { "" },
                c.busy_load.map_or(String::new(), |l| format!("  (load {l:.1} on this machine's cores: may be noise)"))
            )?;
        }
        for n in &self.new {
            writeln!(f, "  {n}: not in the previous results")?;
        }
        if let Some(note) = &self.machine_note {
            writeln!(f, "  note: {note}")?;
        }
        let n = self.regressions().count();
        if n == 0 { write!(f, "no regression") } else { write!(f, "{n} regression(s)") }
    }
}
