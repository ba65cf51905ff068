//! Volumes and datasets to SEG-Y.
//!
//! A volume (`(nx, ny, nt)` over an output grid) becomes a 3D cube that segyio opens as it is,
//! with its default byte locations: column `(ix, iy)` is inline `first_inline + ix` (bytes
//! 189-192) and crossline `first_crossline + iy` (193-196), its world position is in CDP X/Y
//! (181-188) and, as for any zero-offset trace, in source and group X/Y, all under one coordinate
//! scalar (71-72), and the time of its first sample is the delay (109-110). Traces are sorted by
//! inline, then crossline. Several volumes of one grid, one per offset (offset image gathers),
//! become a prestack cube: each column's traces follow one another in offset order, the offset
//! in bytes 37-40, as segyio expects of prestack files.
//!
//! A dataset becomes a prestack survey with each trace's source, receiver and CDP positions,
//! offset and, when it has them, inline and crossline, so `pstm import segy` reads it back.
//!
//! Files are written big-endian, revision 1, under a temporary name, and renamed when complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use pstm_math::{OutputGrid, Tile};
use pstm_segy::{
    BinField, Endian, SampleFormat, SegyError, SegyWriter, TextEncoding, TextualHeader, TraceField, TraceHeader,
    WriterSpec, scalar,
};

use crate::dataset::Dataset;
use crate::error::{IoError, Result};
use crate::staging::Staged;
use crate::volume::VolumeReader;

/// The sample formats pstm writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// IBM float (format 1): what older software expects; about 6 significant digits.
    Ibm,
    /// IEEE float (format 5): float32 exactly as computed.
    #[default]
    Ieee,
}

impl ExportFormat {
    pub fn sample_format(self) -> SampleFormat {
        match self {
            ExportFormat::Ibm => SampleFormat::IbmFloat32,
            ExportFormat::Ieee => SampleFormat::IeeeFloat32,
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ibm" => Ok(ExportFormat::Ibm),
            "ieee" => Ok(ExportFormat::Ieee),
            _ => Err(format!("unknown SEG-Y sample format `{s}`: use ibm or ieee")),
        }
    }
}

/// How to write.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// Replace an existing file at the output path.
    pub overwrite: bool,
    /// Inline number of grid column `ix = 0`.
    pub first_inline: i32,
    /// Crossline number of grid column `iy = 0`.
    pub first_crossline: i32,
    /// Lines added to the textual header after pstm's own (up to its 40 lines).
    pub text_lines: Vec<String>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { format: ExportFormat::Ieee, overwrite: false, first_inline: 1, first_crossline: 1, text_lines: vec![] }
    }
}

/// One volume of a prestack cube and the offset it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetVolume {
    pub path: PathBuf,
    /// Metres; stored rounded to whole metres (bytes 37-40 have no scalar).
    pub offset_m: f64,
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub traces: u64,
    pub samples_per_trace: usize,
    pub sample_interval_us: u32,
    pub delay_ms: i32,
    pub format: SampleFormat,
    pub coordinate_scalar: i16,
    /// Inline and crossline ranges written, if any.
    pub lines: Option<[(i32, i32); 2]>,
    /// Offsets of a prestack cube, in trace order within a column.
    pub offsets: Vec<i32>,
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Wrote {}", self.path.display())?;
        writeln!(f, "  {} traces of {} samples, {}", self.traces, self.samples_per_trace, self.format)?;
        write!(
            f,
            "  dt {} us, first sample at {} ms, coordinate scalar {}",
            self.sample_interval_us, self.delay_ms, self.coordinate_scalar
        )?;
        if let Some([il, xl]) = self.lines {
            write!(f, "\n  inlines {}..{} (bytes 189-192), crosslines {}..{} (bytes 193-196)", il.0, il.1, xl.0, xl.1)?;
        }
        if self.offsets.len() > 1 {
            write!(f, "\n  offsets {:?} (bytes 37-40)", self.offsets)?;
        }
        Ok(())
    }
}

