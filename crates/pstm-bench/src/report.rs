//! The benchmark report: one self-contained HTML page with inline SVG charts and every number.

use std::fmt::Write as _;

use crate::chart::{Band, Bar, BarChart, short_number};
use crate::error::Result;
use crate::record::{AccuracyStatus, BenchRecord, BenchResults};
use crate::regress::RegressionCheck;

/// The roadmap's Appendix C: the speedup range each optimised version should reach against the
/// baseline kernel, by registry name.
pub const ROADMAP_TARGETS: [(&str, f64, f64); 3] = [("gpu-v1", 1.5, 2.0), ("gpu-v2", 3.0, 4.0), ("gpu-v3", 5.0, 10.0)];

/// The Appendix C target range of a kernel, if the roadmap sets one.
pub fn roadmap_target(kernel: &str) -> Option<(f64, f64)> {
    ROADMAP_TARGETS.iter().find(|t| t.0 == kernel).map(|t| (t.1, t.2))
}

const CHART_SIZE: (u32, u32) = (900, 420);

/// Escape text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Groups (datasets) and series (kernels) in the order of the settings, then any others found.
fn axes(results: &BenchResults) -> (Vec<String>, Vec<String>) {
    let mut datasets: Vec<String> = Vec::new();
    let mut kernels: Vec<String> = Vec::new();
    for r in &results.results {
        if !datasets.contains(&r.dataset) {
            datasets.push(r.dataset.clone());
        }
        if !kernels.contains(&r.version) {
            kernels.push(r.version.clone());
        }
    }
    (datasets, kernels)
}

fn bars(results: &BenchResults, value: impl Fn(&BenchRecord) -> Option<(f64, Option<(f64, f64)>)>) -> Vec<Bar> {
    let (datasets, kernels) = axes(results);
    results
        .results
        .iter()
        .filter_map(|r| {
            let (v, whisker) = value(r)?;
            Some(Bar {
                group: datasets.iter().position(|d| *d == r.dataset)?,
                series: kernels.iter().position(|k| *k == r.version)?,
                value: v,
                whisker,
                label: short_number(v),
            })
        })
        .collect()
}

