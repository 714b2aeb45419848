"""System metrics: real background sampling with psutil, MLflow's names, the interval and
samples settings, the environment switch, and the monitor stopping when the run ends."""

from __future__ import annotations

import threading
import time

import pytest

import nbtrack
from nbtrack.tracking import system_metrics

pytest.importorskip("psutil")

MLFLOW_NAMES = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}
_VARS = ("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
         "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "MLFLOW_SYSTEM_METRICS_NODE_ID")


@pytest.fixture(autouse=True)
def _settings_restored(monkeypatch):
    for name in _VARS:
        monkeypatch.delenv(name, raising=False)
    yield
    for run_id in system_metrics.active_run_ids():
        system_metrics.stop(run_id)


def _monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nbtrack-system-metrics")]


def _steps(client, run_id, key="system/cpu_utilization_percentage") -> list[int]:
    return [m.step for m in client.get_metric_history(run_id, key)]


def test_a_run_logs_mlflow_named_metrics_every_interval(client):
    nbtrack.set_system_metrics_sampling_interval(0.2)
    started = time.perf_counter()
    with nbtrack.start_run(log_system_metrics=True) as run:
        assert len(_monitor_threads()) == 1
        time.sleep(1.1)
    elapsed = time.perf_counter() - started
    data = client.get_run(run.info.run_id).data.metrics
    assert set(data) == MLFLOW_NAMES  # no GPU on this machine: no gpu_* keys
    steps = _steps(client, run.info.run_id)
    assert steps == list(range(len(steps)))
    assert 4 <= len(steps) <= elapsed / 0.2 + 2
    assert 0.0 <= data["system/cpu_utilization_percentage"] <= 100.0
    assert 0.0 < data["system/system_memory_usage_percentage"] < 100.0
    assert data["system/disk_available_megabytes"] > 0


def test_the_monitor_stops_when_the_run_ends(client):
    nbtrack.set_system_metrics_sampling_interval(0.1)
    with nbtrack.start_run(log_system_metrics=True) as run:
        time.sleep(0.35)
    assert _monitor_threads() == []
    assert system_metrics.active_run_ids() == []
    before = _steps(client, run.info.run_id)
    time.sleep(0.4)
    assert _steps(client, run.info.run_id) == before
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_a_failing_block_and_end_run_stop_it_too(client):
    nbtrack.set_system_metrics_sampling_interval(0.1)
    with pytest.raises(ZeroDivisionError), nbtrack.start_run(log_system_metrics=True) as failed:
        1 / 0
    nbtrack.start_run(log_system_metrics=True)
    nbtrack.end_run()
    assert _monitor_threads() == []
    assert client.get_run(failed.info.run_id).info.status == "FAILED"


def test_a_run_shorter_than_one_interval_still_gets_a_point(client):
    with nbtrack.start_run(log_system_metrics=True) as run:  # the default interval: 10 s
        pass
    assert _steps(client, run.info.run_id) == [0]


def test_the_default_interval_is_mlflows(client):
    run = client.create_run("0")
    monitor = system_metrics.SystemMetricsMonitor(client, run.info.run_id)
    assert (monitor.sampling_interval, monitor.samples_before_logging) == (10.0, 1)


def test_samples_before_logging_averages_samples_into_one_point(client):
    nbtrack.set_system_metrics_sampling_interval(0.1)
    nbtrack.set_system_metrics_samples_before_logging(4)
    with nbtrack.start_run(log_system_metrics=True) as run:
        time.sleep(0.95)
    steps = _steps(client, run.info.run_id)
    assert 2 <= len(steps) <= 4  # two full groups of four, plus the remainder at the end


def test_enable_and_disable_switch_the_default(client, monkeypatch):
    nbtrack.set_system_metrics_sampling_interval(0.1)
    nbtrack.enable_system_metrics_logging()
    assert system_metrics.enabled(None)
    with nbtrack.start_run() as on:
        time.sleep(0.25)
    with nbtrack.start_run(log_system_metrics=False) as opted_out:
        pass
    nbtrack.disable_system_metrics_logging()
    with nbtrack.start_run() as off:
        pass
    assert _steps(client, on.info.run_id)
    assert _steps(client, opted_out.info.run_id) == []
    assert _steps(client, off.info.run_id) == []
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "1")
    assert system_metrics.enabled(None)
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "yes please")
    with pytest.raises(nbtrack.InvalidParameter, match="true, false, 1, 0"):
        nbtrack.start_run()