/// The SEG-Y delay (bytes 109-110, whole ms in two bytes) of a first-sample time in ms.
fn delay_ms(t0_ms: f64, what: &Path) -> Result<i32> {
    let d = t0_ms.round();
    if (t0_ms - d).abs() > 1e-6 || d.abs() > f64::from(i16::MAX) {
        return Err(IoError::invalid(
            what,
            format!("first sample at {t0_ms} ms: SEG-Y's delay (bytes 109-110) holds whole milliseconds up to 32767"),
        ));
    }
    Ok(d as i32)
}

/// The sample interval in whole microseconds (bytes 3217-3218).
fn interval_us(dt_ms: f64, what: &Path) -> Result<u32> {
    let us = dt_ms * 1000.0;
    let r = us.round();
    if (us - r).abs() > 1e-6 || !(1.0..=65535.0).contains(&r) {
        return Err(IoError::invalid(
            what,
            format!("sample interval {dt_ms} ms: SEG-Y holds whole microseconds from 1 to 65535"),
        ));
    }
    Ok(r as u32)
}

fn set(h: &mut TraceHeader, field: TraceField, value: i64, out: &Path) -> Result<()> {
    h.set(field, value).map_err(|m| IoError::segy(out, SegyError::Write(m)))
}

/// Write one post-stack volume as a 3D cube.
pub fn export_volume(volume: &Path, out: &Path, options: &ExportOptions) -> Result<ExportSummary> {
    export_offset_volumes(&[OffsetVolume { path: volume.to_path_buf(), offset_m: 0.0 }], out, options)
}

