//! Range checks that name the field and the allowed range.

use crate::error::ConfigError;

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() { "NaN".into() } else { format!("{v}") }
}

/// `lo < v <= hi` (with `lo_open`) or `lo <= v <= hi`.
pub(crate) fn range(errors: &mut Vec<ConfigError>, path: String, v: f64, lo: f64, lo_open: bool, hi: f64, unit: &str) {
    let ok = v.is_finite() && (if lo_open { v > lo } else { v >= lo }) && v <= hi;
    if !ok {
        let lo_bracket = if lo_open { "(" } else { "[" };
        let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
        errors.push(ConfigError::new(
            path,
            format!("{} is out of range: must be in {lo_bracket}{lo}, {hi}]{unit}", fmt_value(v)),
        ));
    }
}

pub(crate) fn positive(errors: &mut Vec<ConfigError>, path: String, v: f64, hi: f64, unit: &str) {
    range(errors, path, v, 0.0, true, hi, unit)
}

pub(crate) fn at_least(errors: &mut Vec<ConfigError>, path: String, v: usize, lo: usize) {
    if v < lo {
        errors.push(ConfigError::new(path, format!("{v} is out of range: must be at least {lo}")));
    }
}
