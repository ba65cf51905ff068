//! Adaptive migration against the full migration of the same job, side by side in one process:
//! wall time, effective rate, the mask's share of the output, and the adaptive image's
//! correlation and relative L2 error against the full image (what docs/PERFORMANCE.md quotes).
//!
//! ```text
//! cargo run --release -p pstm-engine --example adaptive_check -- JOB.yaml KERNEL THRESHOLD[,THRESHOLD...]
//! ```
//!
//! The job's own `algorithm.adaptive` (or the defaults) gives the dilation and window; each
//! threshold is run in turn. Everything is migrated into memory.

use std::path::Path;

use pstm_config::JobConfig;
use pstm_config::job::AdaptiveConfig;
use pstm_engine::{MigrationJob, RunOptions, create_kernel, executor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, job_path, kernel, thresholds] = args.as_slice() else {
        return Err("usage: adaptive_check JOB.yaml KERNEL THRESHOLD[,THRESHOLD...]".into());
    };
    let path = Path::new(job_path);
    let mut config: JobConfig = pstm_config::load_yaml_file(path)?;
    config.resolve_paths(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    let adaptive = config.algorithm.adaptive.unwrap_or_default();
    let kernel = create_kernel(kernel, &pstm_engine::KernelOptions::from_config(&config.execution))?;
    let quiet = RunOptions { progress: false };
    println!("kernel {}", kernel.device());

    config.algorithm.adaptive = None;
    let full_job = MigrationJob::from_config(config.clone())?;
    let (full, summary) = executor::migrate_to_memory(&full_job, kernel.as_ref(), quiet)?;
    println!("full       {:8.2} s  {:8.1} G/s", summary.total_s, summary.rate() * 1e-9);
    drop(full_job);
    for threshold in thresholds.split(',') {
        config.algorithm.adaptive = Some(AdaptiveConfig { threshold: threshold.trim().parse()?, ..adaptive });
        let job = MigrationJob::from_config(config.clone())?;
        let (image, s) = executor::migrate_to_memory(&job, kernel.as_ref(), quiet)?;
        let a = s.adaptive.as_ref().expect("an adaptive run");
        let (mut dot, mut aa, mut bb, mut diff) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in image.stack.iter().zip(&full.stack) {
            let (x, y) = (x as f64, y as f64);
            dot += x * y;
            aa += x * x;
            bb += y * y;
            diff += (x - y) * (x - y);
        }
        println!(
            "threshold {threshold}: {:8.2} s  {:8.1} G/s effective ({:.2}x the full run); coarse pass {:.2} s; {:.2}% of the samples migrated; work {:.1}%; correlation {:.5} (estimated {:.5}); relative L2 {:.3e}",
            s.total_s,
            s.rate() * 1e-9,
            summary.total_s / s.total_s,
            a.coarse_s,
            a.active_fraction * 100.0,
            a.work_fraction(s.contributions) * 100.0,
            dot / (aa * bb).sqrt(),
            a.estimated_correlation,
            (diff / bb).sqrt()
        );
    }
    Ok(())
}
