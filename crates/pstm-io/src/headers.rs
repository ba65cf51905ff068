//! Trace headers: one row per trace, stored as `headers.parquet`.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use pstm_math::TraceGeometry;

use crate::error::{IoError, Result};

/// Column names, as in the reference package.
pub mod col {
    pub const TRACE_IDX: &str = "trace_idx";
    pub const SOU_X: &str = "SOU_X";
    pub const SOU_Y: &str = "SOU_Y";
    pub const REC_X: &str = "REC_X";
    pub const REC_Y: &str = "REC_Y";
    pub const CDP_X: &str = "CDP_X";
    pub const CDP_Y: &str = "CDP_Y";
    pub const OFFSET: &str = "OFFSET";
    pub const AZIMUTH: &str = "AZIMUTH";
    pub const INLINE: &str = "INLINE";
    pub const CROSSLINE: &str = "CROSSLINE";
    /// SEG-Y trace identification code (bytes 29-30).
    pub const TRACE_ID: &str = "TRACE_ID";
    /// Field record number (SEG-Y bytes 9-12) and channel (trace number within it, 13-16).
    pub const FFID: &str = "FFID";
    pub const CHANNEL: &str = "CHANNEL";
    /// Source and receiver elevations (m, above the survey's reference; SEG-Y bytes 45-48 and
    /// 41-44, scaled).
    pub const SOU_ELEV: &str = "SOU_ELEV";
    pub const REC_ELEV: &str = "REC_ELEV";
}

/// SEG-Y trace identification codes a migration leaves out: 2 dead, 3 dummy, and the auxiliary
/// traces 4-8 (time break, uphole, sweep, timing, water break). 1 (seismic data), 0 and -1
/// (unknown, other) and 9 and up (optional use) are migrated.
pub fn is_unused_trace_code(code: i16) -> bool {
    (2..=8).contains(&code)
}

/// The code pstm gives a trace whose samples are all zero (or were zeroed): dead.
pub const DEAD_TRACE_CODE: i16 = 2;

/// Which optional columns a header set has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderColumns {
    /// INLINE and CROSSLINE.
    pub lines: bool,
    pub trace_id: bool,
    /// FFID and CHANNEL.
    pub field_record: bool,
    /// SOU_ELEV and REC_ELEV.
    pub elevations: bool,
}

/// Headers of a set of traces, column by column. Coordinates in metres, azimuth in degrees
/// clockwise from north (source to receiver).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceHeaders {
    pub trace_idx: Vec<u64>,
    pub sou_x: Vec<f64>,
    pub sou_y: Vec<f64>,
    pub rec_x: Vec<f64>,
    pub rec_y: Vec<f64>,
    pub cdp_x: Vec<f64>,
    pub cdp_y: Vec<f64>,
    pub offset: Vec<f64>,
    pub azimuth: Vec<f64>,
    pub inline: Option<Vec<i32>>,
    pub crossline: Option<Vec<i32>>,
    /// SEG-Y trace identification codes ([`is_unused_trace_code`]); absent: every trace is live.
    pub trace_id: Option<Vec<i16>>,
    /// Field record numbers and channels, where the data has them (kill lists name traces so).
    pub ffid: Option<Vec<i32>>,
    pub channel: Option<Vec<i32>>,
    /// Source and receiver elevations (m), where the data has them.
    pub sou_elev: Option<Vec<f64>>,
    pub rec_elev: Option<Vec<f64>>,
}

impl TraceHeaders {
    pub fn len(&self) -> usize {
        self.trace_idx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trace_idx.is_empty()
    }

    /// Append a trace; midpoint, offset and azimuth are derived from the coordinates.
    pub fn push(&mut self, trace_idx: u64, g: &TraceGeometry, inline_crossline: Option<(i32, i32)>) {
        let (mx, my) = g.midpoint();
        self.trace_idx.push(trace_idx);
        self.sou_x.push(g.sx);
        self.sou_y.push(g.sy);
        self.rec_x.push(g.rx);
        self.rec_y.push(g.ry);
        self.cdp_x.push(mx);
        self.cdp_y.push(my);
        self.offset.push(g.offset());
        self.azimuth.push(g.azimuth_deg());
        if let Some((il, xl)) = inline_crossline {
            self.inline.get_or_insert_with(Vec::new).push(il);
            self.crossline.get_or_insert_with(Vec::new).push(xl);
        }
    }

