//! Interrupted and failing runs, through the real binary: `pstm migrate` killed with SIGKILL at
//! random moments and resumed gives the uninterrupted run's output bit for bit; a changed job
//! refuses to resume; a finished output is left alone; injected faults (the test build's
//! `PSTM_FAULT`) give their messages and exit codes, and never a complete-looking wrong output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{SMALL_SURVEY, output_files, pstm, synth_survey};

const KILLS: usize = 20;

/// A survey and a job of 16 small tiles writing every volume: stack, fold, normalised stack and
/// two offset gathers.
fn setup(dir: &Path) {
    synth_survey(dir, SMALL_SURVEY);
    job(dir, 2000.0);
}

fn job(dir: &Path, velocity: f64) {
    std::fs::write(
        dir.join("job.yaml"),
        format!(
            "input: {{dataset: survey}}\nvelocity: {{constant: {velocity}}}\n\
             output: {{directory: out, grid: {{dx: 25, dy: 25}}, normalized_stack: true, offset_gathers: {{bin_width_m: 200}}}}\n\
             execution: {{tile: [5, 5], threads: 1}}\n"
        ),
    )
    .unwrap();
}

fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".partial-"))
        .collect()
}

fn migrate_command(dir: &Path, kernel: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pstm"));
    c.args(["migrate", "job.yaml", "--quiet", "--kernel", kernel])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Run to the end: (exit code, stdout, stderr).
fn run(dir: &Path, kernel: &str, extra: &[&str]) -> (i32, String, String) {
    let out = migrate_command(dir, kernel, extra).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Start a run and SIGKILL it after `after` (if it has not finished by then).
fn run_killed(dir: &Path, kernel: &str, extra: &[&str], after: Duration) {
    let mut child = migrate_command(dir, kernel, extra).spawn().unwrap();
    std::thread::sleep(after);
    let _ = child.kill(); // SIGKILL
    child.wait().unwrap();
}

/// A small deterministic generator: the moments are random, the test repeatable.
struct Moments(u64);

impl Moments {
    fn next_fraction(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Whether `kernel` runs here; GPU kernels are skipped without an adapter unless
/// `PSTM_REQUIRE_GPU=1`.
fn available(dir: &Path, kernel: &str) -> bool {
    let (code, _, err) = run(dir, kernel, &["--output", "probe", "--overwrite"]);
    if code == 0 {
        return true;
    }
    let required = std::env::var("PSTM_REQUIRE_GPU").is_ok_and(|v| v == "1");
    assert!(!required && err.contains("not available"), "{kernel}: {err}");
    eprintln!("skipped: {kernel} is not available here: {err}");
    false
}

/// Kill `kills` runs of `kernel` at random moments (some of their resumes too), resume each to
/// the end, and compare with an uninterrupted run, file by file.
fn killed_and_resumed(kernel: &str, kills: usize, seed: u64) {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    if !available(dir, kernel) {
        return;
    }
    let started = Instant::now();
    let (code, _, err) = run(dir, kernel, &["--output", "reference"]);
    let whole = started.elapsed();
    assert_eq!(code, 0, "{err}");
    let reference = output_files(&dir.join("reference"));
    assert!(reference.keys().any(|p| p.starts_with("gathers")) && reference.len() > 40, "{:?}", reference.keys());

    let mut moments = Moments(seed);
    let mut mid_run = 0;
    for i in 0..kills {
        let _ = std::fs::remove_dir_all(dir.join("out"));
        // Up to 20% past the uninterrupted run's time: some kills come too late, as in life.
        let at = whole.mul_f64(1.2 * moments.next_fraction());
        run_killed(dir, kernel, &[], at);
        let finished_by_kill = dir.join("out/run.json").exists();
        // Every third time the first resume is killed too.
        if i % 3 == 2 {
            run_killed(dir, kernel, &["--resume"], whole.mul_f64(moments.next_fraction()));
        }
        let (code, out, err) = run(dir, kernel, &["--resume"]);
        assert_eq!(code, 0, "kill {i} at {at:?}: {err}");
        let resumed = out.lines().find(|l| l.starts_with("resumed")).unwrap_or("");
        println!(
            "kill {i} at {:.3} s of {:.3} s: {}",
            at.as_secs_f64(),
            whole.as_secs_f64(),
            if finished_by_kill {
                "the run had finished".to_string()
            } else if resumed.is_empty() {
                format!("nothing to resume ({})", out.lines().next().unwrap_or(""))
            } else {
                resumed.to_string()
            }
        );
        mid_run += usize::from(!resumed.is_empty() && !resumed.starts_with("resumed         0 of"));
        let got = output_files(&dir.join("out"));
        assert_eq!(got.keys().collect::<Vec<_>>(), reference.keys().collect::<Vec<_>>(), "kill {i}: the same files");
        for (path, bytes) in &reference {
            assert!(got[path] == *bytes, "kill {i} at {at:?}: {} differs from the uninterrupted run's", path.display());
        }
        assert!(partials(dir).is_empty(), "kill {i}: partial outputs left: {:?}", partials(dir));
    }
    // The moments must land inside runs for the test to test anything.
    assert!(mid_run >= kills / 4, "only {mid_run} of {kills} kills left tiles to resume from");
}

#[test]
fn killed_cpu_runs_resume_to_the_same_bits() {
    killed_and_resumed("cpu", KILLS, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn killed_reference_kernel_runs_resume_to_the_same_bits() {
    killed_and_resumed("cpu-ref", KILLS / 2, 0x2545_f491_4f6c_dd1d);
}

#[test]
fn killed_gpu_runs_resume_to_the_same_bits() {
    killed_and_resumed("gpu-v1", KILLS, 0x1234_5678_9abc_def1);
}

#[test]
fn a_changed_job_refuses_to_resume_and_a_finished_output_is_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    // A run that failed after two tiles keeps them.
    let (code, _, err) = pstm_with_fault(dir, "write@2", &["migrate", "job.yaml", "--quiet", "--kernel", "cpu"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(partials(dir).len(), 1, "{err}");

    job(dir, 2100.0);
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--resume"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("cannot resume") && err.contains("2 of 16 tiles finished"), "{err}");
    assert!(err.contains("velocity.constant: was 2000.0, now 2100.0"), "{err}");
    assert!(!dir.join("out").exists() && partials(dir).len() == 1, "nothing written, nothing removed");

    // Another kernel is another job: its tiles would differ in their last bits.
    job(dir, 2000.0);
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu-ref", "--resume"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("kernel: was \"cpu\", now \"cpu-ref\""), "{err}");

    // Without --resume the partial output is reported, and removed once the new run completes.
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("left by an interrupted run (2 of 16 tiles finished)") && err.contains("--resume"), "{err}");
    assert!(partials(dir).is_empty());

    // A resume of a finished output touches nothing.
    let before = output_files(&dir.join("out"));
    let record = std::fs::read(dir.join("out/run.json")).unwrap();
    let (code, out, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--resume"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already finished; nothing to resume"), "{out}");
    assert!(output_files(&dir.join("out")) == before && std::fs::read(dir.join("out/run.json")).unwrap() == record);

    // A resume with nothing to resume starts from the beginning, and says so.
    let (code, out, err) =
        pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--resume", "--output", "fresh"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no interrupted run of it to resume; starting from the beginning"), "{err}");
    assert!(output_files(&dir.join("fresh")) == before, "{out}");
}

#[test]
fn a_changed_eta_cube_refuses_to_resume() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let eta_cube = |eta: f32| {
        let _ = std::fs::remove_dir_all(dir.join("eta.zarr"));
        pstm_io::velocity_cube::write(&dir.join("eta.zarr"), &common::constant_cube(eta, 0.6)).unwrap();
    };
    eta_cube(0.1);
    let text = std::fs::read_to_string(dir.join("job.yaml")).unwrap();
    let vti = text.replace(
        "velocity: {constant: 2000}",
        "velocity: {constant: 2000, eta: {cube: eta.zarr}}\nalgorithm: {traveltime: vti}",
    );
    assert_ne!(vti, text, "the job's velocity line");
    std::fs::write(dir.join("job.yaml"), vti).unwrap();
    let (code, _, err) = pstm_with_fault(dir, "write@2", &["migrate", "job.yaml", "--quiet", "--kernel", "cpu"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(partials(dir).len(), 1, "{err}");
    // The same settings, another eta cube file: another job.
    eta_cube(0.2);
    let (code, out, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--resume"], dir);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("cannot resume") && err.contains("velocity.eta.cube"), "{err}");
}

fn pstm_with_fault(dir: &Path, fault: &str, args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_pstm")).args(args).current_dir(dir).env("PSTM_FAULT", fault).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_write_error_names_the_output_and_leaves_the_previous_one_untouched() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu"], dir);
    assert_eq!(code, 0, "{err}");
    let previous = output_files(&dir.join("out"));
    let record = std::fs::read(dir.join("out/run.json")).unwrap();

    let args = ["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--overwrite"];
    let (code, out, err) = pstm_with_fault(dir, "write@3", &args);
    println!("{err}");
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("output.directory") && err.contains("No space left on device"), "{err}");
    let first = err.lines().find(|l| l.starts_with("error:")).unwrap();
    assert!(first.contains("out/migrated_stack.zarr") && !first.contains(".partial-"), "{first}");
    assert!(err.contains("3 of 16 tiles were finished and are kept in") && err.contains("--resume"), "{err}");
    assert!(output_files(&dir.join("out")) == previous && std::fs::read(dir.join("out/run.json")).unwrap() == record);

    // A resume that fails too (the disk still full at its first tile) keeps what was finished.
    let resume = ["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--overwrite", "--resume"];
    let (code, _, err) = pstm_with_fault(dir, "write@0", &resume);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("3 of 16 tiles were finished and are kept in"), "{err}");
    assert_eq!(partials(dir).len(), 1, "the interrupted run's tiles survive a failed resume");

    // Space freed, the run resumes over the previous output.
    let (code, out, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--overwrite", "--resume"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resumed         3 of 16 tiles"), "{out}");
    assert!(output_files(&dir.join("out")) == previous, "the resumed output is the uninterrupted one");
    assert!(partials(dir).is_empty());
}

