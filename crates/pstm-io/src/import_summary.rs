//! What an import found: the numbers a person checks before migrating, and a coarse fold map.

use std::path::PathBuf;

use pstm_segy::{Endian, HeaderMap, Revision, SampleFormat, TextEncoding};

/// Traces per cell of a coarse grid over the midpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldMap {
    pub x_min: f64,
    pub y_min: f64,
    pub cell_x: f64,
    pub cell_y: f64,
    pub nx: usize,
    pub ny: usize,
    /// Row after row from the south (`iy * nx + ix`).
    pub counts: Vec<u64>,
}

impl FoldMap {
    /// A grid over `extent` (`x_min, y_min, x_max, y_max`) with `cells` along the longer side
    /// and as many along the other as keep cells about square.
    pub fn new(extent: [f64; 4], cells: usize) -> Self {
        let cells = cells.max(1);
        let (w, h) = (extent[2] - extent[0], extent[3] - extent[1]);
        let other = |short: f64, long: f64| {
            if long > 0.0 { ((cells as f64 * short / long).round() as usize).clamp(1, cells) } else { 1 }
        };
        let (nx, ny) = if w >= h { (if w > 0.0 { cells } else { 1 }, other(h, w)) } else { (other(w, h), cells) };
        let size = |span: f64, n: usize| if span > 0.0 { span / n as f64 } else { 1.0 };
        Self {
            x_min: extent[0],
            y_min: extent[1],
            cell_x: size(w, nx),
            cell_y: size(h, ny),
            nx,
            ny,
            counts: vec![0; nx * ny],
        }
    }

    pub fn add(&mut self, (x, y): (f64, f64)) {
        let cell = |v: f64, min: f64, size: f64, n: usize| (((v - min) / size).floor().max(0.0) as usize).min(n - 1);
        let ix = cell(x, self.x_min, self.cell_x, self.nx);
        let iy = cell(y, self.y_min, self.cell_y, self.ny);
        self.counts[iy * self.nx + ix] += 1;
    }
}

impl std::fmt::Display for FoldMap {
    /// North up: the first row printed is the northernmost.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.counts.iter().max().map_or(1, |m| m.to_string().len());
        for iy in (0..self.ny).rev() {
            let y = self.y_min + iy as f64 * self.cell_y;
            write!(f, "  y {y:>12.1} |")?;
            for ix in 0..self.nx {
                write!(f, " {:>width$}", self.counts[iy * self.nx + ix])?;
            }
            writeln!(f)?;
        }
        write!(f, "  x from {:.1}, cells {:.1} x {:.1}", self.x_min, self.cell_x, self.cell_y)
    }
}