/// Write volumes of one grid, one per offset, as a prestack cube sorted by inline, crossline
/// and offset (in the order given). One volume is a post-stack cube.
pub fn export_offset_volumes(volumes: &[OffsetVolume], out: &Path, options: &ExportOptions) -> Result<ExportSummary> {
    let Some(first) = volumes.first() else {
        return Err(IoError::invalid(out, "no volume to export"));
    };
    let readers = volumes.iter().map(|v| VolumeReader::open(&v.path)).collect::<Result<Vec<_>>>()?;
    let grid: OutputGrid = readers[0].info().grid;
    for (v, r) in volumes.iter().zip(&readers).skip(1) {
        if r.info().grid != grid {
            return Err(IoError::invalid(
                &v.path,
                format!("its grid differs from {}'s; a prestack cube needs one grid", first.path.display()),
            ));
        }
    }
    let offsets: Vec<i32> = volumes.iter().map(|v| v.offset_m.round() as i32).collect();
    for (i, o) in offsets.iter().enumerate() {
        if offsets[..i].contains(o) {
            return Err(IoError::invalid(
                &volumes[i].path,
                format!(
                    "offset {} m rounds to {o} m like an earlier volume's; bytes 37-40 hold whole metres",
                    volumes[i].offset_m
                ),
            ));
        }
    }
    let nt = grid.time.nt;
    let delay = delay_ms(grid.time.t0_s * 1e3, &first.path)?;
    let dt_us = interval_us(grid.time.dt_s * 1e3, &first.path)?;
    let columns = (0..grid.nx).flat_map(|ix| (0..grid.ny).map(move |iy| grid.column_xy(ix, iy)));
    let scalar = scalar::choose(columns.flat_map(|(x, y)| [x, y]))
        .ok_or_else(|| IoError::invalid(&first.path, "grid coordinates too large for SEG-Y's 4-byte integers"))?;
    let (il0, xl0) = (options.first_inline, options.first_crossline);
    let last_line = |first: i32, n: usize| {
        i32::try_from(n - 1).ok().and_then(|n| first.checked_add(n)).ok_or_else(|| {
            IoError::invalid(out, format!("line numbers from {first} over {n} columns overflow 4 bytes"))
        })
    };
    let lines = [(il0, last_line(il0, grid.nx)?), (xl0, last_line(xl0, grid.ny)?)];
    // A 2D line's section (`algorithm.mode: 2d`): CDP numbers along the line, no 3D line numbers.
    let line_2d =
        grid.ny == 1 && readers[0].info().attributes.get("survey_mode").and_then(|v| v.as_str()) == Some("2d");
    let name = |p: &Path| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into());
    let what = match (line_2d, volumes.len()) {
        (true, 1) => "2D POST-STACK LINE".to_string(),
        (true, n) => format!("2D LINE, {n} OFFSET SECTIONS"),
        (false, 1) => "3D POST-STACK CUBE".to_string(),
        (false, n) => format!("{n} OFFSET VOLUMES"),
    };
    let numbering = if line_2d {
        vec![format!(
            "CDP = {il0} + IX ({}-{}), BYTES 21-24; NO INLINE/CROSSLINE (BYTES 189-196 ZERO)",
            lines[0].0, lines[0].1
        )]
    } else {
        vec![
            format!("INLINE = {il0} + IX ({}-{}), BYTES 189-192", lines[0].0, lines[0].1),
            format!("CROSSLINE = {xl0} + IY ({}-{}), BYTES 193-196", lines[1].0, lines[1].1),
        ]
    };
    let mut text = vec![
        format!("PSTM KIRCHHOFF PRESTACK TIME MIGRATION: {what}"),
        format!("FROM {}", name(&first.path)),
        format!(
            "GRID ORIGIN X {:.2} Y {:.2}, ROTATION {} DEG COUNTERCLOCKWISE FROM EAST",
            grid.origin_x, grid.origin_y, grid.rotation_deg
        ),
        format!("SPACING DX {} DY {} M, NX {} NY {}", grid.dx, grid.dy, grid.nx, grid.ny),
    ];
    text.extend(numbering);
    text.extend([
        format!("CDP X BYTES 181-184, CDP Y 185-188 (ALSO SOURCE/GROUP X/Y), SCALAR {scalar} BYTES 71-72"),
        format!("FIRST SAMPLE {delay} MS (DELAY BYTES 109-110), DT {dt_us} US, {nt} SAMPLES"),
        format!("OFFSETS (BYTES 37-40, M): {}", offsets.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ")),
    ]);
    for key in ["quantity", "kernel", "config_hash"] {
        if let Some(v) = readers[0].info().attributes.get(key).and_then(|v| v.as_str()) {
            text.push(format!("{} {v}", key.to_uppercase()));
        }
    }
    let binary = vec![
        (BinField::Traces, (grid.ny * volumes.len()).min(i16::MAX as usize) as i64),
        (BinField::EnsembleFold, volumes.len().min(i16::MAX as usize) as i64),
        (BinField::SortingCode, if volumes.len() == 1 { 4 } else { 2 }),
        (BinField::MeasurementSystem, 1),
    ];
    let mut file = SegyFile::create(out, options, text, nt, dt_us, binary)?;
    let mut seq = 0i64;
    for ix in 0..grid.nx {
        let tile = Tile { ix0: ix, iy0: 0, nx: 1, ny: grid.ny };
        let inline_data = readers.iter().map(|r| r.read_f32(&tile)).collect::<Result<Vec<_>>>()?;
        for iy in 0..grid.ny {
            let (x, y) = grid.column_xy(ix, iy);
            let (sx, sy) = (stored(x, scalar, out)?, stored(y, scalar, out)?);
            for (k, data) in inline_data.iter().enumerate() {
                seq += 1;
                let mut h = file.writer.new_header();
                let cdp = if line_2d { i64::from(il0) + ix as i64 } else { (ix * grid.ny + iy + 1) as i64 };
                let (inline, crossline) =
                    if line_2d { (0, 0) } else { (i64::from(il0) + ix as i64, i64::from(xl0) + iy as i64) };
                for (field, value) in [
                    (TraceField::TraceSequenceLine, (iy * volumes.len() + k + 1) as i64),
                    (TraceField::TraceSequenceFile, seq),
                    (TraceField::Cdp, cdp),
                    (TraceField::CdpTrace, k as i64 + 1),
                    (TraceField::TraceIdentificationCode, 1),
                    (TraceField::Offset, i64::from(offsets[k])),
                    (TraceField::CoordinateScalar, i64::from(scalar)),
                    (TraceField::SourceX, sx),
                    (TraceField::SourceY, sy),
                    (TraceField::GroupX, sx),
                    (TraceField::GroupY, sy),
                    (TraceField::CoordinateUnits, 1),
                    (TraceField::DelayRecordingTime, i64::from(delay)),
                    (TraceField::CdpX, sx),
                    (TraceField::CdpY, sy),
                    (TraceField::Inline, inline),
                    (TraceField::Crossline, crossline),
                ] {
                    set(&mut h, field, value, out)?;
                }
                file.write(&h, &data[iy * nt..(iy + 1) * nt])?;
            }
        }
    }
    let path = file.finish()?;
    Ok(ExportSummary {
        path,
        traces: seq as u64,
        samples_per_trace: nt,
        sample_interval_us: dt_us,
        delay_ms: delay,
        format: options.format.sample_format(),
        coordinate_scalar: scalar,
        lines: (!line_2d).then_some(lines),
        offsets,
    })
}

