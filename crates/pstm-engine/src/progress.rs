//! Progress of every long command: a bar on a terminal, log lines elsewhere.
//!
//! On a terminal, stderr shows a bar (elapsed time, bar, what is done, ETA). When stderr is not
//! a terminal (`pstm migrate job.yaml > log 2>&1`, a batch system), a bar would draw nothing, so
//! a reporter thread writes a line every [`set_interval`] seconds instead (and one when the work
//! is done). A log file ([`log_to_file`], `pstm migrate --log FILE`) receives the same lines
//! whatever stderr is, and the command's summary and error ([`log_line`]).

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, WeakProgressBar};

/// The log file, when one was asked for.
static LOG: Mutex<Option<std::fs::File>> = Mutex::new(None);
/// Milliseconds between progress lines when they are not drawn as a bar.
static INTERVAL_MS: AtomicU64 = AtomicU64::new(10_000);
/// How often the reporter looks at the bar.
const POLL: Duration = Duration::from_millis(20);

/// Send progress lines, summaries and errors to `path` too (created or truncated).
pub fn log_to_file(path: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    *LOG.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    Ok(())
}

/// Seconds between progress lines (0: a line whenever the work advances).
pub fn set_interval(seconds: f64) {
    INTERVAL_MS.store((seconds.max(0.0) * 1e3) as u64, Ordering::Relaxed);
}

fn logging() -> bool {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).is_some()
}

/// Append `line` to the log file, if there is one.
pub fn log_line(line: &str) {
    if let Some(file) = LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        // A log that cannot be written must not stop the migration it describes.
        let _ = writeln!(file, "{line}").and_then(|_| file.flush());
    }
}

/// Tell the user something they should act on or know (`note: ...` on stderr, and in the log).
pub fn note(line: &str) {
    eprintln!("note: {line}");
    log_line(&format!("note: {line}"));
}

/// A progress bar: drawn on stderr when it is a terminal, reported as lines otherwise.
/// Dereferences to the [`ProgressBar`] it drives; [`Progress::finish`] (or dropping it) ends it.
pub struct Progress {
    bar: ProgressBar,
    reporter: Option<(JoinHandle<()>, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
}

impl std::ops::Deref for Progress {
    type Target = ProgressBar;
    fn deref(&self) -> &ProgressBar {
        &self.bar
    }
}

impl Progress {
    /// End the work: a last line where lines are written, and the bar cleared.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some((reporter, done)) = self.reporter.take() {
            done.store(true, Ordering::Relaxed);
            let _ = reporter.join();
        }
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Progress of work of `total` units (when known). `enabled`: shown on stderr at all; `what`:
/// the part of the bar's template between the bar and the ETA, e.g. `{percent}% {msg}` or
/// `{human_pos}/{human_len} traces`. `name` starts each line (`migrate`, `synth`).
pub fn bar(enabled: bool, total: Option<u64>, what: &str, name: &str) -> Progress {
    let terminal = std::io::stderr().is_terminal();
    let target = if enabled && terminal { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(total, target);
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} [{{elapsed_precise}}] [{{wide_bar}}] {what}, ETA {{eta}}"))
            .expect("valid template")
            .progress_chars("=> "),
    );
    let to_stderr = enabled && !terminal;
    let reporter = (to_stderr || logging()).then(|| {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (weak, name, stop) = (bar.downgrade(), name.to_string(), done.clone());
        (std::thread::spawn(move || report(weak, &name, to_stderr, &stop)), done)
    });
    Progress { bar, reporter }
}

/// Write a line whenever the interval has passed and the work advanced, and one at the end.
fn report(weak: WeakProgressBar, name: &str, to_stderr: bool, done: &std::sync::atomic::AtomicBool) {
    let emit = |line: String| {
        if to_stderr {
            eprintln!("{line}");
        }
        log_line(&line);
    };
    let mut last = Instant::now();
    let mut reported = u64::MAX;
    loop {
        let finished = done.load(Ordering::Relaxed);
        let Some(bar) = weak.upgrade() else { return };
        let interval = Duration::from_millis(INTERVAL_MS.load(Ordering::Relaxed));
        let advanced = bar.position() != reported;
        if finished || (advanced && last.elapsed() >= interval) {
            emit(line(&bar, name, finished));
            (last, reported) = (Instant::now(), bar.position());
        }
        if finished {
            return;
        }
        drop(bar);
        std::thread::sleep(POLL);
    }
}

/// `pstm migrate [00:01:23] 45% (6.8e12/1.5e13) tile 12/40, 1.234 G contrib/s, ETA 00:01:40`.
fn line(bar: &ProgressBar, name: &str, finished: bool) -> String {
    let clock = |d: Duration| {
        let s = d.as_secs();
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    };
    let (pos, msg) = (bar.position(), bar.message());
    let mut line = format!("pstm {name} [{}]", clock(bar.elapsed()));
    match bar.length() {
        Some(len) if len > 0 => {
            let short = |n: u64| if n < 100_000 { n.to_string() } else { format!("{:.3e}", n as f64) };
            line += &format!(" {:3.0}% ({}/{})", 100.0 * pos as f64 / len as f64, short(pos), short(len));
        }
        _ => line += &format!(" {pos}"),
    }
    if !msg.is_empty() {
        line += &format!(" {msg}");
    }
    if finished {
        line += if bar.length().is_none_or(|len| pos >= len) { ", done" } else { ", stopped" };
    } else if bar.length().is_some() && pos > 0 {
        line += &format!(", ETA {}", clock(bar.eta()));
    }
    line
}
