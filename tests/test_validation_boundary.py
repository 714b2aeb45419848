"""Values the store cannot hold are refused at the call, by every entry point, with a hint.

Each case is tried through the fluent API, ``Client`` and ``Client.log_batch`` where it
applies; afterwards the process still flushes and a fresh process reads every valid point
logged before and after the refused calls.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from procenv import python_env

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import InvalidParameter
from nbtrack.tracking import fluent_registry as registry
from nbtrack.tracking import validation

Call = Callable[[Any, str], Any]
BIG = 2**63  # one past int64
LONE = "\ud800"  # a lone surrogate: not encodable as UTF-8

CASES: list[tuple[str, Call, str]] = [
    # int64 ranges: steps, timestamps, start and end times
    ("end_time_2**64", lambda c, r: c.set_terminated(r, end_time=2**64), "end of year 9999"),
    ("step_2**63_fluent", lambda c, r: nbtrack.log_metric("m", 1.0, step=BIG), "64-bit integer"),
    ("step_2**63_client", lambda c, r: c.log_metric(r, "m", 1.0, step=BIG), "64-bit integer"),
    ("step_1e20_fluent", lambda c, r: nbtrack.log_metric("m", 1.0, step=1e20), "64-bit integer"),
    ("step_1e20_log_metrics", lambda c, r: nbtrack.log_metrics({"m": 1.0}, step=1e20), "64-bit integer"),
    ("step_nan_client", lambda c, r: c.log_metric(r, "m", 1.0, step=float("nan")), "must be an integer"),
    ("step_2**63_log_batch", lambda c, r: c.log_batch(r, [Metric("m", 1.0, 0, BIG)]), "64-bit integer"),
    ("step_-2**63-1_log_batch", lambda c, r: c.log_batch(r, [Metric("m", 1.0, 0, -BIG - 1)]), "64-bit integer"),
    ("timestamp_2**63_fluent", lambda c, r: nbtrack.log_metric("m", 1.0, timestamp=BIG), "milliseconds"),
    ("timestamp_2**63_log_metrics", lambda c, r: nbtrack.log_metrics({"m": 1.0}, timestamp=BIG), "milliseconds"),
    ("timestamp_2**63_log_batch", lambda c, r: c.log_batch(r, [Metric("m", 1.0, BIG, 0)]), "milliseconds"),
    ("start_time_2**63", lambda c, r: c.create_run("0", start_time=BIG), "end of year 9999"),
    ("start_time_abc", lambda c, r: c.create_run("0", start_time="abc"), "milliseconds since the epoch"),
    # valid UTF-8 wherever a string enters the store
    ("surrogate_param_fluent", lambda c, r: nbtrack.log_param("p", LONE), "lone surrogate"),
    ("surrogate_params_fluent", lambda c, r: nbtrack.log_params({"p": "a\udcffb"}), "lone surrogate"),
    ("surrogate_param_client", lambda c, r: c.log_param(r, "p", LONE), "lone surrogate"),
    ("surrogate_param_log_batch", lambda c, r: c.log_batch(r, params=[Param("p", LONE)]), "lone surrogate"),
    ("surrogate_tag_fluent", lambda c, r: nbtrack.set_tag("t", LONE), "lone surrogate"),
    ("surrogate_tags_fluent", lambda c, r: nbtrack.set_tags({"t": LONE}), "lone surrogate"),
    ("surrogate_tag_log_batch", lambda c, r: c.log_batch(r, tags=[RunTag("t", LONE)]), "lone surrogate"),
    ("surrogate_key", lambda c, r: c.log_param(r, "p" + LONE, "v"), "Names may only contain"),
    ("surrogate_run_name_start_run", lambda c, r: nbtrack.start_run(run_name=LONE, nested=True), "lone surrogate"),
    ("surrogate_run_name_create_run", lambda c, r: c.create_run("0", run_name=LONE), "lone surrogate"),
    ("surrogate_run_name_update_run", lambda c, r: c.update_run(r, name=LONE), "lone surrogate"),
    ("surrogate_description", lambda c, r: nbtrack.start_run(description=LONE, nested=True), "lone surrogate"),
    ("surrogate_note_tag", lambda c, r: c.set_tag(r, "mlflow.note.content", LONE), "lone surrogate"),
    ("surrogate_experiment_fluent", lambda c, r: nbtrack.create_experiment(LONE), "lone surrogate"),
    ("surrogate_experiment_client", lambda c, r: c.create_experiment(LONE), "lone surrogate"),
    ("surrogate_set_experiment", lambda c, r: nbtrack.set_experiment(LONE), "lone surrogate"),
    ("surrogate_experiment_tag", lambda c, r: c.set_experiment_tag("0", "t", LONE), "lone surrogate"),
    ("surrogate_experiment_tags", lambda c, r: c.create_experiment("e", tags={"t": LONE}), "lone surrogate"),
    ("surrogate_model_name", lambda c, r: c.create_registered_model(LONE), "lone surrogate"),
    ("surrogate_model_description", lambda c, r: c.create_registered_model("m", description=LONE), "lone surrogate"),
    ("surrogate_model_tag", lambda c, r: c.create_registered_model("m", tags={"t": LONE}), "lone surrogate"),
    ("surrogate_model_version_source", lambda c, r: c.create_model_version("m", "s3://b/" + LONE), "lone surrogate"),
    # metric values that do not fit a double
    ("value_10**400_fluent", lambda c, r: nbtrack.log_metric("m", 10**400), "too large for a double"),
    ("value_10**400_client", lambda c, r: c.log_metric(r, "m", 10**400), "too large for a double"),
    ("value_10**400_log_metrics", lambda c, r: nbtrack.log_metrics({"m": 10**400}), "too large for a double"),
    ("value_10**400_log_batch", lambda c, r: c.log_batch(r, [Metric("m", 10**400, 0, 0)]), "too large"),
    # MLflow's key grammar and run-name limit
    ("key_newline_fluent", lambda c, r: nbtrack.log_metric("loss\n", 1), "Names may only contain"),
    ("key_newline_param", lambda c, r: c.log_param(r, "p\n", 1), "Names may only contain"),
    ("key_newline_log_batch", lambda c, r: c.log_batch(r, tags=[RunTag("t\n", "v")]), "Names may only contain"),
    ("run_name_9000_start_run", lambda c, r: nbtrack.start_run(run_name="x" * 9000, nested=True), "250 allowed"),
    ("run_name_9000_create_run", lambda c, r: c.create_run("0", run_name="x" * 9000), "250 allowed"),
    ("run_name_251_update_run", lambda c, r: c.update_run(r, name="x" * 251), "250 allowed"),
    ("run_name_tag_9000", lambda c, r: c.set_tag(r, "mlflow.runName", "x" * 9000), "250 allowed"),
    # argument types and bounds of searches
    ("max_results_-1_client", lambda c, r: c.search_runs(["0"], max_results=-1), "positive integer"),
    ("max_results_10**20_client", lambda c, r: c.search_runs(["0"], max_results=10**20), "at most 50000"),
    ("max_results_-1_fluent", lambda c, r: nbtrack.search_runs(max_results=-1), "positive integer"),
    ("max_results_str_fluent", lambda c, r: nbtrack.search_runs(max_results="10"), "positive integer"),
    ("max_results_experiments", lambda c, r: nbtrack.search_experiments(max_results=-1), "positive integer"),
    ("max_results_experiments_client", lambda c, r: c.search_experiments(max_results=50001), "at most 50000"),
    ("max_results_models", lambda c, r: registry.search_registered_models(max_results=0), "positive integer"),
    ("max_results_models_client", lambda c, r: c.search_registered_models(max_results=1001), "at most 1000"),
    ("max_results_versions_client", lambda c, r: c.search_model_versions(max_results=200001), "at most 200000"),
    ("run_view_type_99_fluent", lambda c, r: nbtrack.search_runs(run_view_type=99), "ALL \\(3\\)"),
    ("run_view_type_99_client", lambda c, r: c.search_runs(["0"], run_view_type=99), "ALL \\(3\\)"),
    ("view_type_99_experiments", lambda c, r: nbtrack.search_experiments(view_type=99), "ALL \\(3\\)"),
    ("filter_string_int", lambda c, r: c.search_runs(["0"], filter_string=5), "must be a string"),
    ("filter_string_list_fluent", lambda c, r: nbtrack.search_runs(filter_string=["a"]), "must be a string"),
    ("order_by_str", lambda c, r: nbtrack.search_runs(order_by="metrics.m"), "Did you mean"),
    ("order_by_ints", lambda c, r: c.search_runs(["0"], order_by=[1]), "list of strings"),
    ("page_token_garbage", lambda c, r: c.search_runs(["0"], page_token="not a token"), "previous page"),
    ("page_token_huge", lambda c, r: c.search_runs(["0"], page_token=validation.encode_page_token(10**30)),
     "previous page"),
    ("page_token_negative", lambda c, r: c.search_experiments(page_token=validation.encode_page_token(-1)),
     "previous page"),
    ("metric_history_none", lambda c, r: nbtrack.metric_history(None), "run id, a Run"),
    ("get_metric_history_none", lambda c, r: c.get_metric_history(r, None), "must be a string"),
    ("tags_not_a_dict", lambda c, r: nbtrack.set_tags(["a"]), "must be a dict"),
    ("log_batch_not_metrics", lambda c, r: c.log_batch(r, metrics=[("m", 1.0, 0, 0)]), "Metric objects"),
    ("alias_newline", lambda c, r: c.set_registered_model_alias("m", "a\n", 1), "Names may only contain"),
    ("model_version_huge", lambda c, r: c.get_model_version("m", 10**30), "out of range"),
]


@pytest.fixture
def active_run():
    """A run with a few valid points, left active so the fluent calls write to it."""
    with nbtrack.start_run(run_name="keep") as run:
        nbtrack.log_param("keep", "me")
        nbtrack.set_tag("team", "vision")
        for step in range(5):
            nbtrack.log_metric("m", step / 10, step=step)
        yield run.info.run_id


def test_a_batch_with_one_bad_record_stores_none_of_it(active_run):
    client = nbtrack.MlflowClient()
    with pytest.raises(InvalidParameter, match="lone surrogate"):
        client.log_batch(active_run, metrics=[Metric("batch", 1.0, 0, 0)], params=[Param("bp", LONE)])
    with pytest.raises(InvalidParameter, match="64-bit"):
        client.log_batch(active_run, metrics=[Metric("batch", 1.0, 0, 0), Metric("batch", 2.0, 0, BIG)],
                         params=[Param("bp", "fine")])
    run = client.get_run(active_run)
    assert "batch" not in run.data.metrics and "bp" not in run.data.params


def test_edges_that_fit_are_kept_exactly(active_run):
    client = nbtrack.MlflowClient()
    top = 2**63 - 1
    client.log_batch(active_run, [Metric("edge", 1.5, top, -(2**63)), Metric("edge", float("inf"), 0, top)])
    nbtrack.log_metric("edge", float("nan"), step=3.0, timestamp=0)
    nbtrack.log_metric("edge", True, step=4)
    history = sorted((p.step, p.timestamp, p.value) for p in client.get_metric_history(active_run, "edge"))
    assert history[0] == (-(2**63), top, 1.5) and history[-1] == (top, 0, float("inf"))
    assert history[1][:2] == (3, 0) and history[1][2] != history[1][2] and history[2] == (4, history[2][1], 1.0)
    client.set_tag(active_run, "mlflow.runName", "x" * 250)
    assert client.get_run(active_run).info.run_name == "x" * 250
    assert len(nbtrack.search_runs(max_results=10**20)) == 1  # the fluent search has no page limit, as MLflow


_READ_BACK = """
import json, sys
import nbtrack
run_id = sys.argv[1]
client = nbtrack.MlflowClient()
run = client.get_run(run_id)
runs = nbtrack.search_runs(search_all_experiments=True, run_view_type=3, output_format="list")
print(json.dumps({
    "runs": len(runs),
    "experiments": [e.name for e in nbtrack.search_experiments(view_type=3)],
    "models": len(client.search_registered_models()),
    "params": run.data.params,
    "team": run.data.tags.get("team"),
    "m": [(p.step, p.value) for p in client.get_metric_history(run_id, "m")],
    "after": [(p.step, p.value) for p in client.get_metric_history(run_id, "after")],
}))
"""


def _refusal_problem(client: Any, run_id: str, call: Call, match: str) -> str | None:
    """None if ``call`` raises an InvalidParameter whose message matches ``match``, else what happened."""
    try:
        call(client, run_id)
    except InvalidParameter as e:
        return None if re.search(match, str(e)) else f"message {str(e)[:200]!r} lacks {match!r}"
    except Exception as e:
        return f"raw {type(e).__name__}: {str(e)[:200]}"
    return "accepted"


def test_every_case_is_refused_with_a_hint_and_a_fresh_process_reads_all_valid_points(active_run):
    client = nbtrack.MlflowClient()
    problems = {}
    for number, (name, call, match) in enumerate(CASES, start=1):
        problem = _refusal_problem(client, active_run, call, match)
        if problem is not None:
            problems[name] = problem
        assert nbtrack.active_run().info.run_id == active_run, name  # a refused start_run left the stack alone
        nbtrack.log_metric("after", float(number), step=number)
    assert problems == {}
    nbtrack.flush()  # a bad record in the buffer would make this (and every later flush) fail
    out = subprocess.run([sys.executable, "-c", _READ_BACK, active_run], env=python_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["runs"] == 1 and got["experiments"] == ["Default"] and got["models"] == 0
    assert got["params"] == {"keep": "me"} and got["team"] == "vision"
    assert got["m"] == [[s, s / 10] for s in range(5)]
    assert got["after"] == [[i, float(i)] for i in range(1, len(CASES) + 1)]
