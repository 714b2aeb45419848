"""Search on every backend: all of MLflow's filter grammar and our extensions (OR, NOT,
parentheses, IN on params/tags/datasets, ...), ordering, paging, view types, experiment search,
and the errors of bad filters. The cases are test_search_grammar.py's tables, over its fixture
data (RUNS/METRICS/PARAMS/TAGS/INPUTS) logged through the public API once per backend."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from test_search_grammar import (
    ATTRIBUTE_CASES,
    BOOLEAN_CASES,
    DATASET_CASES,
    FILTER_ERROR_CASES,
    HOSTILE_SYNTAX_FILTERS,
    HOSTILE_VALUE_FILTERS,
    INPUTS,
    METRIC_CASES,
    METRICS,
    ORDER_BY_ERROR_CASES,
    ORDER_CASES,
    PARAM_CASES,
    PARAMS,
    RUNS,
    TAG_CASES,
    TAGS,
    in_order,
)

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag, Metric, RunStatus, ViewType
from nbtrack.errors import InvalidFilter, NbtrackError
from nbtrack.search import parse_filter, parse_order_by


@dataclass
class Seeded:
    """The grammar's fixture data in one backend: name (r1..r8) <-> real run id, experiments."""

    ids: dict[str, str]
    names: dict[str, str]
    one: str  # the grammar's experiment "1"
    two: str  # and "2"
    experiments: dict[str, str]  # search_experiments fixture: short name -> id
    prefix: str

    def filter(self, text: str | None) -> str | None:
        """``text`` with the grammar's run names replaced by real run ids where it names runs."""
        if text is None or not re.search(r"run_id|artifact_uri", text):
            return text
        return re.sub(r"\br[1-8]\b", lambda m: self.ids[m.group()], text)

    def search(self, filter_string: str | None = None, order_by: list[str] | None = None,
               experiments: list[str] | None = None, **kwargs: object) -> list[str]:
        runs = nbtrack.MlflowClient().search_runs(experiments or [self.one], self.filter(filter_string) or "",
                                                  order_by=order_by, **kwargs)
        return [self.names.get(r.info.run_id, r.info.run_id) for r in runs]


def _experiment_pair(client: nbtrack.MlflowClient, prefix: str) -> tuple[str, str, str]:
    """Experiment "1" with r5 and r6 in it. They start in the same millisecond, so the store breaks
    their tie by run id, and the grammar's tables expect id(r5) < id(r6): retry until so."""
    by_name = {r[0]: r for r in RUNS}
    for attempt in range(64):
        eid = client.create_experiment(f"{prefix}-one-{attempt}")
        made = [_create(client, eid, by_name[name]) for name in ("r5", "r6")]
        if made[0] < made[1]:
            return eid, made[0], made[1]
        client.delete_experiment(eid)
    raise AssertionError("64 tries gave no pair of run ids in order")


def _create(client: nbtrack.MlflowClient, experiment_id: str, row: tuple) -> str:
    name, _, run_name, user, _, start, _, _ = row
    tags = {"mlflow.user": user, **TAGS.get(name, {})}
    return client.create_run(experiment_id, start_time=start, tags=tags, run_name=run_name).info.run_id


def _seed(uri: str, prefix: str) -> Seeded:
    client = nbtrack.MlflowClient(uri)
    one, id5, id6 = _experiment_pair(client, prefix)
    two = client.create_experiment(f"{prefix}-two")
    ids = {"r5": id5, "r6": id6}
    for row in RUNS:
        if row[0] not in ids:
            ids[row[0]] = _create(client, one if row[1] == "1" else two, row)
    for name, _, _, _, status, _, end, _ in RUNS:
        rid = ids[name]
        metrics = [Metric(k, v, 1000, 0) for k, v in METRICS.get(name, {}).items()]
        params = [nbtrack.entities.Param(k, v) for k, v in PARAMS.get(name, {}).items()]
        client.log_batch(rid, metrics=metrics, params=params)
        if status != RunStatus.RUNNING:
            client.set_terminated(rid, status, end_time=end)
    for name, dataset, digest, context in INPUTS:
        tags = [InputTag("mlflow.data.context", context)] if context else []
        client.log_inputs(ids[name], [DatasetInput(Dataset(dataset, digest, "local", '{"uri": "x"}'), tags)])
    client.delete_run(ids["r8"])
    experiments = {}
    for short, tags in (("alpha", {"team": "vision"}), ("Beta", {}), ("gamma", {"team": "NLP"}), ("old", {})):
        experiments[short] = client.create_experiment(f"{prefix}-{short}", tags=tags)
        time.sleep(0.005)  # distinct creation times: the default order is creation_time DESC
    client.delete_experiment(experiments["old"])
    nbtrack.flush()
    return Seeded(ids, {v: k for k, v in ids.items()}, one, two, experiments, prefix)


