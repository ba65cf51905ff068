"""Select traces with numpy, independently of pstm: azimuth sectors and an offset-vector window.

Usage: select_traces.py HEADERS_PARQUET SELECTION_JSON
SELECTION_JSON: {"azimuth_sectors_deg": [[from, to], ...] | null,
                 "offset_vector_window_m": {"x": [lo, hi], "y": [lo, hi]} | null}
Prints {"selected": [trace_idx, ...]} (ascending): traces whose source-to-receiver azimuth,
degrees clockwise from north in [0, 360), lies in any sector [from, to) (wrapping through north
when from > to), and whose offset vector (receiver minus source, x east, y north) lies in
[lo, hi) on both axes.
"""
import json
import sys

import numpy as np
import pyarrow.parquet as pq

table = pq.read_table(sys.argv[1])
selection = json.loads(sys.argv[2])
idx = table.column("trace_idx").to_numpy()
hx = table.column("REC_X").to_numpy() - table.column("SOU_X").to_numpy()
hy = table.column("REC_Y").to_numpy() - table.column("SOU_Y").to_numpy()
keep = np.ones(len(idx), dtype=bool)

sectors = selection.get("azimuth_sectors_deg")
if sectors:
    azimuth = np.mod(np.degrees(np.arctan2(hx, hy)), 360.0)
    inside = np.zeros(len(idx), dtype=bool)
    for lo, hi in sectors:
        if lo <= hi:
            inside |= (azimuth >= lo) & (azimuth < hi)
        else:
            inside |= (azimuth >= lo) | (azimuth < hi)
    keep &= inside

window = selection.get("offset_vector_window_m")
if window:
    keep &= (hx >= window["x"][0]) & (hx < window["x"][1]) & (hy >= window["y"][0]) & (hy < window["y"][1])

print(json.dumps({"selected": sorted(int(i) for i in idx[keep])}))