    /// Record the last pushed trace's identification code, field record and channel.
    pub fn set_segy_ids(&mut self, trace_id: i16, ffid: i32, channel: i32) {
        self.trace_id.get_or_insert_with(Vec::new).push(trace_id);
        self.ffid.get_or_insert_with(Vec::new).push(ffid);
        self.channel.get_or_insert_with(Vec::new).push(channel);
    }

    /// Record the last pushed trace's source and receiver elevations (m).
    pub fn set_elevations(&mut self, source: f64, receiver: f64) {
        self.sou_elev.get_or_insert_with(Vec::new).push(source);
        self.rec_elev.get_or_insert_with(Vec::new).push(receiver);
    }

    pub fn columns(&self) -> HeaderColumns {
        HeaderColumns {
            lines: self.inline.is_some(),
            trace_id: self.trace_id.is_some(),
            field_record: self.ffid.is_some() && self.channel.is_some(),
            elevations: self.sou_elev.is_some() && self.rec_elev.is_some(),
        }
    }

    /// Whether trace `i` is migrated at all: not dead, dummy or auxiliary by its code.
    pub fn is_live(&self, i: usize) -> bool {
        self.trace_id.as_ref().is_none_or(|c| !is_unused_trace_code(c[i]))
    }

    pub fn geometry(&self, i: usize) -> TraceGeometry {
        TraceGeometry { sx: self.sou_x[i], sy: self.sou_y[i], rx: self.rec_x[i], ry: self.rec_y[i] }
    }

    fn schema(columns: HeaderColumns) -> Arc<Schema> {
        let mut fields = vec![Field::new(col::TRACE_IDX, DataType::Int64, false)];
        for name in [col::SOU_X, col::SOU_Y, col::REC_X, col::REC_Y, col::CDP_X, col::CDP_Y, col::OFFSET, col::AZIMUTH]
        {
            fields.push(Field::new(name, DataType::Float64, false));
        }
        if columns.lines {
            fields.push(Field::new(col::INLINE, DataType::Int32, false));
            fields.push(Field::new(col::CROSSLINE, DataType::Int32, false));
        }
        if columns.trace_id {
            fields.push(Field::new(col::TRACE_ID, DataType::Int32, false));
        }
        if columns.field_record {
            fields.push(Field::new(col::FFID, DataType::Int32, false));
            fields.push(Field::new(col::CHANNEL, DataType::Int32, false));
        }
        if columns.elevations {
            fields.push(Field::new(col::SOU_ELEV, DataType::Float64, false));
            fields.push(Field::new(col::REC_ELEV, DataType::Float64, false));
        }
        Arc::new(Schema::new(fields))
    }

