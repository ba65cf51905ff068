//! The machine a benchmark ran on, and how busy it was.

use serde::{Deserialize, Serialize};

/// What the results of one benchmark were measured on. GPU adapters and drivers are per kernel
/// (each record's `device`), since one machine may hold several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// A short name for file names and report titles (`amd-epyc-2c`), from the CPU model and
    /// core count unless given.
    pub name: String,
    pub cpu_model: String,
    /// Logical cores this process may use.
    pub logical_cores: usize,
    /// Operating system and kernel release (`Debian GNU/Linux 12 (bookworm), Linux 6.1.0`).
    pub os: String,
    pub memory_gib: Option<f64>,
    pub hostname: Option<String>,
}

impl Machine {
    /// Describe this machine; `name` overrides the generated short name.
    pub fn detect(name: Option<&str>) -> Self {
        let cpu_model = pstm_kernel::cpu_model();
        let logical_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let distro = read("/etc/os-release").and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string())
        });
        let release = read("/proc/sys/kernel/osrelease").map(|r| r.trim().to_string());
        let os = match (distro, release) {
            (Some(d), Some(r)) => format!("{d}, {} {r}", os_name()),
            (Some(d), None) => d,
            (None, Some(r)) => format!("{} {r}", os_name()),
            (None, None) => os_name().to_string(),
        };
        let memory_gib = read("/proc/meminfo").and_then(|s| {
            let kib: f64 = s
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some((kib / (1u64 << 20) as f64 * 10.0).round() / 10.0)
        });
        let hostname = read("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).filter(|h| !h.is_empty());
        let name = name.map(str::to_string).unwrap_or_else(|| format!("{}-{logical_cores}c", slug(&cpu_model)));
        Self { name, cpu_model, logical_cores, os, memory_gib, hostname }
    }
}

fn os_name() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        "windows" => "Windows",
        other => other,
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Lower-case words of `text` joined by `-`, without marks like `(R)` and `CPU @ 2.1GHz`.
pub fn slug(text: &str) -> String {
    let cleaned = text.replace("(R)", " ").replace("(TM)", " ").replace("(tm)", " ");
    let cleaned = cleaned.split(" @ ").next().unwrap_or("");
    let words: Vec<String> = cleaned
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("cpu") && !w.eq_ignore_ascii_case("processor"))
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.is_empty() { "machine".to_string() } else { words.join("-") }
}

/// The 1, 5 and 15 minute load averages (runnable processes), where the system tells them.
/// Benchmarks record them before and after each kernel's runs: a load above the core count means
/// other work shared the CPU and the times are pessimistic.
pub fn load_average() -> Option<[f64; 3]> {
    let text = read("/proc/loadavg")?;
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_drop_marks_and_clock() {
        assert_eq!(slug("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"), "intel-xeon-platinum-8481c");
        assert_eq!(slug("AMD EPYC"), "amd-epyc");
        assert_eq!(slug("Apple M2 Max"), "apple-m2-max");
        assert_eq!(slug("  "), "machine");
    }

    #[test]
    fn detect_names_this_machine() {
        let m = Machine::detect(None);
        assert!(m.logical_cores >= 1 && m.name.ends_with(&format!("-{}c", m.logical_cores)), "{m:?}");
        assert_eq!(Machine::detect(Some("h100-box")).name, "h100-box");
    }
}
