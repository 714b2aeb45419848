"""Bad files, bad values and a full disk never leave a store stuck or lose accepted data.

Every case ends in a correct read or an NbtrackError; a segment that cannot be folded is set
aside in quarantine with its reason and every other segment folds; `nbtrack doctor --repair`
restores what it can.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from procenv import python_env

import nbtrack
from nbtrack.errors import InvalidStore, NbtrackError, StoreFull
from nbtrack.store.duckdb import doctor
from nbtrack.store.duckdb.locking import StoreLock

PROCS = Path(__file__).parent / "procs"

_COLUMNS = ("'m' AS kind, 'r0' AS run_id, 'k' AS key, NULL::VARCHAR AS text, 1.0 AS num, "
            "1::BIGINT AS ts, 1::BIGINT AS step, 1::BIGINT AS seq")


def _garbage(path: str) -> None:
    Path(path).write_bytes(b"not parquet at all " * 20)


def _empty(path: str) -> None:
    Path(path).write_bytes(b"")


def _truncated(path: str) -> None:
    duckdb.sql(f"COPY (SELECT {_COLUMNS}) TO '{path}.full' (FORMAT parquet)")
    data = Path(path + ".full").read_bytes()
    os.unlink(path + ".full")
    Path(path).write_bytes(data[: len(data) // 2])


def _wrong_schema(path: str) -> None:
    duckdb.sql(f"COPY (SELECT 1 AS a, 'x' AS b) TO '{path}' (FORMAT parquet)")


def _wrong_types(path: str) -> None:
    duckdb.sql(f"COPY (SELECT 1 AS kind, 2 AS run_id, 3 AS key, 4 AS text, 'x' AS num, 'y' AS ts, "
               f"'z' AS step, 'q' AS seq) TO '{path}' (FORMAT parquet)")


BAD_FILES = {"garbage": _garbage, "empty": _empty, "truncated": _truncated,
             "wrong_schema": _wrong_schema, "wrong_types": _wrong_types}


def _read_in_fresh_process(store: str) -> list[str]:
    code = ("import sys, json, nbtrack; nbtrack.set_tracking_uri(sys.argv[1]); c = nbtrack.MlflowClient();"
            "runs = nbtrack.search_runs(search_all_experiments=True, output_format='list');"
            "print(json.dumps(sorted(f\"{r.info.run_name}:{len(c.get_metric_history(r.info.run_id, 'loss'))}\""
            " for r in runs)))")
    out = subprocess.run([sys.executable, "-c", code, store], capture_output=True, text=True, env=python_env(),
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _log_run(name: str, points: int) -> None:
    with nbtrack.start_run(run_name=name):
        for i in range(points):
            nbtrack.log_metric("loss", float(i), step=i)
    nbtrack.flush()


@pytest.mark.parametrize("variant", sorted(BAD_FILES))
def test_a_bad_segment_is_quarantined_and_every_other_segment_folds(store_uri, variant, caplog):
    _log_run("before", 10)
    seg = os.path.join(store_uri, "segments")
    bad = os.path.join(seg, "0000000000001-intruder-00000001.parquet")  # sorts first: folded first
    BAD_FILES[variant](bad)
    _log_run("after", 20)  # flushed, not yet folded: shares the fold with the bad file

    runs = nbtrack.search_runs(search_all_experiments=True, output_format="list")
    assert sorted(r.info.run_name for r in runs) == ["after", "before"]
    assert not os.path.exists(bad)
    quarantined = os.path.join(store_uri, "quarantine", os.path.basename(bad))
    assert os.path.exists(quarantined)
    reason = json.loads(Path(quarantined + ".reason.json").read_text())
    assert reason["segment"] == os.path.basename(bad) and reason["reason"]
    warnings = [r for r in caplog.records if "set the segment" in r.getMessage()]
    assert len(warnings) == 1 and "nbtrack doctor" in warnings[0].getMessage()
    assert _read_in_fresh_process(store_uri) == ["after:20", "before:10"]

    report = doctor.diagnose(store_uri)
    assert len(report.quarantined) == 1 and not report.healthy
    assert report.runs_by_status == {"FINISHED": 2}


def test_a_segment_holding_an_unstorable_value_is_set_aside_and_repair_restores_the_rest(store_uri):
    """A segment written by an older nbtrack (before validation) with an end_time past int64."""
    _log_run("good", 5)
    run_id = nbtrack.search_runs(output_format="list")[0].info.run_id
    seg = os.path.join(store_uri, "segments", "0000000000002-old-00000001.parquet")
    event = json.dumps({"end_time": 2**64})
    duckdb.sql(f"""COPY (SELECT * FROM (VALUES
        ('r', '{run_id}', NULL, '{event}', NULL::DOUBLE, 5::BIGINT, 0::BIGINT, 1::BIGINT),
        ('m', '{run_id}', 'loss', NULL, 99.0, 6::BIGINT, 99::BIGINT, 2::BIGINT),
        ('t', '{run_id}', 'salvaged', 'yes', NULL, 7::BIGINT, 0::BIGINT, 3::BIGINT))
        t(kind, run_id, key, text, num, ts, step, seq)) TO '{seg}' (FORMAT parquet)""")
    client = nbtrack.MlflowClient()
    assert len(client.get_metric_history(run_id, "loss")) == 5  # the store still reads; the segment is aside
    assert not os.path.exists(seg)
    assert "cannot take" in doctor.diagnose(store_uri).quarantined[0]["reason"]

    result = subprocess.run([sys.executable, "-m", "nbtrack", "doctor", "--repair", "--output", "json",
                             store_uri], capture_output=True, text=True, env=python_env(), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] and report["quarantined"] == []
    assert any("restored 2 of 3 records" in r for r in report["repairs"]), report["repairs"]
    assert len(client.get_metric_history(run_id, "loss")) == 6
    assert client.get_run(run_id).data.tags["salvaged"] == "yes"
    assert client.get_run(run_id).info.end_time < 2**63


def test_doctor_reports_a_healthy_store_and_refuses_a_missing_one(store_uri, tmp_path):
    _log_run("one", 3)
    nbtrack.search_runs()  # doctor reads without folding: fold first
    ok = subprocess.run([sys.executable, "-m", "nbtrack", "doctor", store_uri], capture_output=True,
                        text=True, env=python_env(), timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "healthy" in ok.stdout and "1 FINISHED" in ok.stdout and "0001_tracking" in ok.stdout
    missing = tmp_path / "typo"
    bad = subprocess.run([sys.executable, "-m", "nbtrack", "doctor", str(missing)], capture_output=True,
                         text=True, env=python_env(), timeout=60)
    assert bad.returncode == 3 and "no such folder" in bad.stderr  # 3: not found, as every command
    assert not missing.exists()  # doctor never creates a store


def test_segments_path_that_is_a_file_is_a_clear_error(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    (root / "segments").write_text("oops")
    with pytest.raises(InvalidStore, match="segments"):
        nbtrack.MlflowClient(str(root)).search_experiments()


def test_a_half_truncated_database_file_is_a_clear_error_not_a_raw_one(tmp_path):
    root = str(tmp_path / "store")
    nbtrack.set_tracking_uri(root)
    _log_run("x", 100)
    code = "import nbtrack.store as s; s.close_all()"
    subprocess.run([sys.executable, "-c", code], check=True, env=python_env())
    from nbtrack import store as store_mod

    store_mod.close_all()
    db = os.path.join(root, "nbtrack.duckdb")
    with open(db, "r+b") as f:
        f.truncate(os.path.getsize(db) // 2)
    script = ("import sys, nbtrack\nnbtrack.set_tracking_uri(sys.argv[1])\n"
              "from nbtrack.errors import NbtrackError\n"
              "for call in (lambda: nbtrack.search_runs(), lambda: nbtrack.create_experiment('e'),\n"
              "             lambda: (nbtrack.start_run(), nbtrack.log_metric('a', 1.0), nbtrack.end_run(),\n"
              "                      nbtrack.flush(), nbtrack.search_runs())):\n"
              "    try:\n        call()\n        print('ok')\n"
              "    except NbtrackError as e:\n        print('nbtrack-error', type(e).__name__)\n")
    out = subprocess.run([sys.executable, "-c", script, root], capture_output=True, text=True,
                         env=python_env(), timeout=120)
    assert out.returncode == 0, out.stderr  # no raw exception escaped
    lines = out.stdout.split()
    assert "nbtrack-error" in lines, out.stdout
    report = doctor.diagnose(root)
    assert not report.healthy


def test_readers_see_segments_flushed_while_another_process_holds_the_fold_lock(store_uri):
    """The README's claim: a read shows everything flushed before it began, whoever folds."""
    env = python_env() | {"NBTRACK_EXIT_FLUSH_TIMEOUT": "0"}  # the writer leaves its segment unfolded
    code = ("import sys, nbtrack; nbtrack.set_tracking_uri(sys.argv[1]);\n"
            "with nbtrack.start_run(run_name='other'):\n    nbtrack.log_metric('loss', 1.0)\n")
    subprocess.run([sys.executable, "-c", code, store_uri], check=True, env=env, timeout=60)
    assert any(n.endswith(".parquet") for n in os.listdir(os.path.join(store_uri, "segments")))

    lock = StoreLock(os.path.join(store_uri, "nbtrack.lock"))  # another holder, as a foreign compactor
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock.exclusive():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(0.5, release.set).start()
    try:
        names = [r.info.run_name for r in nbtrack.search_runs(output_format="list")]
    finally:
        release.set()
        holder.join()
        lock.close()
    assert names == ["other"]