fn stored(v: f64, scalar: i16, out: &Path) -> Result<i64> {
    scalar::store(v, scalar).map(i64::from).ok_or_else(|| {
        IoError::invalid(out, format!("coordinate {v} does not fit 4 bytes under coordinate scalar {scalar}"))
    })
}

/// Write a dataset as a prestack SEG-Y survey, trace for trace.
pub fn export_dataset(dataset: &Path, out: &Path, options: &ExportOptions) -> Result<ExportSummary> {
    let ds = Dataset::open(dataset)?;
    let layout = *ds.layout();
    let h = ds.headers();
    let delay = delay_ms(layout.start_time_ms, dataset)?;
    let dt_us = interval_us(layout.sample_rate_ms, dataset)?;
    let coordinates = [&h.sou_x, &h.sou_y, &h.rec_x, &h.rec_y, &h.cdp_x, &h.cdp_y];
    let scalar = scalar::choose(coordinates.iter().flat_map(|c| c.iter().copied()))
        .ok_or_else(|| IoError::invalid(dataset, "coordinates too large for SEG-Y's 4-byte integers"))?;
    let range = |v: &Vec<i32>| v.iter().fold((i32::MAX, i32::MIN), |r, &x| (r.0.min(x), r.1.max(x)));
    let lines = match (&h.inline, &h.crossline) {
        (Some(il), Some(xl)) if !il.is_empty() => Some([range(il), range(xl)]),
        _ => None,
    };
    let name = dataset.file_name().map_or_else(|| dataset.display().to_string(), |n| n.to_string_lossy().into());
    let text = vec![
        "PSTM PRESTACK DATASET".to_string(),
        format!("FROM {name}"),
        format!(
            "{} TRACES, {} SAMPLES, DT {dt_us} US, FIRST SAMPLE {delay} MS (BYTES 109-110)",
            layout.n_traces, layout.n_samples
        ),
        format!("SOURCE X/Y BYTES 73-80, GROUP X/Y 81-88, CDP X/Y 181-188, SCALAR {scalar} BYTES 71-72"),
        "OFFSET BYTES 37-40 (WHOLE METRES), INLINE 189-192, CROSSLINE 193-196".to_string(),
    ];
    let binary = vec![(BinField::SortingCode, 1), (BinField::MeasurementSystem, 1)];
    let mut file = SegyFile::create(out, options, text, layout.n_samples, dt_us, binary)?;
    let ns = layout.n_samples;
    let step = ds.chunk_traces().max(1);
    for start in (0..layout.n_traces).step_by(step) {
        let end = (start + step).min(layout.n_traces);
        let samples = ds.read_traces(start..end)?;
        for t in start..end {
            let mut th = file.writer.new_header();
            let offset = h.offset[t].round();
            if offset.abs() > f64::from(i32::MAX) {
                return Err(IoError::invalid(
                    dataset,
                    format!("trace {t}: offset {} does not fit 4 bytes", h.offset[t]),
                ));
            }
            let mut fields = vec![
                (TraceField::TraceSequenceLine, t as i64 + 1),
                (TraceField::TraceSequenceFile, t as i64 + 1),
                (TraceField::TraceIdentificationCode, 1),
                (TraceField::Offset, offset as i64),
                (TraceField::CoordinateScalar, i64::from(scalar)),
                (TraceField::SourceX, stored(h.sou_x[t], scalar, out)?),
                (TraceField::SourceY, stored(h.sou_y[t], scalar, out)?),
                (TraceField::GroupX, stored(h.rec_x[t], scalar, out)?),
                (TraceField::GroupY, stored(h.rec_y[t], scalar, out)?),
                (TraceField::CoordinateUnits, 1),
                (TraceField::DelayRecordingTime, i64::from(delay)),
                (TraceField::CdpX, stored(h.cdp_x[t], scalar, out)?),
                (TraceField::CdpY, stored(h.cdp_y[t], scalar, out)?),
            ];
            if let (Some(il), Some(xl)) = (&h.inline, &h.crossline) {
                fields.push((TraceField::Inline, i64::from(il[t])));
                fields.push((TraceField::Crossline, i64::from(xl[t])));
            }
            // What import keeps, written back where it came from.
            if let Some(codes) = &h.trace_id {
                fields.push((TraceField::TraceIdentificationCode, i64::from(codes[t])));
            }
            if let (Some(ffid), Some(channel)) = (&h.ffid, &h.channel) {
                fields.push((TraceField::FieldRecord, i64::from(ffid[t])));
                fields.push((TraceField::TraceNumber, i64::from(channel[t])));
            }
            if let (Some(se), Some(re)) = (&h.sou_elev, &h.rec_elev) {
                fields.push((TraceField::ElevationScalar, i64::from(scalar)));
                fields.push((TraceField::SourceSurfaceElevation, stored(se[t], scalar, out)?));
                fields.push((TraceField::ReceiverGroupElevation, stored(re[t], scalar, out)?));
            }
            for (field, value) in fields {
                set(&mut th, field, value, out)?;
            }
            file.write(&th, &samples[(t - start) * ns..(t - start + 1) * ns])?;
        }
    }
    let path = file.finish()?;
    Ok(ExportSummary {
        path,
        traces: layout.n_traces as u64,
        samples_per_trace: ns,
        sample_interval_us: dt_us,
        delay_ms: delay,
        format: options.format.sample_format(),
        coordinate_scalar: scalar,
        lines,
        offsets: vec![],
    })
}

