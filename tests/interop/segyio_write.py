"""Write SEG-Y files with segyio for pstm's import to read, and what pstm must find in them.

Usage: python3 segyio_write.py OUT_DIR

Writes OUT_DIR/<case>.sgy for several sample formats, byte orders, header layouts and delays,
OUT_DIR/<case>.f32 (the samples as segyio reads them back, little-endian float32, trace after
trace) and OUT_DIR/manifest.json listing each case: the header map pstm needs for it, the
layout, and the coordinates and line numbers of every trace as scaled values.
Called by crates/pstm-io/tests/segyio_interop.rs.
"""

import json
import os
import sys

import numpy as np
import segyio
from segyio import TraceField as TF

N_TRACES = 12
N_SAMPLES = 50


def scaled(raw, scalar):
    """SEG-Y scalar convention: positive multiplies, negative divides, 0 means 1."""
    if scalar < 0:
        return raw / -scalar
    return raw * (scalar if scalar > 0 else 1)


# name, format, endian, dt (ms), delay (ms), scalar, where each value goes (segyio fields),
# and the pstm header map that points at those places.
CASES = [
    dict(name="ibm_standard", format=1, endian="big", dt=4.0, delay=100, scalar=-100,
         fields=dict(sx=TF.SourceX, sy=TF.SourceY, gx=TF.GroupX, gy=TF.GroupY,
                     cdpx=TF.CDP_X, cdpy=TF.CDP_Y, inline=TF.INLINE_3D, crossline=TF.CROSSLINE_3D),
         map=""),
    dict(name="ieee_standard_little", format=5, endian="little", dt=2.0, delay=0, scalar=10,
         fields=dict(sx=TF.SourceX, sy=TF.SourceY, gx=TF.GroupX, gy=TF.GroupY,
                     cdpx=TF.CDP_X, cdpy=TF.CDP_Y, inline=TF.INLINE_3D, crossline=TF.CROSSLINE_3D),
         map=""),
    # Lines where older processing systems keep them, receivers in the unassigned bytes.
    dict(name="ieee_lines_9_21", format=5, endian="big", dt=1.0, delay=250, scalar=0,
         fields=dict(sx=TF.SourceX, sy=TF.SourceY, gx=TF.UnassignedInt1, gy=TF.UnassignedInt2,
                     cdpx=TF.CDP_X, cdpy=TF.CDP_Y, inline=TF.FieldRecord, crossline=TF.CDP),
         map="inline=9,crossline=21,gx=233,gy=237", blank_counts=True),
    # Coordinates under a scalar stored at the shot point scalar's bytes, IBM, negative delay.
    dict(name="ibm_scalar_201", format=1, endian="big", dt=8.0, delay=-40, scalar=-1000,
         scalar_field=TF.ShotPointScalar,
         fields=dict(sx=TF.SourceX, sy=TF.SourceY, gx=TF.GroupX, gy=TF.GroupY,
                     cdpx=TF.CDP_X, cdpy=TF.CDP_Y, inline=TF.INLINE_3D, crossline=TF.CROSSLINE_3D),
         map="scalco=201"),
]


def write_case(out_dir, case, rng):
    path = os.path.join(out_dir, case["name"] + ".sgy")
    spec = segyio.spec()
    spec.format = case["format"]
    spec.endian = case["endian"]
    spec.samples = case["delay"] + case["dt"] * np.arange(N_SAMPLES)
    spec.tracecount = N_TRACES
    data = (rng.standard_normal((N_TRACES, N_SAMPLES)) * 1000).astype(np.float32)
    scalar = case["scalar"]
    scalar_field = case.get("scalar_field", TF.SourceGroupScalar)
    expected = {k: [] for k in case["fields"]}
    with segyio.create(path, spec) as f:
        for t in range(N_TRACES):
            raw = {
                "sx": 100_000 + 2_500 * t, "sy": 200_000 - 1_000 * t,
                "gx": 140_000 + 2_500 * t, "gy": 230_000 - 1_000 * t,
                "inline": 1000 + t // 4, "crossline": 2000 + t % 4,
            }
            raw["cdpx"] = (raw["sx"] + raw["gx"]) // 2
            raw["cdpy"] = (raw["sy"] + raw["gy"]) // 2
            header = {case["fields"][k]: v for k, v in raw.items()}
            header[scalar_field] = scalar
            header[TF.DelayRecordingTime] = case["delay"]
            # segyio leaves these at 0 unless told; readers must cope with both.
            if not case.get("blank_counts"):
                header[TF.TRACE_SAMPLE_COUNT] = N_SAMPLES
                header[TF.TRACE_SAMPLE_INTERVAL] = int(case["dt"] * 1000)
            header[TF.offset] = int(np.hypot(raw["gx"] - raw["sx"], raw["gy"] - raw["sy"]))
            f.header[t] = header
            f.trace[t] = data[t]
            for k, v in raw.items():
                is_line = k in ("inline", "crossline")
                expected[k].append(v if is_line else scaled(v, scalar))
    # What a reader must find: the samples as segyio itself reads them (IBM is lossy on writing).
    with segyio.open(path, ignore_geometry=True, endian=case["endian"]) as f:
        back = np.stack([np.asarray(f.trace[t], dtype=np.float32) for t in range(N_TRACES)])
        assert f.samples[0] == case["delay"], (f.samples[0], case["delay"])
    back.astype("<f4").tofile(os.path.join(out_dir, case["name"] + ".f32"))
    return {
        "name": case["name"], "file": path, "samples_file": os.path.join(out_dir, case["name"] + ".f32"),
        "map": case["map"], "format": case["format"], "endian": case["endian"],
        "n_traces": N_TRACES, "n_samples": N_SAMPLES, "dt_ms": case["dt"], "delay_ms": case["delay"],
        "expected": expected,
    }


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(6)
    manifest = [write_case(out_dir, c, rng) for c in CASES]
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
