"""A reader process: polls the store until told to stop; prints JSON stats."""

import json
import os
import sys
import time

import nbtrack

store, stop_file = sys.argv[1], sys.argv[2]
nbtrack.set_tracking_uri(store)
polls, errors, lags, counts, durations = 0, [], [], [], []
while not os.path.exists(stop_file):
    try:
        t0 = time.time()
        df = nbtrack.sql("SELECT count(*) AS n, max(timestamp) AS ts FROM metrics")
        durations.append(round(time.time() - t0, 3))
        polls += 1
        n, ts = int(df["n"][0]), df["ts"][0]
        counts.append(n)
        if n and ts == ts:  # not NaN
            lags.append(time.time() * 1000 - float(ts))
    except Exception as e:  # every error is a failure of the store's promise: count it
        errors.append(f"{type(e).__name__}: {e}")
    time.sleep(0.05)
print(json.dumps({"polls": polls, "errors": errors[:5], "n_errors": len(errors), "lags": lags,
                  "counts": counts, "durations": durations}))