/// Cards of a textual header after the `C nn ` that starts each.
const CARD_TEXT: usize = 76;
/// Cards before the two that close the header.
const TEXT_CARDS: usize = 38;

/// The 40 cards of the textual header from `text`'s lines: each line wrapped at a space onto
/// continuation cards (indented) rather than cut, and in the characters every EBCDIC table
/// agrees on (code pages 037 and 1047, segyio's, SU's): upper-case letters, digits and
/// `.<(+&*);-/,%_>?:#@'="`; brackets and braces become parentheses, anything else `?`. Lines past
/// the 38th card are left out with a note; the last two cards are `SEG Y REV1` and
/// `END TEXTUAL HEADER`.
pub fn textual_cards(text: &[String]) -> Vec<String> {
    let invariant = |c: char| match c.to_ascii_uppercase() {
        c @ ('A'..='Z' | '0'..='9' | ' ') => c,
        c if ".<(+&*);-/,%_>?:#@'=\"".contains(c) => c,
        '[' | '{' => '(',
        ']' | '}' => ')',
        _ => '?',
    };
    let mut body: Vec<String> = Vec::new();
    for line in text {
        let line: String = line.chars().map(invariant).collect();
        let mut rest = line.trim_end();
        let mut first = true;
        loop {
            let indent = if first { "" } else { "  " };
            let room = CARD_TEXT - indent.len();
            if rest.chars().count() <= room {
                body.push(format!("{indent}{rest}"));
                break;
            }
            // Break at the last space that fits, else (one long word) at the width.
            let cut = rest[..room].rfind(' ').filter(|&i| i > 0).unwrap_or(room);
            body.push(format!("{indent}{}", rest[..cut].trim_end()));
            rest = rest[cut..].trim_start();
            first = false;
        }
    }
    if body.len() > TEXT_CARDS {
        body.truncate(TEXT_CARDS - 1);
        body.push("(MORE IN THE OUTPUT DIRECTORY'S RUN.JSON)".into());
    }
    body.resize(TEXT_CARDS, String::new());
    body.push("SEG Y REV1".into());
    body.push("END TEXTUAL HEADER".into());
    body.iter().enumerate().map(|(i, l)| format!("C{:>2} {l}", i + 1)).collect()
}

