//! `mpirun -np 2 pstm migrate job.yaml` (the `mpi` feature, Open MPI): the ranks' one output is
//! the single process's bit for bit, one summary is printed, and a run whose ranks fail resumes
//! under mpirun to the same bits. Skipped without `mpirun` unless `PSTM_REQUIRE_MPI=1`.
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::Command;

mod common;

use common::{SMALL_SURVEY, output_files, pstm, synth_survey};

/// `mpirun -np 2 pstm args` in `dir`, `env` added: (exit code, stdout, stderr); `None` when
/// there is no `mpirun`.
fn mpirun(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<(i32, String, String)> {
    let mut c = Command::new("mpirun");
    // Root in CI containers; two ranks on however few cores; no cross-memory attach, which
    // containers often forbid.
    c.args(["--allow-run-as-root", "--oversubscribe", "-np", "2", env!("CARGO_BIN_EXE_pstm")])
        .args(args)
        .current_dir(dir)
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = match c.output() {
        Ok(out) => out,
        Err(e) => {
            let required = std::env::var("PSTM_REQUIRE_MPI").is_ok_and(|v| v == "1");
            assert!(!required, "PSTM_REQUIRE_MPI=1 but mpirun cannot run: {e}");
            eprintln!("SKIPPED: no mpirun ({e})");
            return None;
        }
    };
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    ))
}

/// Stack, fold, normalised stack, a multiscale pyramid and two offset gathers, in 16 tiles.
fn setup(dir: &Path) {
    synth_survey(dir, SMALL_SURVEY);
    std::fs::write(
        dir.join("job.yaml"),
        "input: {dataset: survey}\nvelocity: {constant: 2000}\n\
         output: {directory: out, grid: {dx: 25, dy: 25}, normalized_stack: true, multiscale: {levels: 2}, offset_gathers: {bin_width_m: 200}}\n\
         execution: {kernel: cpu, tile: [6, 6], threads: 1}\n",
    )
    .unwrap();
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--output", "alone"], dir);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn two_ranks_write_the_single_process_output_bit_for_bit() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let Some((code, out, err)) = mpirun(dir, &["migrate", "job.yaml", "--quiet"], &[]) else { return };
    println!("{out}\n{err}");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("written to").count(), 1, "one summary: {out}");
    assert!(out.contains("2 MPI ranks, each on"), "{out}");
    let shares: Vec<&str> = out.lines().filter(|l| l.starts_with("device ")).collect();
    assert!(shares.len() == 2 && shares.iter().all(|l| !l.contains(": 0 tiles")), "{out}");
    assert!(output_files(&dir.join("out")) == output_files(&dir.join("alone")), "the ranks' output differs");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/run.json")).unwrap()).unwrap();
    assert_eq!(record["summary"]["processes"], 2);
}

#[test]
fn ranks_that_fail_keep_their_tiles_and_mpirun_resumes_them() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    // Each rank's disk fills at its third tile.
    let Some((code, out, err)) = mpirun(dir, &["migrate", "job.yaml", "--quiet"], &[("PSTM_FAULT", "write@2")]) else {
        return;
    };
    println!("{out}\n{err}");
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("MPI rank 0") && err.contains("MPI rank 1") && err.contains("No space left"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(!dir.join("out").exists(), "no complete-looking output");
    let (code, out, err) = mpirun(dir, &["migrate", "job.yaml", "--quiet", "--resume"], &[]).expect("ran before");
    println!("{out}\n{err}");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resumed         4 of 16 tiles"), "two tiles of each rank were kept: {out}");
    assert!(output_files(&dir.join("out")) == output_files(&dir.join("alone")), "the resumed output differs");
}

#[test]
fn ranks_on_one_host_share_its_gpus() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--quiet", "--kernel", "gpu-v2", "--output", "gpu"], dir);
    if code != 0 {
        let required = std::env::var("PSTM_REQUIRE_GPU").is_ok_and(|v| v == "1");
        assert!(!required && err.contains("not available"), "{err}");
        eprintln!("SKIPPED: gpu-v2 is not available here: {err}");
        return;
    }
    // Two ranks on this host, `execution.devices: all`: each takes its part of the adapters, or
    // with one adapter both share it.
    let args = ["migrate", "job.yaml", "--quiet", "--kernel", "gpu-v2", "--output", "ranks"];
    let Some((code, out, err)) = mpirun(dir, &args, &[]) else { return };
    println!("{out}\n{err}");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kernel          gpu-v2 on 2 MPI ranks"), "{out}");
    assert!(output_files(&dir.join("ranks")) == output_files(&dir.join("gpu")), "the ranks' output differs");
}
