//! The progress bar every long command shows: elapsed time, bar, what is done, ETA.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar on stderr (drawn only when stderr is a terminal), or a hidden one when `enabled` is
/// false. `what` is the part of the template between the bar and the ETA, e.g. `{percent}%
/// {msg}` or `{human_pos}/{human_len} traces`.
pub fn bar(enabled: bool, total: Option<u64>, what: &str) -> ProgressBar {
    let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(total, target);
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} [{{elapsed_precise}}] [{{wide_bar}}] {what}, ETA {{eta}}"))
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
