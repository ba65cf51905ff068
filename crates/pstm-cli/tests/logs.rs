//! What a run says when nobody watches a terminal: progress lines on stderr (a file here), the
//! same lines and the summary in `--log`, the wall time split into its parts, and why the kernel
//! was chosen.

use std::path::Path;
use std::process::{Command, Stdio};

mod common;

use common::{SMALL_SURVEY, pstm, synth_survey};

fn survey(dir: &Path) {
    synth_survey(dir, SMALL_SURVEY);
    // Small tiles: several progress lines.
    std::fs::write(
        dir.join("job.yaml"),
        "input: {dataset: survey}\nvelocity: {constant: 2000}\noutput: {directory: out, overwrite: true, grid: {dx: 25, dy: 25}}\nexecution: {tile: [7, 7]}\n",
    )
    .unwrap();
}

#[test]
fn a_run_with_stderr_to_a_file_logs_progress_and_the_summary() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let stderr = std::fs::File::create(dir.join("stderr.txt")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pstm"))
        // The reference kernel: slow enough for the reporter (it looks every 20 ms) to see tiles finish.
        .args(["migrate", "job.yaml", "--kernel", "cpu-ref", "--progress-interval", "0", "--log", "run.log"])
        .current_dir(dir)
        .stderr(Stdio::from(stderr))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap();
    println!("stderr:\n{stderr}\nlog:\n{log}");

    // Progress lines: tiles counted with a rate and an ETA, and the end.
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("pstm migrate [")).collect();
    assert!(lines.len() >= 3, "{stderr}");
    assert!(lines.iter().any(|l| l.contains("/9, ") && l.contains("G contrib/s") && l.contains("ETA")), "{stderr}");
    assert!(lines.last().unwrap().contains("100%") && lines.last().unwrap().ends_with("done"), "{stderr}");
    assert!(!stderr.contains('\r') && !stderr.contains("\u{1b}["), "no terminal drawing in a file");

    // The summary: the kernel and why, wall time in parts that add up, stage busy times.
    assert!(stdout.contains("chosen          cpu-ref as named by --kernel"), "{stdout}");
    let time = stdout.lines().find(|l| l.starts_with("time ")).expect("a time line");
    assert!(time.contains("s wall: plan") && time.contains("migration") && time.contains("the rest"), "{time}");
    let seconds: Vec<f64> = time
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.contains('.'))
        .map(|w| w.parse().unwrap())
        .collect();
    let (total, parts) = (seconds[0], seconds[1..].iter().sum::<f64>());
    assert!((total - parts).abs() <= 0.03, "{time}: parts add to {parts}");
    assert!(stdout.contains("kernel busy") && stdout.contains("summed over"), "{stdout}");

    // The log holds the same progress lines and the summary.
    assert!(log.lines().filter(|l| l.starts_with("pstm migrate [")).count() >= 3, "{log}");
    assert!(log.contains("chosen          cpu-ref as named by --kernel") && log.contains("written to"), "{log}");

    // Quiet: no progress on stderr, still in the log; an error goes to both.
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--kernel", "cpu", "--quiet", "--log", "quiet.log"], dir);
    assert_eq!(code, 0);
    assert!(!err.contains("pstm migrate ["), "{err}");
    assert!(std::fs::read_to_string(dir.join("quiet.log")).unwrap().contains("done"));
    let (code, _, err) = pstm(&["migrate", "missing.yaml", "--log", "error.log"], dir);
    assert_ne!(code, 0);
    let logged = std::fs::read_to_string(dir.join("error.log")).unwrap();
    assert!(err.contains("missing.yaml") && logged.trim() == err.trim(), "{err} / {logged}");
}

#[test]
fn auto_says_why_it_chose_its_kernel() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let (code, out, err) = pstm(&["migrate", "job.yaml", "--dry-run"], dir);
    assert_eq!(code, 0, "{err}");
    let chosen = out.lines().find(|l| l.starts_with("chosen")).expect("a chosen line");
    // Whatever this machine has: auto names what it chose, and what it passed over and why.
    assert!(chosen.contains("auto: ") && chosen.contains("chose "), "{chosen}");
    if !chosen.contains("chose gpu-v3") {
        assert!(chosen.contains("gpu-v3") && chosen.contains(" not: "), "{chosen}");
    }
}