def test_node_id_goes_into_the_names(client):
    nbtrack.set_system_metrics_node_id("node_0")
    try:
        with nbtrack.start_run(log_system_metrics=True) as run:
            pass
    finally:
        nbtrack.set_system_metrics_node_id(None)
    assert set(client.get_run(run.info.run_id).data.metrics) == {
        name.replace("system/", "system/node_0/") for name in MLFLOW_NAMES
    }


def test_a_resumed_run_continues_the_steps(client):
    with nbtrack.start_run(log_system_metrics=True) as run:
        pass
    with nbtrack.start_run(run_id=run.info.run_id, log_system_metrics=True):
        pass
    assert _steps(client, run.info.run_id) == [0, 1]


def test_bad_settings_are_refused():
    with pytest.raises(nbtrack.InvalidParameter, match="positive"):
        nbtrack.set_system_metrics_sampling_interval(0)
    with pytest.raises(nbtrack.InvalidParameter, match="must be of type int"):
        nbtrack.set_system_metrics_samples_before_logging("many")


def test_system_metrics_are_ordinary_metrics_for_search(client):
    with nbtrack.start_run(log_system_metrics=True) as run:
        pass
    found = nbtrack.search_runs(filter_string="metrics.`system/cpu_utilization_percentage` >= 0")
    assert list(found.run_id) == [run.info.run_id]


def test_without_psutil_start_run_says_how_to_fix_it_and_creates_no_run(client, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "psutil" else real(name, *a))
    with pytest.raises(nbtrack.NbtrackError, match=r"pip install psutil.*log_system_metrics=False"):
        nbtrack.start_run(log_system_metrics=True)
    assert nbtrack.active_run() is None
    assert nbtrack.search_runs(search_all_experiments=True).empty


def test_an_exit_without_end_run_still_stops_and_logs(tmp_path):
    import subprocess
    import sys

    from procenv import python_env

    code = ("import nbtrack, time\n"
            f"nbtrack.set_tracking_uri({str(tmp_path / 's')!r})\n"
            "nbtrack.set_system_metrics_sampling_interval(0.1)\n"
            "run = nbtrack.start_run(log_system_metrics=True)\n"
            "time.sleep(0.35)\n"
            "print(run.info.run_id)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=python_env(), check=True)
    run_id = out.stdout.strip().splitlines()[-1]
    client = nbtrack.MlflowClient(str(tmp_path / "s"))
    assert client.get_run(run_id).info.status == "FINISHED"
    assert len(_steps(client, run_id)) >= 2


def test_the_names_are_the_ones_mlflow_logs(client):
    """MLflow's own monitors (no GPU here) sampled in a child process name the same metrics."""
    import importlib.util
    import json
    import subprocess
    import sys

    if importlib.util.find_spec("mlflow") is None:
        pytest.skip("mlflow is not installed (pip install 'nbtrack[bench]')")
    code = ("import json\n"
            "from mlflow.system_metrics.metrics.cpu_monitor import CPUMonitor\n"
            "from mlflow.system_metrics.metrics.disk_monitor import DiskMonitor\n"
            "from mlflow.system_metrics.metrics.network_monitor import NetworkMonitor\n"
            "names = []\n"
            "for m in (CPUMonitor(), DiskMonitor(), NetworkMonitor()):\n"
            "    m.collect_metrics()\n"
            "    names += ['system/' + k for k in m.aggregate_metrics()]\n"
            "print(json.dumps(sorted(names)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    monitor = system_metrics.SystemMetricsMonitor(client, client.create_run("0").info.run_id)
    ours = sorted("system/" + k for k in monitor.collect_metrics())
    assert ours == theirs == sorted(MLFLOW_NAMES)


def test_the_run_card_shows_the_runs_own_metrics_before_system_ones(client):
    from nbtrack.notebook import _card

    nbtrack.set_system_metrics_sampling_interval(0.1)
    with nbtrack.start_run(log_system_metrics=True) as run:
        nbtrack.log_metrics({"val_loss": 0.5, "zeta": 1.0, "accuracy": 0.9})
        time.sleep(0.25)
    metrics = client.get_run(run.info.run_id).data.metrics
    shown = _card.card_keys(metrics)
    assert shown[:3] == ["accuracy", "val_loss", "zeta"]
    assert all(k.startswith("system/") for k in shown[3:]) and len(shown) == _card.MAX_METRICS
    html = _card.render_html(_card.CardData(run.info.run_id, "r", "FINISHED", metrics=metrics))
    assert "val_loss" in html and "system/cpu_utilization_percentage" in html
    assert f"+{len(metrics) - _card.MAX_METRICS} more metrics" in html
