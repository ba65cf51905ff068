//! Thin helpers over zarrs: one filesystem store per array, arrays at the store root.

use std::path::Path;
use std::sync::Arc;

use zarrs::array::{Array, ArrayBuilder, data_type};
use zarrs::filesystem::FilesystemStore;

use crate::error::{IoError, Result};

pub(crate) type ZArray = Array<FilesystemStore>;

/// Element types of the arrays pstm writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    F32,
    U32,
}

pub(crate) fn open(path: &Path) -> Result<ZArray> {
    if !path.exists() {
        return Err(IoError::Missing { path: path.to_path_buf() });
    }
    let store = Arc::new(FilesystemStore::new(path).map_err(|e| IoError::zarr(path, e))?);
    Array::open(store, "/").map_err(|e| IoError::zarr(path, format!("not a readable zarr array: {e}")))
}

/// Create a zstd-compressed v3 array at `path`, each chunk with a crc32c checksum, and store its
/// metadata: a chunk damaged on disk fails to decode instead of decoding into other numbers.
pub(crate) fn create(
    path: &Path,
    shape: Vec<u64>,
    chunk: Vec<u64>,
    element: Element,
    dimension_names: &[&str],
    attributes: serde_json::Map<String, serde_json::Value>,
) -> Result<ZArray> {
    std::fs::create_dir_all(path).map_err(|e| IoError::fs(path, e))?;
    let store = Arc::new(FilesystemStore::new(path).map_err(|e| IoError::zarr(path, e))?);
    let mut builder = match element {
        Element::F32 => ArrayBuilder::new(shape, chunk, data_type::float32(), 0.0f32),
        Element::U32 => ArrayBuilder::new(shape, chunk, data_type::uint32(), 0u32),
    };
    builder
        // Level 1: trace data is noisy and compresses little; speed matters more than ratio.
        .bytes_to_bytes_codecs(vec![
            Arc::new(zarrs::array::codec::ZstdCodec::new(1, false)),
            Arc::new(zarrs::array::codec::Crc32cCodec::new()),
        ])
        .dimension_names(Some(dimension_names.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        .attributes(attributes);
    let array = builder.build(store, "/").map_err(|e| IoError::zarr(path, e))?;
    array.store_metadata().map_err(|e| IoError::zarr(path, e))?;
    Ok(array)
}

/// Create a v3 group at `path` (a directory whose children are other arrays and groups) and
/// store its metadata.
pub(crate) fn create_group(path: &Path, attributes: serde_json::Map<String, serde_json::Value>) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| IoError::fs(path, e))?;
    let store = Arc::new(FilesystemStore::new(path).map_err(|e| IoError::zarr(path, e))?);
    let group = zarrs::group::GroupBuilder::new()
        .attributes(attributes)
        .build(store, "/")
        .map_err(|e| IoError::zarr(path, e))?;
    group.store_metadata().map_err(|e| IoError::zarr(path, e))
}

pub(crate) fn attr_f64(array: &ZArray, path: &Path, name: &str) -> Result<f64> {
    array
        .attributes()
        .get(name)
        .and_then(|v| v.as_f64())
        .ok_or_else(|| IoError::invalid(path, format!("attribute {name} is missing or not a number")))
}

pub(crate) fn attr_f64_opt(array: &ZArray, name: &str) -> Option<f64> {
    array.attributes().get(name).and_then(|v| v.as_f64())
}