    fn record_batch(&self) -> RecordBatch {
        let f = |v: &Vec<f64>| Arc::new(Float64Array::from(v.clone())) as ArrayRef;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.trace_idx.iter().map(|&i| i as i64).collect::<Vec<_>>())),
            f(&self.sou_x),
            f(&self.sou_y),
            f(&self.rec_x),
            f(&self.rec_y),
            f(&self.cdp_x),
            f(&self.cdp_y),
            f(&self.offset),
            f(&self.azimuth),
        ];
        if let (Some(il), Some(xl)) = (&self.inline, &self.crossline) {
            columns.push(Arc::new(Int32Array::from(il.clone())));
            columns.push(Arc::new(Int32Array::from(xl.clone())));
        }
        if let Some(codes) = &self.trace_id {
            columns.push(Arc::new(Int32Array::from(codes.iter().map(|&c| i32::from(c)).collect::<Vec<_>>())));
        }
        if let (Some(ffid), Some(channel)) = (&self.ffid, &self.channel) {
            columns.push(Arc::new(Int32Array::from(ffid.clone())));
            columns.push(Arc::new(Int32Array::from(channel.clone())));
        }
        if let (Some(s), Some(r)) = (&self.sou_elev, &self.rec_elev) {
            columns.push(f(s));
            columns.push(f(r));
        }
        RecordBatch::try_new(Self::schema(self.columns()), columns).expect("header columns have equal lengths")
    }

    /// These headers as another writer may store them: without the `trace_idx` column.
    #[cfg(test)]
    pub(crate) fn record_batch_without_trace_idx(&self) -> RecordBatch {
        let batch = self.record_batch();
        let keep: Vec<usize> = (1..batch.num_columns()).collect();
        batch.project(&keep).expect("valid projection")
    }

    /// Write all headers to one parquet file.
    pub fn write_parquet(&self, path: &Path) -> Result<()> {
        let mut w = HeaderWriter::create(path, self.columns())?;
        w.append(self)?;
        w.finish()
    }

    /// Read `headers.parquet`. Rows are returned in `trace_idx` order, which must be a permutation
    /// of `0..n`; missing CDP, OFFSET or AZIMUTH columns are derived from the coordinates.
    /// Without a `trace_idx` column rows are taken in file order, which only the dataset can
    /// vouch for ([`TraceHeaders::read_parquet_checked`]).
    pub fn read_parquet(path: &Path) -> Result<Self> {
        Ok(Self::read_parquet_checked(path)?.0)
    }

    /// [`TraceHeaders::read_parquet`], and whether the file had a `trace_idx` column.
    pub fn read_parquet_checked(path: &Path) -> Result<(Self, bool)> {
        let file = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => IoError::Missing { path: path.to_path_buf() },
            _ => IoError::fs(path, e),
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| IoError::parquet(path, e))?;
        let schema = builder.schema().clone();
        for required in [col::SOU_X, col::SOU_Y, col::REC_X, col::REC_Y] {
            if schema.field_with_name(required).is_err() {
                let have: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return Err(IoError::invalid(
                    path,
                    format!("missing column {required} (columns: {})", have.join(", ")),
                ));
            }
        }
        let reader = builder.with_batch_size(65536).build().map_err(|e| IoError::parquet(path, e))?;
        let mut raw = RawColumns::default();
        for batch in reader {
            let batch = batch.map_err(|e| IoError::parquet(path, e))?;
            raw.extend(&batch, path)?;
        }
        let had_trace_idx = raw.trace_idx.is_some() || schema.field_with_name(col::TRACE_IDX).is_ok();
        Ok((raw.into_headers(path)?, had_trace_idx))
    }
}

/// Streams headers into a parquet file, one row group per append.
pub struct HeaderWriter {
    writer: ArrowWriter<File>,
    path: std::path::PathBuf,
    columns: HeaderColumns,
}

