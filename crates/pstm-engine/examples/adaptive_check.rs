//! Adaptive migration (in space, `algorithm.adaptive`, and in time, `algorithm.adaptive_time`)
//! against the full migration of the same job, side by side in one process: wall time,
//! effective rate, the work done, and each adaptive image's correlation and relative L2 error
//! against the full image (what docs/PERFORMANCE.md quotes). The full job runs twice, the
//! first time as the device's warm-up.
//!
//! ```text
//! cargo run --release -p pstm-engine --example adaptive_check -- JOB.yaml KERNEL VARIANT[,VARIANT...]
//! ```
//!
//! A variant is a mask threshold (`0.03`), a time factor (`time=2`, or `time=auto` for the
//! image's band), or both joined by `+` (`0.03+time=auto`). The job's own `algorithm.adaptive`
//! (or the defaults) gives the mask's dilation and window. Everything is migrated into memory.

use std::path::Path;

use pstm_config::JobConfig;
use pstm_config::job::{AdaptiveConfig, AdaptiveTimeConfig};
use pstm_engine::{MigrationJob, RunOptions, create_kernel, executor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, job_path, kernel, variants] = args.as_slice() else {
        return Err("usage: adaptive_check JOB.yaml KERNEL VARIANT[,VARIANT...]".into());
    };
    let path = Path::new(job_path);
    let mut config: JobConfig = pstm_config::load_yaml_file(path)?;
    config.resolve_paths(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    let adaptive = config.algorithm.adaptive.unwrap_or_default();
    let kernel = create_kernel(kernel, &pstm_engine::KernelOptions::from_config(&config.execution))?;
    let quiet = RunOptions::QUIET;
    println!("kernel {}", kernel.device());

    config.algorithm.adaptive = None;
    config.algorithm.adaptive_time = None;
    let full_job = MigrationJob::from_config(config.clone())?;
    // The first run pays for the device's warm-up (pipelines, allocations): timed, not compared.
    let (_, first) = executor::migrate_to_memory(&full_job, kernel.as_ref(), quiet)?;
    println!("warm-up    {:8.2} s  {:8.1} G/s", first.total_s, first.rate() * 1e-9);
    let (full, summary) = executor::migrate_to_memory(&full_job, kernel.as_ref(), quiet)?;
    println!("full       {:8.2} s  {:8.1} G/s", summary.total_s, summary.rate() * 1e-9);
    drop(full_job);
    for variant in variants.split(',') {
        config.algorithm.adaptive = None;
        config.algorithm.adaptive_time = None;
        for part in variant.trim().split('+') {
            match part.strip_prefix("time=") {
                Some("auto") => config.algorithm.adaptive_time = Some(AdaptiveTimeConfig::default()),
                Some(m) => {
                    config.algorithm.adaptive_time =
                        Some(AdaptiveTimeConfig { factor: Some(m.parse()?), ..Default::default() })
                }
                None => config.algorithm.adaptive = Some(AdaptiveConfig { threshold: part.parse()?, ..adaptive }),
            }
        }
        let job = MigrationJob::from_config(config.clone())?;
        let (image, s) = executor::migrate_to_memory(&job, kernel.as_ref(), quiet)?;
        let (mut dot, mut aa, mut bb, mut diff) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in image.stack.iter().zip(&full.stack) {
            let (x, y) = (x as f64, y as f64);
            dot += x * y;
            aa += x * x;
            bb += y * y;
            diff += (x - y) * (x - y);
        }
        let mut what = String::new();
        if let Some(t) = &s.time_sampling {
            let band = t.highest_frequency_hz.map_or(String::new(), |f| format!(", band {f:.1} Hz"));
            what += &format!("; time factor {}{band}", t.factor);
        }
        if let Some(a) = &s.adaptive {
            what += &format!(
                "; coarse pass {:.2} s; {:.2}% of the samples kept (estimated correlation {:.5})",
                a.coarse_s,
                a.active_fraction * 100.0,
                a.estimated_correlation
            );
        }
        println!(
            "{variant}: {:8.2} s  {:8.1} G/s effective ({:.2}x the full run){what}; correlation {:.5}; relative L2 {:.3e}",
            s.total_s,
            s.rate() * 1e-9,
            summary.total_s / s.total_s,
            dot / (aa * bb).sqrt(),
            (diff / bb).sqrt()
        );
    }
    Ok(())
}
