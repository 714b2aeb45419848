"""Disk-full scenario, run by test_store_faults inside a private mount namespace.

argv[1] is a folder on a small tmpfs. Fills the disk while a run logs, checks the errors are
StoreFull, frees the space, and prints a JSON report of what the store holds afterwards."""

import json
import os
import subprocess
import sys

import nbtrack
from nbtrack.errors import NbtrackError, StoreFull

base = sys.argv[1]
store = os.path.join(base, "store")
filler = os.path.join(base, "filler")
report = {"errors": [], "raw": []}


def fill():
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
        try:
            while True:  # the last few KB
                f.write(b"\0" * 4096)
                f.flush()
        except OSError:
            pass


def attempt(name, fn):
    try:
        fn()
    except StoreFull as e:
        report["errors"].append([name, "StoreFull", e.free is not None, "nothing" in e.message.lower()])
    except NbtrackError as e:
        report["errors"].append([name, type(e).__name__, False, False])
    except Exception as e:  # a raw exception is a failure of the test
        report["raw"].append([name, repr(e)])


nbtrack.set_tracking_uri(store)
client = nbtrack.MlflowClient()
run = nbtrack.start_run(run_name="full")
run_id = run.info.run_id
for i in range(100):
    nbtrack.log_metric("loss", float(i), step=i)
nbtrack.flush()
nbtrack.search_runs()                       # 100 points folded

# 1. The disk fills while the run logs: flushes fail as StoreFull, nothing logged is dropped.
fill()
for i in range(100, 300):
    try:
        nbtrack.log_metric("loss", float(i), step=i)
    except StoreFull:
        report.setdefault("log_refused_at", i)  # raised once per failed background flush; the point is kept
attempt("flush", nbtrack.flush)
attempt("log_param", lambda: (nbtrack.log_param("p", "v"), nbtrack.flush()))
attempt("create_experiment", lambda: nbtrack.create_experiment("while-full"))
attempt("search", lambda: nbtrack.search_runs())
os.unlink(filler)

# 2. Space is back: the buffered points are written, and reads work.
nbtrack.flush()
report["after_free"] = len(client.get_metric_history(run_id, "loss"))

# 3. Disk fills between flush and fold: the segment is durable, the fold fails, then recovers.
for i in range(300, 400):
    nbtrack.log_metric("loss", float(i), step=i)
nbtrack.flush()
fill()
attempt("fold", lambda: client.get_metric_history(run_id, "loss"))
os.unlink(filler)
report["after_fold"] = len(client.get_metric_history(run_id, "loss"))
nbtrack.end_run()
nbtrack.flush()
child = subprocess.run(
    [sys.executable, "-c", "import sys, nbtrack; nbtrack.set_tracking_uri(sys.argv[1]); "
     "c = nbtrack.MlflowClient(); r = nbtrack.search_runs(output_format='list')[0]; "
     "h = c.get_metric_history(r.info.run_id, 'loss'); "
     "print(len(h), len({m.step for m in h}), r.info.status, r.data.params)", store],
    capture_output=True, text=True)
report["fresh_process"] = child.stdout.strip() or child.stderr[-2000:]
print(json.dumps(report))
