"""Processes promoting versions and moving one alias at once: one holder, every change recorded."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import pytest
from procenv import python_env

import nbtrack

WORKERS = 4
ROUNDS = 15
VERSIONS = 5

# Each worker promotes a version to Production (archiving the others), moves @champion, and
# registers a new version every few rounds, then prints what it did.
WORKER = """
import json, os, random, sys, time
import nbtrack
nbtrack.set_tracking_uri(sys.argv[1])
worker, rounds, gate = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
client = nbtrack.MlflowClient()
rng = random.Random(worker)
open(os.path.join(gate, f"ready-{worker}"), "w").close()
while not os.path.exists(os.path.join(gate, "go")):  # start together, so the writes interleave
    time.sleep(0.01)
done = {"promotions": 0, "alias_moves": 0, "created": []}
for i in range(rounds):
    numbers = [v.version for v in client.search_model_versions("name = 'm'")]
    client.transition_model_version_stage("m", rng.choice(numbers), "production", archive_existing_versions=True)
    done["promotions"] += 1
    client.set_registered_model_alias("m", "champion", rng.choice(numbers))
    done["alias_moves"] += 1
    if i % 5 == 4:
        done["created"].append(client.create_model_version("m", "s3://bucket/model").version)
print(json.dumps(done))
"""


def _as_user(name: str) -> dict[str, str]:
    env = python_env()
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):  # what getpass.getuser() reads first
        env[var] = name
    return env


@pytest.mark.slow
def test_concurrent_promotions_and_alias_moves(tmp_path):
    store = str(tmp_path / "shared")
    nbtrack.set_tracking_uri(store)
    client = nbtrack.MlflowClient()
    client.create_registered_model("m")
    for _ in range(VERSIONS):
        client.create_model_version("m", "s3://bucket/model")

    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, store, str(i), str(ROUNDS), str(gate)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_as_user(f"worker{i}"))
             for i in range(WORKERS)]
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < WORKERS and time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "a worker exited before starting"
        time.sleep(0.02)
    (gate / "go").touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out))

    # exactly one version holds the alias, at most one is in Production
    versions = client.search_model_versions("name = 'm'")
    holders = [v.version for v in versions if "champion" in v.aliases]
    assert len(holders) == 1
    assert len([v for v in versions if v.current_stage == "Production"]) == 1
    assert client.get_registered_model("m").aliases == {"champion": holders[0]}

    # version numbers were issued once each, with no gaps
    created = sorted(n for r in results for n in r["created"])
    assert created == list(range(VERSIONS + 1, VERSIONS + 1 + len(created)))
    assert len(versions) == VERSIONS + len(created)

    # the history has every transition and alias move, and replaying it never shows two
    # versions in Production or an alias pointing at two versions
    events = client.get_model_version_history("m")
    promotions = [e for e in events if e.kind == "stage" and e.to_value == "Production"]
    alias_moves = [e for e in events if e.kind == "alias"]
    assert len(promotions) == sum(r["promotions"] for r in results) == WORKERS * ROUNDS
    assert len(alias_moves) == sum(r["alias_moves"] for r in results) == WORKERS * ROUNDS
    assert len([e for e in events if e.kind == "created"]) == len(versions)
    for i in range(WORKERS):  # who did what is recorded per process ...
        mine = [e for e in promotions if e.user_id == f"worker{i}"]
        assert len(mine) == ROUNDS
    users = [e.user_id for e in alias_moves]
    switches = sum(a != b for a, b in itertools.pairwise(users))
    assert switches > WORKERS  # ... and the processes really did interleave
    stages: dict[int, str] = {}
    champion = None
    for event in events:
        if event.kind in ("created", "stage"):
            if event.kind == "stage":
                assert stages[event.version] == event.from_value  # each change starts where the last ended
            stages[event.version] = event.to_value
        elif event.kind == "alias":
            assert event.from_value == (None if champion is None else str(champion))
            champion = int(event.to_value)
        assert list(stages.values()).count("Production") <= 1
    assert champion == holders[0]
    assert {v.version: v.current_stage for v in versions} == stages
    final = client.get_registry_snapshot("m", events[-1].timestamp)
    assert final.stages == stages and final.aliases == {"champion": champion}
