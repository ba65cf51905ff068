//! Several devices in one run (`execution.devices`): tiles are dealt to whichever device is free,
//! each tile is migrated whole by one device, so the output is the one device's bit for bit.

mod common;

use common::*;
use pstm_config::job::Devices;
use pstm_engine::output::MemoryVolumes;
use pstm_engine::registry::KernelOptions;
use pstm_engine::{RunOptions, RunSummary, create_kernel, executor};
use pstm_kernel::{CpuKernel, DeviceSet, MigrationKernel};

/// Offset gathers too: each device sums its tiles' stacks from their bins.
const OUTPUT_GRID: &str = "{dx: 20, dy: 30, rotation_deg: 15, t_min_ms: 100, dt_ms: 4}";

fn job(dataset: &std::path::Path, execution: &str) -> pstm_engine::MigrationJob {
    let mut job = common::job(dataset, "{constant: 2200}", "{aperture: {max_m: 400}}", OUTPUT_GRID, execution);
    let text = "input: {dataset: d}\nvelocity: {constant: 1}\noutput: {directory: o, offset_gathers: {bins: [[0, 100], [100, 500]]}}\n";
    let extra: pstm_config::JobConfig = pstm_config::from_yaml_str(text).unwrap();
    job.config.output.offset_gathers = extra.output.offset_gathers;
    pstm_engine::MigrationJob::from_config(job.config).unwrap()
}

fn migrate(job: &pstm_engine::MigrationJob, kernel: &dyn MigrationKernel) -> (MemoryVolumes, RunSummary) {
    executor::migrate_to_memory(job, kernel, RunOptions::QUIET).unwrap()
}

fn assert_same(a: &MemoryVolumes, b: &MemoryVolumes, what: &str) {
    assert!(a.stack.iter().all(|v| v.is_finite()), "{what}: the one-device stack is not finite");
    assert!(a.stack == b.stack && a.fold == b.fold, "{what}: the stack or fold differs");
    assert!(a.gathers == b.gathers, "{what}: the gathers differ");
}

#[test]
fn two_devices_give_one_devices_output_and_share_the_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    let job = job(&ds, "{tile: [3, 2], threads: 2}");
    let (one, one_summary) = migrate(&job, &CpuKernel::new());
    assert_eq!(one_summary.devices.len(), 1, "one device, one share");
    assert!(!one_summary.to_string().contains("device 0"), "one device is not listed apart: {one_summary}");
    let two = DeviceSet::join(vec![Box::new(CpuKernel::new()), Box::new(CpuKernel::new())]);
    let (both, summary) = migrate(&job, two.as_ref());
    assert_same(&one, &both, "two cpu devices");
    assert_eq!(summary.devices.len(), 2, "{summary}");
    let tiles: Vec<usize> = summary.devices.iter().map(|d| d.tiles).collect();
    assert_eq!(tiles.iter().sum::<usize>(), summary.tiles, "{summary}");
    let contributions: u64 = summary.devices.iter().map(|d| d.contributions).sum();
    assert_eq!(contributions, summary.contributions, "{summary}");
    // Dozens of tiles, each far longer to migrate than a thread takes to start: both take some.
    assert!(summary.tiles >= 40 && tiles.iter().all(|&t| t > 0), "{tiles:?} of {}", summary.tiles);
    let text = summary.to_string();
    assert!(text.contains("device 0") && text.contains("device 1") && text.contains("G/s"), "{text}");
}

#[test]
fn gpu_kernels_on_two_devices_of_one_adapter_match_one_device() {
    if !gpu_available("gpu_kernels_on_two_devices_of_one_adapter_match_one_device") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    let job = job(&ds, "{tile: [6, 4]}");
    let twice = KernelOptions { devices: Devices::List(vec![0, 0]), ..Default::default() };
    for name in ["gpu-v0", "gpu-v1", "gpu-v2", "gpu-v3"] {
        let single = create_kernel(name, &KernelOptions { devices: Devices::Count(1), ..Default::default() }).unwrap();
        let double = create_kernel(name, &twice).unwrap();
        assert_eq!(double.device_kernels().len(), 2, "{name}: {}", double.device());
        let (one, _) = migrate(&job, single.as_ref());
        let (both, summary) = migrate(&job, double.as_ref());
        assert_same(&one, &both, name);
        assert_eq!(summary.devices.iter().map(|d| d.tiles).sum::<usize>(), summary.tiles, "{name}: {summary}");
        assert!(summary.device.starts_with("2 x "), "{name}: {}", summary.device);
    }
}

#[test]
fn devices_that_are_not_there_are_refused_with_the_adapters_listed() {
    if !gpu_available("devices_that_are_not_there_are_refused_with_the_adapters_listed") {
        return;
    }
    let n = pstm_gpu::device_candidates(&pstm_gpu::GpuOptions::from_env()).unwrap().len();
    for devices in [Devices::Count(n + 1), Devices::List(vec![0, n])] {
        let options = KernelOptions { devices: devices.clone(), ..Default::default() };
        let e = create_kernel("gpu-v0", &options).err().expect("refused").to_string();
        assert!(e.contains("execution.devices") && e.contains("0: "), "{devices:?}: {e}");
    }
}