/// The report page. `regression` adds the comparison with a previous results file.
pub fn html(results: &BenchResults, regression: Option<&RegressionCheck>) -> Result<String> {
    let (datasets, kernels) = axes(results);
    let m = &results.machine;
    let s = &results.settings;
    let mut page = String::new();
    let title = format!("pstm benchmark: {} ({})", m.name, results.created_utc);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let _ = writeln!(
        page,
        "<p class=\"machine\"><b>Machine</b> {}: {}, {} logical cores{}; {}. <b>pstm</b> {}. {} timed and {} warm-up runs per kernel and dataset.</p>",
        escape(&m.name),
        escape(&m.cpu_model),
        m.logical_cores,
        m.memory_gib.map_or(String::new(), |g| format!(", {g} GiB")),
        escape(&m.os),
        escape(&results.pstm_version),
        s.runs,
        s.warmup
    );

    let throughput = BarChart {
        title: "Throughput: median contributions per second (whiskers: slowest and fastest run)",
        y_label: "G contributions / s",
        groups: &datasets,
        series: &kernels,
        bars: &bars(results, |r| {
            let c = &r.contributions_per_s;
            Some((c.median * 1e-9, Some((c.min * 1e-9, c.max * 1e-9))))
        }),
        bands: &[],
        band_label: "",
        reference_line: None,
    };
    let _ = writeln!(page, "<h2>Throughput</h2>\n<figure>{}</figure>", throughput.svg(CHART_SIZE)?);

    let baseline = results.results.first().map_or("the first kernel".into(), |r| r.speedup_baseline.clone());
    let bands: Vec<Band> = results
        .results
        .iter()
        .filter_map(|r| {
            let (lo, hi) = roadmap_target(&r.version)?;
            Some(Band {
                group: datasets.iter().position(|d| *d == r.dataset)?,
                series: kernels.iter().position(|k| *k == r.version)?,
                lo,
                hi,
            })
        })
        .collect();
    let speedup_title = format!("Speedup against {baseline}: ratio of median throughputs");
    let speedup = BarChart {
        title: &speedup_title,
        y_label: "speedup",
        groups: &datasets,
        series: &kernels,
        bars: &bars(results, |r| Some((r.speedup, None))),
        bands: &bands,
        band_label: "roadmap target (Appendix C)",
        reference_line: Some((1.0, "baseline")),
    };
    let _ = writeln!(page, "<h2>Speedup</h2>\n<figure>{}</figure>", speedup.svg(CHART_SIZE)?);
    let _ = writeln!(
        page,
        "<p class=\"note\">Grey bands beside a bar: the roadmap's Appendix C target for that kernel ({}), a speedup against the roadmap's baseline kernel. They compare with the bars when the first kernel listed (here {}) is that baseline.</p>",
        ROADMAP_TARGETS.iter().map(|t| format!("{} {}&ndash;{}x", t.0, t.1, t.2)).collect::<Vec<_>>().join(", "),
        escape(&baseline)
    );

    if let Some(ceiling) = s.ceiling_contributions_per_s {
        let title = format!("Fraction of the stated ceiling of {:.3e} contributions/s", ceiling);
        let chart = BarChart {
            title: &title,
            y_label: "% of ceiling",
            groups: &datasets,
            series: &kernels,
            bars: &bars(results, |r| r.ceiling_fraction.map(|f| (f * 100.0, None))),
            bands: &[],
            band_label: "",
            reference_line: Some((100.0, "ceiling")),
        };
        let _ = writeln!(page, "<h2>Hardware ceiling</h2>\n<figure>{}</figure>", chart.svg(CHART_SIZE)?);
    }

    if let Some(check) = regression {
        let _ = writeln!(page, "<h2>Against the previous results</h2>\n<pre>{}</pre>", escape(&check.to_string()));
    }

    let _ = writeln!(page, "<h2>All numbers</h2>\n{}", table(results));
    let _ = writeln!(page, "{DEFINITIONS}");
    let _ = writeln!(page, "<h2>The job</h2>\n<pre>{}</pre>", escape(&s.job));
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

fn table(results: &BenchResults) -> String {
    let mut t = String::from(
        "<table>\n<thead><tr><th>kernel</th><th>dataset</th><th>traces</th><th>output samples</th><th>contributions</th>\
         <th>G contrib/s median</th><th>min&ndash;max</th><th>std</th><th>M traces/s</th><th>speedup</th><th>% ceiling</th>\
         <th>total s median</th><th>mean &plusmn; std</th><th>kernel s median</th><th>buffer s median</th><th>plan s median</th>\
         <th>accuracy vs cpu-ref</th><th>load before / after</th><th>device</th></tr></thead>\n<tbody>\n",
    );
    for r in &results.results {
        let c = &r.contributions_per_s;
        let accuracy = match r.accuracy.status {
            AccuracyStatus::Reference => "reference".to_string(),
            AccuracyStatus::Skipped => format!("skipped: {}", r.accuracy.note.as_deref().unwrap_or("")),
            AccuracyStatus::Measured => format!(
                "rel L2 {}, max rel {}, masked {}{}",
                r.accuracy.rel_l2.map_or("NaN".into(), |v| format!("{v:.2e}")),
                r.accuracy.max_rel.map_or("NaN".into(), |v| format!("{v:.2e}")),
                r.accuracy.masked.unwrap_or(0),
                if r.accuracy.passes == Some(true) {
                    ", passes".to_string()
                } else {
                    format!(", FAILS: {}", r.accuracy.note.as_deref().unwrap_or(""))
                }
            ),
        };
        let load = |l: Option<[f64; 3]>| l.map_or("?".into(), |l| format!("{:.2}", l[0]));
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4e}</td><td>{:.4}</td><td>{:.4}&ndash;{:.4}</td><td>{:.4}</td>\
             <td>{}</td><td>{:.3}</td><td>{}</td><td>{:.4}</td><td>{:.4} &plusmn; {:.4}</td><td>{:.4} ({})</td><td>{:.4} ({})</td>\
             <td>{:.4}</td><td>{}</td><td>{} / {}</td><td>{}</td></tr>",
            escape(&r.version),
            escape(&r.dataset),
            r.n_traces,
            r.n_output_samples,
            r.contributions as f64,
            c.median * 1e-9,
            c.min * 1e-9,
            c.max * 1e-9,
            c.std * 1e-9,
            short_number(r.throughput_mtrace_s),
            r.speedup,
            r.ceiling_fraction.map_or("&ndash;".into(), |f| format!("{:.2}", f * 100.0)),
            r.total_time_s.median,
            r.total_time_s.mean,
            r.total_time_s.std,
            r.kernel_time_s.median,
            kernel_source(r),
            r.buffer_time_s.median,
            buffer_source(r),
            r.plan_time_s.median,
            escape(&accuracy),
            load(r.load_before),
            load(r.load_after),
            escape(&r.device)
        );
    }
    t.push_str("</tbody>\n</table>");
    t
}

