"""A writer process for the concurrency tests: N runs x M points, params and tags."""

import sys
import time

import nbtrack

store, tag, runs, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
nbtrack.set_tracking_uri(store)
nbtrack.set_experiment("stress")
for r in range(runs):
    with nbtrack.start_run(run_name=f"{tag}-{r}"):
        nbtrack.log_params({"writer": tag, "run": r})
        nbtrack.set_tag("writer", tag)
        for step in range(points):
            nbtrack.log_metric("loss", step * 0.5, step=step)
            if step % 1000 == 0:
                time.sleep(0.02)  # log over a few seconds, as training does, so the reader can follow
print("done", tag, flush=True)