impl HeaderWriter {
    pub fn create(path: &Path, columns: HeaderColumns) -> Result<Self> {
        let file = File::create(path).map_err(|e| IoError::fs(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid zstd level")))
            .build();
        let writer = ArrowWriter::try_new(file, TraceHeaders::schema(columns), Some(props))
            .map_err(|e| IoError::parquet(path, e))?;
        Ok(Self { writer, path: path.to_path_buf(), columns })
    }

    pub fn append(&mut self, headers: &TraceHeaders) -> Result<()> {
        if headers.columns() != self.columns {
            return Err(IoError::invalid(
                &self.path,
                format!("header blocks with different columns ({:?}, then {:?})", self.columns, headers.columns()),
            ));
        }
        self.writer.write(&headers.record_batch()).map_err(|e| IoError::parquet(&self.path, e))?;
        self.writer.flush().map_err(|e| IoError::parquet(&self.path, e))
    }

    pub fn finish(self) -> Result<()> {
        self.writer.close().map_err(|e| IoError::parquet(&self.path, e))?;
        Ok(())
    }
}

#[derive(Default)]
struct RawColumns {
    trace_idx: Option<Vec<u64>>,
    f64s: std::collections::BTreeMap<&'static str, Vec<f64>>,
    i32s: std::collections::BTreeMap<&'static str, Vec<i32>>,
    rows: usize,
}

const FLOAT_COLUMNS: [&str; 10] = [
    col::SOU_X,
    col::SOU_Y,
    col::REC_X,
    col::REC_Y,
    col::CDP_X,
    col::CDP_Y,
    col::OFFSET,
    col::AZIMUTH,
    col::SOU_ELEV,
    col::REC_ELEV,
];

fn column_f64(a: &ArrayRef, name: &str, path: &Path, row0: usize) -> Result<Vec<f64>> {
    let any = a.as_any();
    let values: Vec<Option<f64>> = if let Some(x) = any.downcast_ref::<Float64Array>() {
        x.iter().collect()
    } else if let Some(x) = any.downcast_ref::<Float32Array>() {
        x.iter().map(|v| v.map(f64::from)).collect()
    } else if let Some(x) = any.downcast_ref::<Int32Array>() {
        x.iter().map(|v| v.map(f64::from)).collect()
    } else if let Some(x) = any.downcast_ref::<Int64Array>() {
        x.iter().map(|v| v.map(|v| v as f64)).collect()
    } else if let Some(x) = any.downcast_ref::<UInt32Array>() {
        x.iter().map(|v| v.map(f64::from)).collect()
    } else if let Some(x) = any.downcast_ref::<UInt64Array>() {
        x.iter().map(|v| v.map(|v| v as f64)).collect()
    } else {
        return Err(IoError::invalid(path, format!("column {name} has type {}, expected a number", a.data_type())));
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(v) if v.is_finite() => Ok(v),
            Some(v) => Err(IoError::invalid(path, format!("column {name}, row {}: value {v} is not finite", row0 + i))),
            None => Err(IoError::invalid(path, format!("column {name}, row {}: value is missing (null)", row0 + i))),
        })
        .collect()
}

impl RawColumns {
    fn extend(&mut self, batch: &RecordBatch, path: &Path) -> Result<()> {
        let schema = batch.schema();
        let row0 = self.rows;
        if let Ok(i) = schema.index_of(col::TRACE_IDX) {
            let v = column_f64(batch.column(i), col::TRACE_IDX, path, row0)?;
            self.trace_idx.get_or_insert_with(Vec::new).extend(v.into_iter().map(|x| x as u64));
        }
        for name in FLOAT_COLUMNS {
            if let Ok(i) = schema.index_of(name) {
                let v = column_f64(batch.column(i), name, path, row0)?;
                self.f64s.entry(name).or_default().extend(v);
            }
        }
        for name in [col::INLINE, col::CROSSLINE, col::TRACE_ID, col::FFID, col::CHANNEL] {
            if let Ok(i) = schema.index_of(name) {
                let v = column_f64(batch.column(i), name, path, row0)?;
                self.i32s.entry(name).or_default().extend(v.into_iter().map(|x| x as i32));
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    fn into_headers(mut self, path: &Path) -> Result<TraceHeaders> {
        let n = self.rows;
        let trace_idx = self.trace_idx.take().unwrap_or_else(|| (0..n as u64).collect());
        // Order rows by trace_idx, which must name every trace once.
        let mut order = vec![usize::MAX; n];
        for (row, &t) in trace_idx.iter().enumerate() {
            let t = t as usize;
            if t >= n {
                return Err(IoError::invalid(path, format!("row {row}: trace_idx {t} is outside 0..{n}")));
            }
            if order[t] != usize::MAX {
                return Err(IoError::invalid(path, format!("row {row}: trace_idx {t} repeats row {}", order[t])));
            }
            order[t] = row;
        }
        let take = |v: &Vec<f64>| order.iter().map(|&r| v[r]).collect::<Vec<f64>>();
        let mut get = |name: &str| self.f64s.remove(name).map(|v| take(&v));
        // The schema has these columns (checked on open); a file without rows has no batches.
        let (sou_x, sou_y, rec_x, rec_y) = (
            get(col::SOU_X).unwrap_or_default(),
            get(col::SOU_Y).unwrap_or_default(),
            get(col::REC_X).unwrap_or_default(),
            get(col::REC_Y).unwrap_or_default(),
        );
        let (cdp_x, cdp_y, offset, azimuth) = (get(col::CDP_X), get(col::CDP_Y), get(col::OFFSET), get(col::AZIMUTH));
        let geometry = |i: usize| TraceGeometry { sx: sou_x[i], sy: sou_y[i], rx: rec_x[i], ry: rec_y[i] };
        let cdp_x = cdp_x.unwrap_or_else(|| (0..n).map(|i| geometry(i).midpoint().0).collect());
        let cdp_y = cdp_y.unwrap_or_else(|| (0..n).map(|i| geometry(i).midpoint().1).collect());
        let offset = offset.unwrap_or_else(|| (0..n).map(|i| geometry(i).offset()).collect());
        let azimuth = azimuth.unwrap_or_else(|| (0..n).map(|i| geometry(i).azimuth_deg()).collect());
        let lines = |v: Option<Vec<i32>>| v.map(|v| order.iter().map(|&r| v[r]).collect::<Vec<i32>>());
        let inline = lines(self.i32s.remove(col::INLINE));
        let crossline = lines(self.i32s.remove(col::CROSSLINE));
        let (inline, crossline) = match (inline, crossline) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => (None, None),
        };
        let trace_id = lines(self.i32s.remove(col::TRACE_ID))
            .map(|v| v.into_iter().map(|c| c.clamp(i16::MIN.into(), i16::MAX.into()) as i16).collect());
        let (ffid, channel) = match (lines(self.i32s.remove(col::FFID)), lines(self.i32s.remove(col::CHANNEL))) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => (None, None),
        };
        let (sou_elev, rec_elev) = match (get(col::SOU_ELEV), get(col::REC_ELEV)) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => (None, None),
        };
        Ok(TraceHeaders {
            trace_idx: (0..n as u64).collect(),
            sou_x,
            sou_y,
            rec_x,
            rec_y,
            cdp_x,
            cdp_y,
            offset,
            azimuth,
            inline,
            crossline,
            trace_id,
            ffid,
            channel,
            sou_elev,
            rec_elev,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_round_trip_and_reordering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("headers.parquet");
        let mut h = TraceHeaders::default();
        for i in 0..5u64 {
            let g = TraceGeometry::from_midpoint(10.0 * i as f64, 3.0, 200.0 + i as f64, 45.0);
            h.push(i, &g, Some((i as i32, 7)));
        }
        h.write_parquet(&path).unwrap();
        assert_eq!(TraceHeaders::read_parquet(&path).unwrap(), h);

        // Rows stored out of order come back in trace_idx order.
        let mut shuffled = h.clone();
        shuffled.trace_idx = vec![3, 0, 4, 1, 2];
        shuffled.write_parquet(&path).unwrap();
        let back = TraceHeaders::read_parquet(&path).unwrap();
        assert_eq!(back.sou_x[3], h.sou_x[0]);
        assert_eq!(back.inline.as_ref().unwrap()[3], 0);

        // A file with the columns but no rows is a valid, empty header set.
        TraceHeaders { inline: None, crossline: None, ..Default::default() }.write_parquet(&path).unwrap();
        assert_eq!(TraceHeaders::read_parquet(&path).unwrap().len(), 0);
        shuffled.write_parquet(&path).unwrap();

        shuffled.trace_idx = vec![3, 0, 3, 1, 2];
        shuffled.write_parquet(&path).unwrap();
        let e = TraceHeaders::read_parquet(&path).unwrap_err().to_string();
        assert!(e.contains("row 2: trace_idx 3 repeats row 0"), "{e}");
    }
}
