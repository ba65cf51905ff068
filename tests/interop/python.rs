// Shared by the Rust integration tests that ask Python's readers (zarr-python, pyarrow, segyio)
// to judge what pstm writes. Include with `#[path = ".../tests/interop/python.rs"] mod python;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's `tests/interop` folder, where the scripts live.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// Whether `python3` can import `modules`. Without them the calling test should print a notice
/// and pass, unless `PSTM_REQUIRE_INTEROP=1` (set by CI), when this panics instead.
pub fn available(test: &str, modules: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        let required = std::env::var("PSTM_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
        assert!(!required, "{test}: PSTM_REQUIRE_INTEROP=1 but python3 cannot import {modules}");
        eprintln!("SKIPPED {test}: python3 cannot import {modules} (pip install {})", modules.replace(',', ""));
    }
    ok
}

/// Run `tests/interop/<script>` with `args`: (success, stdout + stderr).
pub fn run(script: &str, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new("python3").arg(scripts().join(script)).args(args).output().expect("python3 runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Run a script that prints one JSON document, and parse it.
pub fn json(script: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let (ok, out) = run(script, args);
    assert!(ok, "{script} failed:\n{out}");
    serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{script}: {e}\n{out}"))
}