def _can_mount_tmpfs() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare to mount a small tmpfs in a private mount namespace"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs /mnt"], capture_output=True)
    return None if probe.returncode == 0 else f"mounting a tmpfs failed: {probe.stderr.decode()[:200]}"


def _failure(stderr: str) -> str:
    """The exception that ended the scenario first (the background flusher's warnings come before
    it and, in a test summary's first line, hid it), then the end of stderr."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    crashed = any(line.startswith("Traceback") for line in lines)
    cause = next((line for line in reversed(lines) if not line.startswith(" ")), "") if crashed else ""
    return f"{cause[:500]}\n{stderr[-3000:]}" if cause else stderr[-3000:]


@pytest.mark.slow
def test_disk_full_raises_store_full_and_loses_nothing_once_space_returns(tmp_path):
    reason = _can_mount_tmpfs()
    if reason:
        pytest.skip(reason)
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size=24m tmpfs {mnt} && "
              f"{sys.executable} {PROCS / 'diskfull.py'} {mnt}; rc=$?; umount {mnt}; exit $rc")
    out = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, env=python_env(), timeout=240)
    assert out.returncode == 0, _failure(out.stderr)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["raw"] == [], report["raw"]
    names = {name for name, *_ in report["errors"]}
    assert {"flush", "log_param", "create_experiment", "fold"} <= names
    for name, kind, has_free, says_nothing_lost in report["errors"]:
        assert kind == "StoreFull" and has_free and says_nothing_lost, (name, kind)
    assert report["after_free"] == 300       # every point logged while the disk was full
    assert report["after_fold"] == 400       # a fold that failed on a full disk recovered
    assert report["fresh_process"] == "400 400 FINISHED {'p': 'v'}"


def test_a_background_flush_error_is_not_raised_once_a_later_flush_wrote_everything(store_uri, monkeypatch):
    """The disk fills, the background flusher fails (its StoreFull kept for the next log call), space
    returns and a flush writes every buffered point: logging goes on without the resolved error."""
    from nbtrack.store.duckdb import store as duckdb_store
    from nbtrack.tracking import fluent

    real, full = duckdb_store.write_segment, threading.Event()

    def write_segment(*args, **kwargs):
        if full.is_set():
            raise StoreFull("The disk holding the store is full (simulated). Nothing that was logged is lost.",
                            free=0)
        return real(*args, **kwargs)

    monkeypatch.setattr(duckdb_store, "write_segment", write_segment)
    nbtrack.set_tracking_uri(store_uri)
    store = fluent._client().store
    with nbtrack.start_run() as run:
        nbtrack.log_metric("loss", 0.0, step=0)
        nbtrack.flush()
        full.set()
        nbtrack.log_metric("loss", 1.0, step=1)  # buffered; the background flusher fails to write it
        deadline = time.monotonic() + 30
        while store._flush_error is None:  # the flusher has failed and kept its error
            assert time.monotonic() < deadline, "the background flusher never tried to write"
            time.sleep(0.01)
        full.clear()  # space is back
        nbtrack.flush()  # writes every buffered point
        nbtrack.log_metric("loss", 2.0, step=2)
    nbtrack.flush()
    history = nbtrack.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(0, 0.0), (1, 1.0), (2, 2.0)]


def test_an_unstorable_record_never_blocks_the_records_after_it(store_uri, caplog):
    """Below the API (whose validation refuses these), the flush still writes every good record."""
    from nbtrack.store import open_store

    store = open_store(store_uri)
    run = store.create_run("0", "me", None, [], "r")
    run_id = run.info.run_id
    for i in range(5):
        store.log_metric(run_id, "loss", float(i), 1000 + i, i)
    store.log_metric(run_id, "loss", 1.0, 1000, 2**63)   # no segment can hold this step
    store.log_batch(run_id, params=[("p", "\ud800")])    # nor this string
    store.log_metric(run_id, "loss", 9.0, 2000, 9)
    store.flush()
    assert [m.step for m in store.get_metric_history(run_id, "loss")] == [0, 1, 2, 3, 4, 9]
    assert any("dropped 2 buffered records" in r.getMessage() for r in caplog.records)
    with pytest.raises(NbtrackError, match="64-bit"):
        store.update_run_info(run_id, end_time=2**64)
    time.sleep(0)  # nothing pending: the store reads as before
    assert store.get_run(run_id).info.end_time is None
