"""Open and write pstm datasets and volumes with zarr-python and pyarrow, the readers users trust.

    python3 zarr_dataset.py read-dataset DIR      -> JSON summary of traces.zarr + headers.parquet
    python3 zarr_dataset.py read-volume PATH      -> JSON summary of an output volume
    python3 zarr_dataset.py read-multiscale PATH  -> each level of a multiscale stack against numpy's block means of level 0, and as xarray opens it
    python3 zarr_dataset.py write-dataset DIR V   -> a dataset written with zarr format V (2 or 3)

Called by crates/pstm-engine/tests/python_interop.rs, which compares against pstm's own reading.
"""
import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zarr


def summary(a):
    a = np.asarray(a, dtype=np.float64)
    return {"sum": float(a.sum()), "sum_abs": float(np.abs(a).sum()), "max": float(a.max()), "min": float(a.min())}


def read_dataset(root):
    t = zarr.open_array(f"{root}/traces.zarr", mode="r")
    data = t[:]
    h = pq.read_table(f"{root}/headers.parquet")
    out = {
        "shape": list(t.shape),
        "dtype": str(t.dtype),
        "zarr_format": t.metadata.zarr_format,
        "chunks": list(t.chunks),
        "attrs": dict(t.attrs),
        "samples": summary(data),
        "trace_5": [float(v) for v in data[5, :8]],
        "columns": h.column_names,
        "rows": h.num_rows,
        "header_row_5": {c: h.column(c)[5].as_py() for c in h.column_names},
    }
    print(json.dumps(out))


def read_volume(path):
    v = zarr.open_array(path, mode="r")
    data = v[:]
    print(json.dumps({"shape": list(v.shape), "dtype": str(v.dtype), "attrs": dict(v.attrs), "values": summary(data),
                      "column_0_0": [float(x) for x in data[0, 0, :8]]}))


def read_multiscale(path):
    import xarray as xr

    g = zarr.open_group(path, mode="r")
    ms = g.attrs["multiscales"][0]
    level0 = np.asarray(g[ms["datasets"][0]["path"]][:], dtype=np.float64)
    levels = []
    for k, d in enumerate(ms["datasets"]):
        a = np.asarray(g[d["path"]][:], dtype=np.float64)
        b = 2 ** k
        # Means of b x b x b blocks, the far edges' partial blocks included (NaN padding).
        padded = np.pad(level0, [(0, (-n) % b) for n in level0.shape], constant_values=np.nan)
        s0, s1, s2 = (n // b for n in padded.shape)
        expected = np.nanmean(padded.reshape(s0, b, s1, b, s2, b), axis=(1, 3, 5))
        group, name = d["path"].split("/")
        ds = xr.open_zarr(path, group=group, consolidated=False)
        levels.append({
            "path": d["path"],
            "shape": list(a.shape),
            "max_abs_error": float(np.max(np.abs(a - expected))),
            "xarray_sizes": {str(k): int(v) for k, v in ds.sizes.items()},
            "xarray_variables": list(ds.data_vars),
            "xarray_sum": float(ds[name].values.astype(np.float64).sum()),
            "sum": float(a.sum()),
        })
    print(json.dumps({"axes": [x["name"] for x in ms["axes"]], "peak": float(np.abs(level0).max()), "levels": levels}))


def write_dataset(root, fmt):
    n, ns = 37, 23
    i = np.arange(n)[:, None]
    j = np.arange(ns)[None, :]
    samples = np.sin(0.1 * i + 0.01 * j).astype(np.float32)
    # zarr-python's own default codecs for each format (v2: Zstd via numcodecs, v3: zstd).
    t = zarr.create_array(f"{root}/traces.zarr", shape=samples.shape, chunks=(10, ns), dtype="float32", zarr_format=fmt)
    t[:] = samples
    t.attrs.update({"sample_rate_ms": 4.0, "start_time_ms": 120.0, "n_traces": n, "n_samples": ns})
    idx = np.arange(n)
    # Rows stored in reverse trace order: readers must order by trace_idx.
    order = idx[::-1]
    table = pa.table({
        "trace_idx": pa.array(order, type=pa.int64()),
        "SOU_X": pa.array(1000.0 + 10.0 * order), "SOU_Y": pa.array(2000.0 + 0.0 * order),
        "REC_X": pa.array(1300.0 + 10.0 * order), "REC_Y": pa.array(2000.0 + 5.0 * order),
        "OFFSET": pa.array(np.hypot(300.0, 5.0 * order)),
        "INLINE": pa.array((order // 10).astype(np.int32)), "CROSSLINE": pa.array((order % 10).astype(np.int32)),
    })
    pq.write_table(table, f"{root}/headers.parquet")
    print(json.dumps({"written": root, "zarr_format": fmt, "samples": summary(samples),
                      "trace_5": [float(v) for v in samples[5, :8]]}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "read-dataset":
        read_dataset(sys.argv[2])
    elif cmd == "read-volume":
        read_volume(sys.argv[2])
    elif cmd == "read-multiscale":
        read_multiscale(sys.argv[2])
    elif cmd == "write-dataset":
        write_dataset(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown command {cmd}")
