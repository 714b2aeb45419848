"""Property-based fuzzing of the public API: every call round-trips exactly or raises an NbtrackError.

Random keys, values, steps, timestamps, names, descriptions and search arguments go through the
fluent API, ``Client``, ``Client.log_batch`` and the registry. A call that returns must read back
exactly what was given (``get_run``, ``get_metric_history``, ``get_experiment_by_name``, ...); a
call that refuses must raise an ``NbtrackError``. Anything else is a raw exception, and there must
be none. All examples share one store; the last test opens it in a fresh process and checks that
every accepted run is there.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from procenv import python_env

import nbtrack
from nbtrack.entities import Metric, RunTag
from nbtrack.errors import NbtrackError

COUNTS: Counter[str] = Counter()
RAW: list[str] = []
FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# -- strategies -------------------------------------------------------------------------------
def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` three times in four, else ``odd`` (one_of alone flattens branches and weighs them evenly)."""
    return st.integers(0, 3).flatmap(lambda i: odd if i == 0 else usual)


_any_char = st.one_of(st.characters(), st.characters(categories=["Cs"]))  # Cs: lone surrogates
texts = st.one_of(
    st.text(max_size=12),
    st.text(_any_char, max_size=12),
    st.text("ab_-./ :\n", min_size=1, max_size=8),
    st.sampled_from(["", ".", "..", "/x", "x/", "a//b", "loss\n", "\ud800", "a\x00b", "x" * 251, "é"]),
    st.integers(240, 9000).map(lambda n: "x" * n),
)
good_keys = st.text("abcXYZ019_-", min_size=1, max_size=6).flatmap(
    lambda k: st.sampled_from([k, f"{k}/{k}", f"{k}.{k}", f"{k} {k}", f"{k}:{k}", f"é{k}"]))
keys = mostly(good_keys, texts)
huge_ints = st.one_of(st.integers(), st.integers(-(2**70), 2**70),
                      st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**400]))
numpy_scalars = st.one_of(
    st.floats(width=32).map(np.float32), st.floats(width=16).map(np.float16),
    st.integers(-(2**63), 2**63 - 1).map(np.int64), st.booleans().map(np.bool_),
)
metric_values = mostly(st.one_of(st.floats(), st.integers(), st.booleans(), numpy_scalars), st.one_of(
    huge_ints, st.sampled_from([None, "1.5", "nan", "abc", [1.0], Decimal("1e400"), Fraction(1, 3)])))
steps = mostly(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.integers(-5, 5).map(float)),
               st.one_of(huge_ints, st.floats(), st.sampled_from([1e20, -0.0, True])))
timestamps = mostly(st.one_of(st.none(), st.integers(0, 2**63 - 1), st.sampled_from([np.int64(5), 1.5])),
                    st.one_of(huge_ints, st.floats(min_value=-1, max_value=2e19), st.sampled_from(["1", True])))
param_values = mostly(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.booleans(), numpy_scalars),
                      st.one_of(texts, huge_ints, st.none()))
times = mostly(st.one_of(st.none(), st.integers(0, 253_402_300_799_999)),
               st.one_of(huge_ints, st.floats(), st.sampled_from(["abc", -1, 2**63])))
names = mostly(st.text(min_size=1, max_size=20), texts)


# -- bookkeeping ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_store() -> Iterator[str]:
    root = tempfile.mkdtemp(prefix="nbtrack-fuzz-")
    yield root
    print(f"\nfuzz: {dict(COUNTS)}")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def client(fuzz_store: str) -> Any:
    nbtrack.set_tracking_uri(fuzz_store)
    return nbtrack.MlflowClient(fuzz_store)


def attempt(call: Callable[[], Any]) -> tuple[bool, Any]:
    """(True, result) if ``call`` returned, (False, None) if it raised an NbtrackError; a raw exception fails.

    Every test reads back what each accepted call wrote and fails on a difference, so when the
    suite passes each call counted as round-tripped was.
    """
    COUNTS["tried"] += 1
    try:
        result = call()
    except NbtrackError as e:
        str(e).encode("utf-8")  # the message can be printed, logged and sent as JSON
        COUNTS["refused cleanly"] += 1
        return False, None
    except Exception as e:
        COUNTS["raw"] += 1
        RAW.append(f"{type(e).__name__}: {e}")
        raise AssertionError(f"raw exception instead of an NbtrackError: {type(e).__name__}: {e}") from e
    COUNTS["round-tripped"] += 1
    return True, result