#[test]
fn out_of_device_memory_retries_with_smaller_blocks() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--output", "reference"], dir);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = pstm_with_fault(dir, "oom@4", &["migrate", "job.yaml", "--quiet", "--kernel", "cpu"]);
    println!("{out}\n{err}");
    assert_eq!(code, 0, "{err}");
    let recovered = out.lines().find(|l| l.starts_with("recovered")).expect("a recovered line");
    assert!(recovered.contains("out of device memory while migrating tile") && recovered.contains("4"), "{recovered}");
    assert!(recovered.contains("retried with trace blocks of"), "{recovered}");
    assert!(err.contains("note: cpu: out of device memory"), "{err}");
    // The cpu kernel sums each sample over traces in the same order whatever the block size.
    assert!(output_files(&dir.join("out")) == output_files(&dir.join("reference")));
    let fold = |s: &str| s.lines().find(|l| l.starts_with("fold sum")).map(str::to_string);
    let (_, reference_out, _) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu", "--output", "again"], dir);
    assert_eq!(fold(&out), fold(&reference_out), "the failed attempt's finished tiles are counted");
}

#[test]
fn a_lost_device_names_the_tile_and_falls_back_to_the_cpu_when_allowed() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    for kernel in ["cpu-ref", "gpu-v1"] {
        if !available(dir, kernel) {
            continue;
        }
        let args = ["migrate", "job.yaml", "--quiet", "--kernel", kernel, "--overwrite"];
        let (code, out, err) = pstm_with_fault(dir, "device_lost@3", &args);
        println!("{kernel}: {err}");
        assert_eq!(code, 1, "{out}");
        assert!(err.contains(&format!("kernel {kernel}: device lost")) && err.contains(" 3"), "{err}");
        assert!(err.contains("of 16 (grid columns x 0-4, y 15-19"), "tile 3 named: {err}");
        assert!(err.contains("with execution.fallback: cpu the job would go on on the CPU"), "{err}");
        assert!(!dir.join("out/run.json").exists(), "no complete-looking output");

        // Allowed to fall back: the job finishes on the cpu kernel, and the image is right.
        let job = std::fs::read_to_string(dir.join("job.yaml")).unwrap();
        let with_fallback = job.replace("threads: 1}", "threads: 1, fallback: cpu}");
        std::fs::write(dir.join("fallback.yaml"), with_fallback).unwrap();
        let args = ["migrate", "fallback.yaml", "--quiet", "--kernel", kernel, "--output", "fell_back", "--overwrite"];
        let (code, out, err) = pstm_with_fault(dir, "device_lost@3", &args);
        println!("{out}");
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("kernel          {kernel}, then cpu (fallback)")), "{out}");
        assert!(out.contains("migrated on cpu (execution.fallback: cpu)"), "{out}");
        let (code, _, err) =
            pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "cpu-ref", "--output", "oracle", "--overwrite"], dir);
        assert_eq!(code, 0, "{err}");
        let read = |p: &str| pstm_io::VolumeReader::open(&dir.join(p)).unwrap().read_all_f32().unwrap();
        let (got, want) = (read("fell_back/migrated_stack.zarr"), read("oracle/migrated_stack.zarr"));
        let err2: f64 = got.iter().zip(&want).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
        let norm: f64 = want.iter().map(|b| (*b as f64).powi(2)).sum();
        let rel = (err2 / norm).sqrt();
        println!("{kernel} then cpu against cpu-ref: relative L2 {rel:.2e}");
        assert!(rel < 1e-5, "{rel}");
    }
}