fn kernel_source(r: &BenchRecord) -> &'static str {
    match r.kernel_time_source {
        crate::record::TimeSource::Device => "device timers",
        _ => "executor, summed over tiles",
    }
}

fn buffer_source(r: &BenchRecord) -> &'static str {
    match r.buffer_time_source {
        crate::record::TimeSource::Transfer => "kernel transfers",
        _ => "load + read",
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}\
table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}\
td:first-child,td:nth-child(2),td:nth-last-child(1),td:nth-last-child(3){text-align:left}\
th{background:#eee}figure{margin:0}.note{font-size:13px;color:#555;max-width:900px}pre{background:#f6f6f6;padding:8px}";

const DEFINITIONS: &str = "<h2>What the numbers mean</h2>\n<ul class=\"note\">\n\
<li><b>contribution</b>: one in-aperture trace summed into one output sample, counted exactly by the plan before any kernel runs, so every kernel on a dataset does the same number.</li>\n\
<li><b>total</b>: wall clock of one in-memory migration (planning, loading traces, every tile, the outputs); <b>G contrib/s</b> is contributions over total, per run, and its median is the headline rate.</li>\n\
<li><b>kernel</b>: the kernel's own device timers when it has them (GPU timestamp queries); otherwise the time inside the kernel's calls, summed over the tiles in flight, which can exceed the wall clock on a CPU.</li>\n\
<li><b>buffer</b>: the kernel's own measure of buffer creation, uploads and read-backs when it has one; otherwise loading traces into memory plus reading trace blocks.</li>\n\
<li><b>speedup</b>: median rate over the first kernel's median rate on the same dataset.</li>\n\
<li><b>accuracy</b>: the first timed run against <code>cpu-ref</code> on the same dataset: relative L2 error outside the borderline mask (trace ends and aperture edges, where float32 and float64 may rightly differ), parity rule rel L2 &le; rtol, no non-finite sample, fold equal outside the mask; skipped where cpu-ref would take too long.</li>\n\
<li><b>load</b>: the 1-minute load average before the warm-up and after the last run; above the core count, other work shared the machine and the rates are pessimistic.</li>\n</ul>";

/// A plain-text table of the headline numbers, for the terminal.
pub fn text_table(results: &BenchResults) -> String {
    let mut t = format!(
        "machine: {} ({}, {} logical cores, {})\n{:<10} {:<10} {:>11} {:>10} {:>21} {:>9} {:>9} {:>9} {:>11}  accuracy vs cpu-ref\n",
        results.machine.name,
        results.machine.cpu_model,
        results.machine.logical_cores,
        results.machine.os,
        "kernel",
        "dataset",
        "contrib",
        "G c/s med",
        "min..max",
        "speedup",
        "total s",
        "kernel s",
        "load"
    );
    for r in &results.results {
        let c = &r.contributions_per_s;
        let accuracy = match r.accuracy.status {
            AccuracyStatus::Reference => "reference".to_string(),
            AccuracyStatus::Skipped => "skipped (too large for cpu-ref)".to_string(),
            AccuracyStatus::Measured => format!(
                "rel L2 {} {}",
                r.accuracy.rel_l2.map_or("NaN".into(), |v| format!("{v:.2e}")),
                if r.accuracy.passes == Some(true) { "pass" } else { "FAIL" }
            ),
        };
        let load = |l: Option<[f64; 3]>| l.map_or("?".into(), |l| format!("{:.1}", l[0]));
        let _ = writeln!(
            t,
            "{:<10} {:<10} {:>11.3e} {:>10.4} {:>21} {:>9.2} {:>9.3} {:>9.3} {:>11}  {}",
            r.version,
            r.dataset,
            r.contributions as f64,
            c.median * 1e-9,
            format!("{:.4}..{:.4}", c.min * 1e-9, c.max * 1e-9),
            r.speedup,
            r.total_time_s.median,
            r.kernel_time_s.median,
            format!("{}/{}", load(r.load_before), load(r.load_after)),
            accuracy
        );
    }
    t.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_appendix_c() {
        assert_eq!(roadmap_target("gpu-v1"), Some((1.5, 2.0)));
        assert_eq!(roadmap_target("gpu-v3"), Some((5.0, 10.0)));
        assert_eq!(roadmap_target("cpu"), None);
    }

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
