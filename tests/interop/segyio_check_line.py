"""Open a 2D line pstm exported and check it against what pstm wrote.

Usage: segyio_check_line.py SEGY EXPECT_JSON
EXPECT_JSON: {"traces": n, "samples": ns, "dt_us": dt, "first_cdp": c0, "sums": [sum of each trace],
              "cdp_x": [...], "cdp_y": [...], "scalar": s}
segyio opens a 2D line without a 3D geometry (ignore_geometry), as its documentation says to.
Prints {"ok": true} or raises.
"""
import json
import sys

import numpy as np
import segyio

expect = json.loads(sys.argv[2])
with segyio.open(sys.argv[1], ignore_geometry=True) as f:
    assert f.unstructured, "a 2D line has no inline/crossline geometry"
    assert f.tracecount == expect["traces"], (f.tracecount, expect["traces"])
    assert len(f.samples) == expect["samples"]
    assert int(f.bin[segyio.BinField.Interval]) == expect["dt_us"]
    cdps = [f.header[i][segyio.TraceField.CDP] for i in range(f.tracecount)]
    assert cdps == list(range(expect["first_cdp"], expect["first_cdp"] + f.tracecount)), cdps[:5]
    for i in range(f.tracecount):
        h = f.header[i]
        assert h[segyio.TraceField.INLINE_3D] == 0 and h[segyio.TraceField.CROSSLINE_3D] == 0
        scale = expect["scalar"]
        factor = (1.0 / -scale) if scale < 0 else float(scale)
        assert abs(h[segyio.TraceField.CDP_X] * factor - expect["cdp_x"][i]) < 0.02
        assert abs(h[segyio.TraceField.CDP_Y] * factor - expect["cdp_y"][i]) < 0.02
        total = float(np.sum(f.trace[i].astype(np.float64)))
        want = expect["sums"][i]
        assert abs(total - want) <= 1e-5 * max(1.0, abs(want)), (i, total, want)
print(json.dumps({"ok": True}))