@pytest.fixture(scope="module")
def seeded(module_backend) -> Seeded:
    with module_backend.active():
        return _seed(module_backend.uri, module_backend.prefix)


@pytest.fixture
def runs(seeded, use_module_backend) -> Seeded:
    return seeded


# ---- what filters match ----------------------------------------------------------
FILTER_CASES = [*METRIC_CASES, *PARAM_CASES, *TAG_CASES, *ATTRIBUTE_CASES, *DATASET_CASES, *BOOLEAN_CASES]


@pytest.mark.parametrize(("filter_string", "expected"), FILTER_CASES)
def test_filter(runs, filter_string, expected):
    assert set(runs.search(filter_string)) == expected


@pytest.mark.parametrize(("filter_string", "order_by", "expected"), ORDER_CASES)
def test_order(runs, filter_string, order_by, expected):
    got = runs.search(filter_string, order_by)
    assert in_order(got, expected), got


@pytest.mark.parametrize("filter_string", HOSTILE_VALUE_FILTERS)
def test_hostile_values_and_keys_match_nothing(runs, filter_string):
    assert runs.search(filter_string) == []
    assert len(runs.search()) == 6


def test_scope_by_experiment_and_view_type(runs):
    assert set(runs.search(experiments=[runs.one, runs.two])) == {f"r{i}" for i in range(1, 8)}
    assert runs.search(run_view_type=ViewType.DELETED_ONLY) == ["r8"]
    assert set(runs.search(run_view_type=ViewType.ALL)) == {"r1", "r2", "r3", "r4", "r5", "r6", "r8"}
    assert runs.search("params.model = 'rf'", run_view_type=ViewType.ALL) == ["r8", "r6", "r1"]


def test_paging_tokens_and_max_results(runs):
    client = nbtrack.MlflowClient()
    pages, token = [], None
    while True:
        page = client.search_runs([runs.one], "", max_results=4, order_by=["metrics.acc DESC"], page_token=token)
        pages.append([runs.names[r.info.run_id] for r in page])
        token = page.token
        if token is None:
            break
    assert pages == [["r4", "r6", "r1", "r2"], ["r3", "r5"]]
    exact = client.search_runs([runs.one], "", max_results=6)
    assert len(exact) == 6 and exact.token is None
    first = client.search_runs([runs.one], "status = 'FINISHED'", max_results=1)
    assert [runs.names[r.info.run_id] for r in first] == ["r6"] and first.token
    rest = client.search_runs([runs.one], "status = 'FINISHED'", max_results=1000, page_token=first.token)
    assert [runs.names[r.info.run_id] for r in rest] == ["r4", "r1"] and rest.token is None


def test_runs_carry_their_data(runs):
    run = nbtrack.MlflowClient().get_run(runs.ids["r1"])
    assert run.info.run_name == "alpha" and run.info.user_id == "ann" and run.info.status == "FINISHED"
    assert (run.info.start_time, run.info.end_time) == (1000, 2000)
    assert run.data.metrics == METRICS["r1"] and run.data.params == PARAMS["r1"]
    assert {k: run.data.tags[k] for k in TAGS["r1"]} == TAGS["r1"]
    assert sorted((i.dataset.name, i.dataset.digest, {t.key: t.value for t in i.tags}.get("mlflow.data.context"))
                  for i in run.inputs.dataset_inputs) == [("iris", "d1", "eval"), ("iris", "d1", "train")]
    r4 = nbtrack.MlflowClient().get_run(runs.ids["r4"]).data.metrics
    assert r4 == {"acc": float("inf"), "loss": float("-inf")}
    assert nbtrack.MlflowClient().get_run(runs.ids["r8"]).info.lifecycle_stage == "deleted"


# ---- errors ----------------------------------------------------------------------
def _local_error(filter_string=None, order_by=None) -> str:
    with pytest.raises(InvalidFilter) as info:
        parse_order_by(order_by) if order_by is not None else parse_filter(filter_string)
    return str(info.value)