/// The outcome of [`crate::segy_import::import_segy`].
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub source: PathBuf,
    pub dataset: PathBuf,
    pub file_bytes: u64,
    pub traces: u64,
    pub samples_per_trace: usize,
    pub sample_interval_ms: f64,
    /// Time of the first sample (the SEG-Y delay), ms.
    pub start_time_ms: f64,
    pub format: SampleFormat,
    pub endian: Endian,
    pub revision: Revision,
    pub text_encoding: TextEncoding,
    pub extended_textual_headers: usize,
    /// Binary header bytes 3255-3256 say feet; coordinates were kept as they are.
    pub feet: bool,
    pub header_map: HeaderMap,
    /// `(x_min, y_min, x_max, y_max)` of the midpoints.
    pub midpoint_extent: [f64; 4],
    pub offset_range: (f64, f64),
    /// Inline and crossline ranges, when the headers have them.
    pub lines: Option<[(i32, i32); 2]>,
    /// Traces with an offset but no distinct source and receiver, placed about their CDP.
    pub placed_about_midpoint: u64,
    pub azimuth_when_missing_deg: f64,
    /// Traces whose CDP X/Y lie more than 1 m from their source-receiver midpoint.
    pub cdp_mismatches: u64,
    /// Traces marked dead, dummy or auxiliary (trace identification code 2-8): imported, and left
    /// out of migrations.
    pub dead_traces: u64,
    /// Traces whose samples are all zero: marked dead (code 2).
    pub all_zero_traces: u64,
    /// Traces with NaN or infinite samples zeroed and marked dead (`--bad-samples zero_trace`).
    pub zeroed_traces: u64,
    /// Traces whose elevation scalar is not one the standard allows: elevations stored as 0.
    pub bad_elevation_traces: u64,
    /// Variable-length traces shorter than the longest, padded with zeros.
    pub padded_traces: u64,
    pub fold: FoldMap,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.feet { "ft" } else { "m" };
        let e = self.midpoint_extent;
        writeln!(f, "Imported {} -> {}", self.source.display(), self.dataset.display())?;
        writeln!(
            f,
            "  file         SEG-Y rev {}, {}, {}, {} textual header, {} extended, {:.1} MB",
            self.revision,
            self.endian,
            self.format,
            self.text_encoding,
            self.extended_textual_headers,
            self.file_bytes as f64 / 1e6
        )?;
        writeln!(f, "  traces       {}", self.traces)?;
        let last = self.start_time_ms + (self.samples_per_trace - 1) as f64 * self.sample_interval_ms;
        writeln!(
            f,
            "  samples      {} per trace, dt {} ms, first at {} ms (delay), last at {} ms",
            self.samples_per_trace, self.sample_interval_ms, self.start_time_ms, last
        )?;
        writeln!(
            f,
            "  midpoints    x {:.1} .. {:.1} {unit}, y {:.1} .. {:.1} {unit} ({:.1} x {:.1} {unit})",
            e[0],
            e[2],
            e[1],
            e[3],
            e[2] - e[0],
            e[3] - e[1]
        )?;
        writeln!(f, "  offsets      {:.1} .. {:.1} {unit}", self.offset_range.0, self.offset_range.1)?;
        match self.lines {
            Some([il, xl]) => {
                writeln!(f, "  lines        inline {} .. {}, crossline {} .. {}", il.0, il.1, xl.0, xl.1)?
            }
            None => writeln!(f, "  lines        none (inline and crossline are 0 in every trace)")?,
        }
        let changed = self.header_map.changed_keys();
        if changed.is_empty() {
            writeln!(f, "  header map   standard")?;
        } else {
            let items: Vec<String> =
                changed.iter().map(|&k| format!("{}={}", k.name(), self.header_map.get(k).byte)).collect();
            writeln!(f, "  header map   standard except {}", items.join(","))?;
        }
        if self.feet {
            writeln!(f, "  note: the binary header says feet; coordinates are kept in feet (use velocities in ft/s)")?;
        }
        if self.placed_about_midpoint > 0 {
            writeln!(
                f,
                "  note: {} traces had an offset but no distinct source and receiver coordinates; placed about \
                 their CDP at azimuth {} degrees",
                self.placed_about_midpoint, self.azimuth_when_missing_deg
            )?;
        }
        if self.cdp_mismatches > 0 {
            writeln!(
                f,
                "  warning: {} traces have CDP X/Y more than 1 m from their source-receiver midpoint; the midpoint \
                 is used (check the header map)",
                self.cdp_mismatches
            )?;
        }
        if self.dead_traces > 0 {
            writeln!(
                f,
                "  note: {} traces are marked dead, dummy or auxiliary (trace identification code 2-8): imported, and left out of migrations",
                self.dead_traces
            )?;
        }
        if self.all_zero_traces > 0 {
            writeln!(
                f,
                "  note: {} traces hold only zeros: marked dead (code 2), left out of migrations and their fold",
                self.all_zero_traces
            )?;
        }
        if self.zeroed_traces > 0 {
            writeln!(
                f,
                "  note: {} traces held NaN or infinite samples: zeroed and marked dead (--bad-samples zero_trace)",
                self.zeroed_traces
            )?;
        }
        if self.bad_elevation_traces > 0 {
            writeln!(
                f,
                "  note: {} traces have an elevation scalar the standard does not allow: their elevations are stored as 0 (a datum static would be wrong for them)",
                self.bad_elevation_traces
            )?;
        }
        if self.padded_traces > 0 {
            writeln!(
                f,
                "  note: {} variable-length traces were padded with zeros to {} samples",
                self.padded_traces, self.samples_per_trace
            )?;
        }
        writeln!(f, "  fold (traces per cell, north up):")?;
        write!(f, "{}", self.fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_map_cells_and_text() {
        let mut m = FoldMap::new([0.0, 0.0, 400.0, 100.0], 4);
        assert_eq!((m.nx, m.ny, m.cell_x, m.cell_y), (4, 1, 100.0, 100.0));
        for p in [(0.0, 0.0), (399.9, 50.0), (400.0, 100.0), (150.0, 20.0)] {
            m.add(p);
        }
        assert_eq!(m.counts, [1, 1, 0, 2]);
        let tall = FoldMap::new([0.0, 0.0, 100.0, 400.0], 4);
        assert_eq!((tall.nx, tall.ny), (1, 4));
        let point = FoldMap::new([5.0, 5.0, 5.0, 5.0], 16);
        assert_eq!((point.nx, point.ny), (1, 1));
        let mut m = FoldMap::new([0.0, 0.0, 200.0, 200.0], 2);
        m.add((150.0, 150.0));
        let text = m.to_string();
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].ends_with("| 0 1") && rows[1].ends_with("| 0 0"), "{text}");
    }
}