#[test]
fn a_device_lost_among_two_leaves_its_tiles_to_the_other() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    if !available(dir, "gpu-v1") {
        return;
    }
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "gpu-v1", "--output", "one"], dir);
    assert_eq!(code, 0, "{err}");
    // Two devices on the first adapter: the one that finishes tile 3 is lost.
    let job = std::fs::read_to_string(dir.join("job.yaml")).unwrap();
    std::fs::write(dir.join("two.yaml"), job.replace("threads: 1}", "threads: 1, devices: [0, 0]}")).unwrap();
    let args = ["migrate", "two.yaml", "--quiet", "--kernel", "gpu-v1", "--output", "two"];
    let (code, out, err) = pstm_with_fault(dir, "device_lost@3", &args);
    println!("{out}\n{err}");
    assert_eq!(code, 0, "{err}");
    let recovered = out.lines().find(|l| l.starts_with("recovered")).expect("a recovered line");
    assert!(recovered.contains("device lost") && recovered.contains("the other device took its tiles"), "{out}");
    let shares: Vec<&str> = out.lines().filter(|l| l.starts_with("device ")).collect();
    assert_eq!(shares.len(), 2, "{out}");
    assert_eq!(shares.iter().filter(|l| l.contains("failed: ")).count(), 1, "{out}");
    // The volumes' metadata names the job's hash, which its devices change; the chunks must not.
    let chunks = |p: &str| {
        let mut f = output_files(&dir.join(p));
        f.retain(|path, _| path.file_name().unwrap() != "zarr.json");
        f
    };
    assert!(chunks("two") == chunks("one"), "the surviving device finished the same output");
}
