"""%%track overhead on an empty cell, on IPython's real shell (target: under 20 ms).

Run: .venv/bin/python benchmarks/bench_notebook.py
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

import nbtrack

TARGET_MS = 20.0


def _time_cells(ip, code: str, n: int = 40) -> list[float]:
    times = []
    for _ in range(n):
        with capture_output():
            start = time.perf_counter()
            ip.run_cell(code, store_history=True)
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    globalipapp.start_ipython()
    ip = globalipapp.get_ipython()
    ip.run_line_magic("load_ext", "nbtrack")
    nbtrack.set_tracking_uri(tempfile.mkdtemp())
    with capture_output():
        ip.run_cell("import nbtrack")
        ip.run_cell("%%track --quiet\npass")  # open the store once
    cases = {
        "plain empty cell": "pass",
        "%%track --quiet (no card)": "%%track --quiet\npass",
        "%%track (live card)": "%%track\npass",
        "%%track logging 1 metric": "%%track\nnbtrack.log_metric('m', 1.0)",
    }
    results = {}
    for name, code in cases.items():
        times = _time_cells(ip, code)
        results[name] = {"median_ms": statistics.median(times), "p90_ms": sorted(times)[int(len(times) * 0.9)]}
    base = results["plain empty cell"]["median_ms"]
    print(f"{'case':32} {'median ms':>10} {'p90 ms':>8} {'overhead ms':>12}")
    for name, r in results.items():
        print(f"{name:32} {r['median_ms']:10.1f} {r['p90_ms']:8.1f} {r['median_ms'] - base:12.1f}")
    overhead = results["%%track (live card)"]["median_ms"] - base
    verdict = "PASS" if overhead < TARGET_MS else "MISS"
    print(f"\n%%track overhead on an empty cell: {overhead:.1f} ms (target < {TARGET_MS:.0f} ms) {verdict}")
    os.makedirs("benchmarks/results", exist_ok=True)
    with open("benchmarks/results/notebook.json", "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
