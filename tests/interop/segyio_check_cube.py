"""Check that segyio opens a SEG-Y file written by pstm as the cube pstm meant.

Usage: python3 segyio_check_cube.py CASE_JSON

CASE_JSON holds: file; ilines, xlines, offsets (lists); samples_ms (list); format (code);
cdp_xy (one [x, y] per trace, in file order); coordinate_tolerance; values_file (little-endian
float32 of shape (n_ilines, n_xlines, n_offsets, n_samples)); optionally text (the 40 cards
of the textual header, which segyio must decode to exactly these, in printable ASCII). segyio opens the file with its
defaults (inline at bytes 189, crossline at 193, geometry inferred, strict), so this is what
any segyio user gets. Exits non-zero with the first difference found.
Called by crates/pstm-io/tests/segyio_interop.rs.
"""

import json
import sys

import numpy as np
import segyio


def fail(message):
    print("segyio check failed: " + message)
    sys.exit(1)


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    with segyio.open(case["file"]) as f:
        checks = [
            ("ilines", list(map(int, f.ilines)), case["ilines"]),
            ("xlines", list(map(int, f.xlines)), case["xlines"]),
            ("offsets", list(map(int, f.offsets)), case["offsets"]),
            ("sorting", f.sorting, segyio.TraceSortingFormat.INLINE_SORTING),
            ("format", int(f.bin[segyio.BinField.Format]), case["format"]),
            ("tracecount", f.tracecount, len(case["cdp_xy"])),
        ]
        for name, got, want in checks:
            if got != want:
                fail(f"{name}: segyio reads {got}, expected {want}")
        if not np.allclose(f.samples, case["samples_ms"], rtol=0, atol=1e-9):
            fail(f"samples: segyio reads {list(f.samples[:3])}..., expected {case['samples_ms'][:3]}...")
        tol = case["coordinate_tolerance"]
        for t, (x, y) in enumerate(case["cdp_xy"]):
            h = f.header[t]
            s = h[segyio.TraceField.SourceGroupScalar]
            scale = (1.0 / -s) if s < 0 else (s if s > 0 else 1)
            gx, gy = h[segyio.TraceField.CDP_X] * scale, h[segyio.TraceField.CDP_Y] * scale
            if abs(gx - x) > tol or abs(gy - y) > tol:
                fail(f"trace {t}: CDP ({gx}, {gy}), expected ({x}, {y})")
        if "text" in case:
            # segyio decodes the textual header to ASCII with its own EBCDIC table.
            text = bytes(f.text[0]).decode("latin-1")
            odd = sorted({c for c in text if not 32 <= ord(c) < 127})
            if odd:
                fail(f"textual header: characters segyio cannot show: {odd!r}")
            for i, want in enumerate(case["text"]):
                got = text[i * 80 : (i + 1) * 80].rstrip()
                if got != want:
                    fail(f"textual header card {i + 1}: segyio reads {got!r}, expected {want!r}")
        shape = (len(case["ilines"]), len(case["xlines"]), len(case["offsets"]), len(case["samples_ms"]))
        want = np.fromfile(case["values_file"], dtype="<f4").reshape(shape)
        got = segyio.tools.cube(f).astype(np.float32).reshape(shape)
        if not np.array_equal(got, want):
            i = np.argwhere(got != want)[0]
            fail(f"value at (inline, crossline, offset, sample) index {tuple(i)}: {got[tuple(i)]}, expected {want[tuple(i)]}")
    print("segyio check passed: " + case["file"])


if __name__ == "__main__":
    main()