@pytest.mark.parametrize(("filter_string", "message", "column"), FILTER_ERROR_CASES)
def test_bad_filter_is_invalid_parameter_value_with_the_same_message(runs, filter_string, message, column):
    with pytest.raises(NbtrackError) as info:
        nbtrack.MlflowClient().search_runs([runs.one], filter_string)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert str(info.value) == _local_error(filter_string), str(info.value)


@pytest.mark.parametrize(("order_by", "message", "column"), ORDER_BY_ERROR_CASES)
def test_bad_order_by_is_invalid_parameter_value_with_the_same_message(runs, order_by, message, column):
    with pytest.raises(NbtrackError) as info:
        nbtrack.MlflowClient().search_runs([runs.one], "", order_by=order_by)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert str(info.value) == _local_error(order_by=order_by), str(info.value)


@pytest.mark.parametrize("filter_string", HOSTILE_SYNTAX_FILTERS)
def test_hostile_syntax_is_refused(runs, filter_string):
    with pytest.raises(NbtrackError) as info:
        nbtrack.MlflowClient().search_runs([runs.one], filter_string)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert str(info.value) == _local_error(filter_string)


# ---- experiments -----------------------------------------------------------------
def _experiments(runs: Seeded, filter_string: str | None = None, **kwargs: object) -> list[str]:
    mine = f"name LIKE '{runs.prefix}-%'"
    where = f"{mine} AND ({filter_string})" if filter_string else mine
    found = nbtrack.MlflowClient().search_experiments(filter_string=where, **kwargs)
    return [e.name.removeprefix(f"{runs.prefix}-") for e in found]


def test_search_experiments_filters_and_order(runs):
    assert _experiments(runs, "name ILIKE '%-b%'") == ["Beta"]
    assert _experiments(runs, "name LIKE '%-alpha' OR name = 'nope'") == ["alpha"]
    assert _experiments(runs, "tags.team IS NOT NULL AND tags.team != 'NLP'") == ["alpha"]
    assert _experiments(runs, "tags.team ILIKE 'nlp'") == ["gamma"]
    assert _experiments(runs, "NOT tags.team IS NULL", order_by=["name DESC"]) == ["gamma", "alpha"]
    ids = [runs.experiments[n] for n in ("alpha", "gamma")]
    assert _experiments(runs, f"experiment_id IN ('{ids[0]}', '{ids[1]}')") == ["gamma", "alpha"]
    assert _experiments(runs, "creation_time > 0 AND last_update_time > 0", order_by=["name"])[:2] == ["Beta", "alpha"]
    newest_first = _experiments(runs, "NOT name LIKE '%-one-%'")
    assert newest_first == ["gamma", "Beta", "alpha", "two"]  # creation_time DESC
    assert _experiments(runs, "NOT name LIKE '%-one-%'", order_by=["experiment_id DESC"]) == newest_first
    deleted = _experiments(runs, view_type=ViewType.DELETED_ONLY)
    assert "old" in deleted and all(n == "old" or n.startswith("one-") for n in deleted)  # one-*: see _seed
    assert "old" in _experiments(runs, view_type=ViewType.ALL) and "old" not in _experiments(runs)


def test_search_experiments_pages(runs):
    client = nbtrack.MlflowClient()
    where = f"name LIKE '{runs.prefix}-%' AND NOT name LIKE '%-one-%'"
    first = client.search_experiments(filter_string=where, max_results=3, order_by=["name"])
    assert [e.name.split("-")[-1] for e in first] == ["Beta", "alpha", "gamma"] and first.token
    rest = client.search_experiments(filter_string=where, max_results=3, order_by=["name"], page_token=first.token)
    assert [e.name.split("-")[-1] for e in rest] == ["two"] and rest.token is None


@pytest.mark.parametrize(("filter_string", "order_by", "message"), [
    ("params.x = 'a'", None, "Invalid entity type 'params'"),
    ("name IS NULL", None, "only supported for tags, not for attribute 'name'"),
    ("status = 'a'", None, "Invalid attribute key 'status'"),
    (None, ["tags.team"], "Invalid order_by entity: tag"),
])
def test_bad_experiment_filter_is_invalid_parameter_value(runs, filter_string, order_by, message):
    with pytest.raises(NbtrackError) as info:
        nbtrack.MlflowClient().search_experiments(filter_string=filter_string, order_by=order_by)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE" and message in str(info.value)