/// A SEG-Y file being written under its staging name.
struct SegyFile {
    staged: Staged,
    writer: SegyWriter<BufWriter<File>>,
}

impl SegyFile {
    fn create(
        out: &Path,
        options: &ExportOptions,
        mut text: Vec<String>,
        samples_per_trace: usize,
        sample_interval_us: u32,
        binary_fields: Vec<(BinField, i64)>,
    ) -> Result<Self> {
        text.extend(options.text_lines.iter().cloned());
        let lines = textual_cards(&text);
        let staged = Staged::new(out, options.overwrite)?;
        let f = File::create(staged.path()).map_err(|e| IoError::fs(staged.path(), e))?;
        let spec = WriterSpec {
            format: options.format.sample_format(),
            endian: Endian::Big,
            samples_per_trace,
            sample_interval_us,
            textual: TextualHeader::from_lines(&lines, TextEncoding::Ebcdic),
            binary_fields,
        };
        let writer = SegyWriter::new(BufWriter::with_capacity(1 << 20, f), spec).map_err(|e| IoError::segy(out, e))?;
        Ok(Self { staged, writer })
    }

    fn write(&mut self, h: &TraceHeader, samples: &[f32]) -> Result<()> {
        self.writer.write_trace(h, samples).map_err(|e| IoError::segy(self.staged.target(), e))
    }

    fn finish(self) -> Result<PathBuf> {
        let target = self.staged.target().to_path_buf();
        let f = self.writer.finish().map_err(|e| IoError::segy(&target, e))?;
        let f = f.into_inner().map_err(|e| IoError::fs(&target, e.into_error()))?;
        f.sync_all().map_err(|e| IoError::fs(&target, e))?;
        drop(f);
        self.staged.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textual_cards_wrap_instead_of_cutting_and_keep_to_invariant_characters() {
        let long =
            "CDP X BYTES 181-184, CDP Y 185-188 (ALSO SOURCE/GROUP X/Y), SCALAR -100 BYTES 71-72, AND MORE WORDS";
        let text = vec![long.to_string(), "offsets [0, 200] {m} caf\u{e9} | x".to_string()];
        let cards = textual_cards(&text);
        assert_eq!(cards.len(), 40);
        assert!(cards.iter().all(|c| c.len() <= 80), "{cards:?}");
        // Nothing cut: the words of the long line come back from its cards, in order.
        let joined: Vec<&str> = cards[..2].iter().flat_map(|c| c[4..].split_whitespace()).collect();
        assert_eq!(joined, long.split_whitespace().collect::<Vec<_>>());
        assert!(cards[1].starts_with("C 2   "), "continuation indented: {:?}", cards[1]);
        assert_eq!(cards[2], "C 3 OFFSETS (0, 200) (M) CAF? ? X");
        assert_eq!((cards[38].as_str(), cards[39].as_str()), ("C39 SEG Y REV1", "C40 END TEXTUAL HEADER"));
        // Too many lines: the last body card says where the rest is.
        let many: Vec<String> = (0..50).map(|i| format!("LINE {i}")).collect();
        let cards = textual_cards(&many);
        assert!(cards[37].contains("RUN.JSON") && cards[36] == "C37 LINE 36", "{:?}", &cards[35..]);
    }
}
