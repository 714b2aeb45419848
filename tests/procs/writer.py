"""A writer process for the concurrency tests: N runs x M points, params and tags.

With a fifth argument ``poison``, halfway through each run it also tries values no store can
hold (steps and times past int64, a lone surrogate, a key ending in a newline, a metric past a
double) and prints how many were refused with an NbtrackError; any other exception kills it."""

import sys
import time

import nbtrack
from nbtrack.errors import NbtrackError

store, tag, runs, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
poison = len(sys.argv) > 5 and sys.argv[5] == "poison"
nbtrack.set_tracking_uri(store)
nbtrack.set_experiment("stress")
client = nbtrack.MlflowClient()


def poison_calls(run_id):
    return [
        lambda: nbtrack.log_metric("x", 1.0, step=2**63),
        lambda: nbtrack.log_metric("x", 1.0, step=1e20),
        lambda: nbtrack.log_metric("x", 1.0, timestamp=2**63),
        lambda: nbtrack.log_metric("x", 10**400),
        lambda: nbtrack.log_metric("loss\n", 1.0),
        lambda: nbtrack.log_param("p", "\ud800"),
        lambda: nbtrack.set_tag("t", "\ud800"),
        lambda: client.set_terminated(run_id, end_time=2**64),
    ]


tried = refused = 0
for r in range(runs):
    with nbtrack.start_run(run_name=f"{tag}-{r}") as run:
        nbtrack.log_params({"writer": tag, "run": r})
        nbtrack.set_tag("writer", tag)
        for step in range(points):
            nbtrack.log_metric("loss", step * 0.5, step=step)
            if step % 1000 == 0:
                time.sleep(0.02)  # log over a few seconds, as training does, so the reader can follow
            if poison and step == points // 2:
                for call in poison_calls(run.info.run_id):
                    tried += 1
                    try:
                        call()
                    except NbtrackError:
                        refused += 1
print("done", tag, f"tried={tried} refused={refused}", flush=True)