def new_run(client: Any, **kwargs: Any) -> str:
    run = client.create_run("0", **kwargs)
    COUNTS["runs"] += 1
    return run.info.run_id


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# -- params and tags --------------------------------------------------------------------------
@FUZZ
@given(params=st.lists(st.tuples(keys, param_values), max_size=5),
       tags=st.lists(st.tuples(keys, param_values), max_size=5),
       use_fluent=st.booleans())
def test_params_and_tags_round_trip_or_are_refused(client, params, tags, use_fluent):
    run_id = new_run(client)
    expected_params: dict[str, str] = {}
    expected_tags: dict[str, str] = {}
    with nbtrack.start_run(run_id=run_id):
        for key, value in params:
            call = (lambda k=key, v=value: nbtrack.log_param(k, v)) if use_fluent else (
                lambda k=key, v=value: client.log_param(run_id, k, v))
            ok, _ = attempt(call)
            if ok:
                expected_params.setdefault(key, _as_text(value))
        for key, value in tags:
            call = (lambda k=key, v=value: nbtrack.set_tag(k, v)) if use_fluent else (
                lambda k=key, v=value: client.log_batch(run_id, tags=[RunTag(k, v)]))
            ok, _ = attempt(call)
            if ok:
                expected_tags[key] = _as_text(value)
    run = client.get_run(run_id)
    assert run.data.params == expected_params
    assert {k: run.data.tags.get(k) for k in expected_tags} == expected_tags


# -- metrics ----------------------------------------------------------------------------------
def _point(step: Any, value: Any) -> tuple[int, str]:
    item = value.item() if hasattr(value, "item") else value
    return 0 if step is None else int(step), repr(float(item))


@FUZZ
@given(points=st.lists(st.tuples(keys, metric_values, steps, timestamps), max_size=6),
       batch=st.lists(st.tuples(st.sampled_from(["b", "b/c", "b\n"]), metric_values, steps, timestamps),
                      max_size=6),
       use_fluent=st.booleans())
def test_metrics_round_trip_or_are_refused(client, points, batch, use_fluent):
    run_id = new_run(client)
    expected: dict[str, list[tuple[int, str]]] = {}
    with nbtrack.start_run(run_id=run_id):
        for key, value, step, ts in points:
            call = (lambda k=key, v=value, s=step, t=ts: nbtrack.log_metric(k, v, step=s, timestamp=t)) \
                if use_fluent else (lambda k=key, v=value, s=step, t=ts: client.log_metric(run_id, k, v, t, s))
            ok, _ = attempt(call)
            if ok:
                expected.setdefault(key, []).append(_point(step, value))
        metrics = [Metric(k, v, 0 if t is None else t, 0 if s is None else s) for k, v, s, t in batch]
        ok, _ = attempt(lambda: client.log_batch(run_id, metrics=metrics))
        if ok:  # the whole batch, or nothing of it
            for m in metrics:
                expected.setdefault(m.key, []).append(_point(m.step, m.value))
    for key, want in expected.items():
        history = client.get_metric_history(run_id, key)
        got = [(p.step, repr(p.value)) for p in history]
        # every point logged is there; an exact repeat (same step, timestamp and value) is kept once, as in
        # MLflow's SQL store, so there may be fewer points than calls but never two identical ones
        assert set(got) == set(want) and len(got) <= len(want), key
        stored = [(p.step, p.timestamp, repr(p.value)) for p in history]
        assert len(stored) == len(set(stored)), key


# -- runs and experiments ---------------------------------------------------------------------
@FUZZ
@given(run_name=st.one_of(st.none(), names), start=times, end=times, description=st.one_of(st.none(), names),
       experiment=names, experiment_tag=st.tuples(keys, param_values))
def test_runs_and_experiments_round_trip_or_are_refused(client, run_name, start, end, description, experiment,
                                                        experiment_tag):
    tags = {} if description is None else {"mlflow.note.content": description}
    ok, run = attempt(lambda: client.create_run("0", start_time=start, run_name=run_name, tags=tags))
    if ok:
        COUNTS["runs"] += 1
        got = client.get_run(run.info.run_id)
        assert got.info.run_name == (run_name or got.info.run_name)
        assert got.info.start_time == (got.info.start_time if start is None else int(start))
        assert got.data.tags.get("mlflow.note.content") == description
        ended, _ = attempt(lambda: client.set_terminated(run.info.run_id, end_time=end))
        if ended:
            info = client.get_run(run.info.run_id).info
            assert info.status == "FINISHED" and info.end_time == (int(end) if end else info.end_time)
    ok, experiment_id = attempt(lambda: nbtrack.create_experiment(experiment, tags=dict([experiment_tag])))
    if ok:
        found = client.get_experiment_by_name(experiment)
        assert found is not None and found.experiment_id == experiment_id
        assert found.tags == {experiment_tag[0]: _as_text(experiment_tag[1])}


