//! YAML text to checked values.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::Validate;
use crate::error::{ConfigError, ConfigErrors};

/// Parse and check a document. Relative paths inside are left as written.
pub fn from_yaml_str<T: DeserializeOwned + Validate>(text: &str) -> Result<T, ConfigErrors> {
    parse(text).map_err(|errors| ConfigErrors { file: None, errors })
}

/// Read, parse and check a file; errors name the file.
pub fn load_yaml_file<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
        file: Some(path.to_path_buf()),
        errors: vec![ConfigError::new("", format!("cannot read: {e}"))],
    })?;
    parse(&text).map_err(|errors| ConfigErrors { file: Some(path.to_path_buf()), errors })
}

fn parse<T: DeserializeOwned + Validate>(text: &str) -> Result<T, Vec<ConfigError>> {
    // Going through a generic value first lets serde_path_to_error report the full path of a
    // bad key or value; serde-saphyr reports syntax errors with line and column.
    let value: serde_json::Value =
        serde_saphyr::from_str(text).map_err(|e| vec![ConfigError::new("", yaml_message(&e.to_string(), text))])?;
    if value.is_null() {
        return Err(vec![ConfigError::new("", "the document is empty")]);
    }
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        vec![explain(path, &e.inner().to_string())]
    })?;
    let mut errors = Vec::new();
    parsed.validate("", &mut errors);
    if errors.is_empty() { Ok(parsed) } else { Err(errors) }
}

/// serde-saphyr's message in our words, once: its first line (where and what, without the
/// snippet that repeats it) with the offending line of the file, and no library jargon.
fn yaml_message(message: &str, text: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = first.replace(", set DuplicateKeyPolicy in Options if acceptable", ": a key may appear only once");
    // "line L column C: ..." names a line of the file: quote it.
    let line = first
        .strip_prefix("line ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| text.lines().nth(n.wrapping_sub(1)));
    match line {
        Some(l) if !l.trim().is_empty() => format!("invalid YAML: {first} (`{}`)", l.trim()),
        _ => format!("invalid YAML: {first}"),
    }
}

/// Turn serde's message into ours: unknown keys and variants get the closest valid name.
fn explain(path: String, message: &str) -> ConfigError {
    let unknown = ["unknown field `", "unknown variant `"].iter().find_map(|p| message.strip_prefix(p));
    if let Some(rest) = unknown {
        let given = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> =
            message.split("expected").nth(1).unwrap_or("").split('`').skip(1).step_by(2).collect();
        let what = if message.starts_with("unknown field") { "unknown key" } else { "unknown value" };
        let closest = expected
            .iter()
            .map(|c| (strsim::jaro_winkler(given, c), *c))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(score, _)| *score > 0.7)
            .map(|(_, c)| c);
        let valid = expected.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let message = match closest {
            Some(c) => format!("{what} `{given}`; did you mean `{c}`? (valid: {valid})"),
            None if expected.is_empty() => format!("{what} `{given}`"),
            None => format!("{what} `{given}` (valid: {valid})"),
        };
        return ConfigError::new(path, message);
    }
    ConfigError::new(path, message.to_string())
}
