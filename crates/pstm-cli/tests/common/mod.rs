//! Running the real `pstm` binary from the CLI tests.

use std::path::Path;
use std::process::Command;

/// Run `pstm args` in `dir`: (exit code, stdout, stderr). Cached presets, if a test makes any,
/// land in `dir/cache`.
pub fn pstm(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pstm"))
        .args(args)
        .current_dir(dir)
        .env("PSTM_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