# -- search arguments -------------------------------------------------------------------------
@FUZZ
@given(max_results=mostly(st.one_of(st.integers(1, 50), st.sampled_from([np.int64(3), 50000])),
                          st.one_of(st.none(), huge_ints, st.floats(), st.sampled_from(["10", True, 0]))),
       view=mostly(st.sampled_from([1, 2, 3, "ALL"]), st.one_of(huge_ints, st.sampled_from([None, 1.0, 0]))),
       where=st.one_of(st.none(), st.sampled_from(["", "metrics.m > 0", "params.p = 'x'", "tags.t != 'a'"]), texts,
                       st.integers()),
       order=st.one_of(st.none(), st.sampled_from([["metrics.m DESC"], ["start_time"], "metrics.m"]),
                       st.lists(st.one_of(texts, st.integers()), max_size=2)),
       fluent=st.booleans())
def test_search_arguments_are_taken_or_refused(client, max_results, view, where, order, fluent):
    if fluent:
        call = lambda: nbtrack.search_runs(  # noqa: E731
            filter_string=where, run_view_type=view, max_results=max_results, order_by=order,
            search_all_experiments=True, output_format="list")
    else:
        call = lambda: client.search_runs(["0"], where, view, max_results, order)  # noqa: E731
    ok, runs = attempt(call)
    if ok:  # only ints (numpy's too) and None get here
        assert isinstance(runs, list) and len(runs) <= (math.inf if max_results is None else int(max_results))
    ok, experiments = attempt(lambda: client.search_experiments(view, max_results, where, order))
    if ok:
        assert len(experiments) <= (math.inf if max_results is None else int(max_results))


# -- registry ---------------------------------------------------------------------------------
@FUZZ
@given(name=names, description=st.one_of(st.none(), names), tag=st.tuples(keys, param_values),
       alias=mostly(st.text("abc_-09", min_size=1, max_size=8), texts),
       version=mostly(st.integers(1, 3), st.one_of(huge_ints, st.floats(), texts)))
def test_registry_round_trips_or_refuses(client, name, description, tag, alias, version):
    ok, model = attempt(lambda: client.create_registered_model(name, tags=dict([tag]), description=description))
    if ok:
        got = client.get_registered_model(name)
        assert (got.name, got.description) == (model.name, description) == (name, description)
        assert got.tags == {tag[0]: _as_text(tag[1])}
        ok, mv = attempt(lambda: client.create_model_version(name, "s3://bucket/model"))
        if ok:
            assert client.get_model_version(name, mv.version).source == "s3://bucket/model"
            ok, _ = attempt(lambda: client.set_registered_model_alias(name, alias, mv.version))
            if ok:
                assert client.get_model_version_by_alias(name, alias).version == mv.version
    ok, found = attempt(lambda: client.get_model_version(name, version))
    if ok:
        assert found.name == name and found.version == int(version)


# -- afterwards -------------------------------------------------------------------------------
_COUNT_RUNS = "import nbtrack; print(len(nbtrack.search_runs(search_all_experiments=True)))"


def test_the_store_still_opens_and_folds_in_a_fresh_process(fuzz_store):
    if not COUNTS["tried"]:
        pytest.skip("checks the store the fuzz tests above wrote: run the whole module")
    nbtrack.set_tracking_uri(fuzz_store)
    nbtrack.flush()
    env = {**python_env(), "NBTRACK_TRACKING_URI": fuzz_store}
    out = subprocess.run([sys.executable, "-c", _COUNT_RUNS], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.dumps(dict(COUNTS))
    print(f"\nfuzz counts: {summary}")
    assert RAW == [], RAW
    assert COUNTS["tried"] > 0 and COUNTS["raw"] == 0
    assert int(out.stdout.split()[-1]) == COUNTS["runs"], summary
    assert os.path.isdir(os.path.join(fuzz_store, "segments"))
