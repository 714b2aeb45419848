"""Logs forever; prints a line each time a batch is durable, so the parent knows what to expect."""

import sys

import nbtrack

nbtrack.set_tracking_uri(sys.argv[1])
run = nbtrack.start_run(run_name="doomed")
print(run.info.run_id, flush=True)
step = 0
while True:
    for _ in range(500):
        nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
    nbtrack.flush()
    print(step, flush=True)
