"""Search limits: hostile filters and order_by are clear errors; deep but legal ones still work."""

from __future__ import annotations

import pytest

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import InvalidFilter, InvalidParameter
from nbtrack.search import compile_experiment_search, compile_run_search, parse_filter
from nbtrack.search._compile import _compile_runs
from nbtrack.search._parser import MAX_COMPARISONS, MAX_DEPTH, MAX_ORDER_KEYS
from nbtrack.store.duckdb.registry_search import model_version_query, registered_model_query


@pytest.fixture
def runs(client):
    """Six runs: acc = 0.0 .. 0.5, model rf/lr alternating, tag i = index, dataset on even runs."""
    ids = []
    for n in range(6):
        with nbtrack.start_run(run_name=f"run{n}") as run:
            nbtrack.log_metrics({"acc": n / 10, "loss": 1 - n / 10})
            nbtrack.log_param("model", "rf" if n % 2 else "lr")
            nbtrack.set_tag("i", str(n))
            if n % 2 == 0:
                client.log_inputs(run.info.run_id, [DatasetInput(
                    Dataset("iris", f"d{n}", "local", "iris.csv"), [InputTag("mlflow.data.context", "train")])])
            ids.append(run.info.run_id)
    return ids


def _names(frame) -> list[str]:
    return sorted(frame["tags.mlflow.runName"])


def _searches(client):
    """Every search endpoint, as f(filter_string=..., order_by=...)."""
    return {
        "search_runs": lambda f=None, o=None: nbtrack.search_runs(filter_string=f, order_by=o),
        "search_experiments": lambda f=None, o=None: client.search_experiments(filter_string=f, order_by=o),
        "search_registered_models": lambda f=None, o=None: client.search_registered_models(f, order_by=o),
        "search_model_versions": lambda f=None, o=None: client.search_model_versions(f, order_by=o),
    }


# one legal comparison per endpoint, to build hostile filters from
_TERM = {
    "search_runs": "metrics.acc > 0.1",
    "search_experiments": "name LIKE '%'",
    "search_registered_models": "name LIKE '%'",
    "search_model_versions": "name LIKE '%'",
}
_ENDPOINTS = sorted(_TERM)


@pytest.mark.parametrize("endpoint", _ENDPOINTS)
def test_deep_nesting_is_an_invalid_filter(client, endpoint):
    search, term = _searches(client)[endpoint], _TERM[endpoint]
    for hostile in ("(" * 5000 + term + ")" * 5000, "NOT " * 5000 + term,
                    "(NOT " * 3000 + term + ")" * 3000):
        with pytest.raises(InvalidFilter, match=f"nests parentheses and NOT more than {MAX_DEPTH} levels "
                                                "deep at column") as caught:
            search(hostile)
        assert caught.value.position is not None and caught.value.position <= 4 * (MAX_DEPTH + 1) + 1


@pytest.mark.parametrize("endpoint", _ENDPOINTS)
def test_too_many_comparisons_is_an_invalid_filter(client, endpoint):
    search, term = _searches(client)[endpoint], _TERM[endpoint]
    for joiner in (" AND ", " OR "):
        with pytest.raises(InvalidFilter, match=f"the filter has more than {MAX_COMPARISONS} comparisons"):
            search(joiner.join([term] * 2000))


@pytest.mark.parametrize("endpoint", _ENDPOINTS)
def test_a_surrogate_is_an_invalid_filter(client, endpoint):
    search = _searches(client)[endpoint]
    with pytest.raises(InvalidFilter, match="lone surrogate that is not valid UTF-8") as caught:
        search("name = 'a\ud800b'" if endpoint != "search_runs" else "params.model = 'a\ud800b'")
    assert caught.value.position == (10 if endpoint != "search_runs" else 18)
    with pytest.raises(InvalidFilter, match="order_by entry holds '\\\\udfff' at column 5"):
        search(None, ["name\udfff"])


@pytest.mark.parametrize("endpoint", _ENDPOINTS)
@pytest.mark.parametrize(("filter_string", "order_by", "error", "message"), [
    (5, None, InvalidParameter, "filter_string"),
    (b"name = 'a'", None, InvalidParameter, "filter_string"),
    (["name = 'a'"], None, InvalidParameter, "filter_string"),
    (None, "name", InvalidParameter, "order_by"),
    (None, 5, InvalidParameter, "order_by"),
    (None, {"name": 1}, InvalidParameter, "order_by"),
    (None, [5], (InvalidFilter, InvalidParameter), "order_by"),
    (None, [None], (InvalidFilter, InvalidParameter), "order_by"),
    (None, [["name"]], (InvalidFilter, InvalidParameter), "order_by"),
    (None, ["name"] * (MAX_ORDER_KEYS + 1), InvalidFilter, f"at most {MAX_ORDER_KEYS} are supported"),
])
def test_wrong_types_are_refused(client, endpoint, filter_string, order_by, error, message):
    with pytest.raises(error) as caught:
        _searches(client)[endpoint](filter_string, order_by)
    assert message in str(caught.value)


@pytest.mark.parametrize(("filter_string", "order_by", "error", "message"), [
    (5, None, InvalidParameter, "filter_string must be a str, got int 5"),
    (b"x", None, InvalidParameter, "filter_string must be a str, got bytes"),
    (None, "metrics.acc", InvalidParameter, "order_by must be a list of strings, got str 'metrics.acc'"),
    (None, 5, InvalidParameter, "order_by must be a list of strings, got int 5"),
    (None, [5], InvalidFilter, "order_by entries must be strings, got int 5"),
    (None, [None], InvalidFilter, "order_by entries must be strings, got NoneType None"),
])
def test_the_compiler_checks_types_itself(filter_string, order_by, error, message):
    """Callers that skip the API's validation (the server, the UI) get the same kind of error."""
    for compile_search in (lambda: compile_run_search(filter_string, order_by, ["0"], ("active",)),
                           lambda: compile_experiment_search(filter_string, order_by, ("active",)),
                           lambda: registered_model_query(filter_string, order_by),
                           lambda: model_version_query(filter_string, order_by)):
        with pytest.raises(error, match=message):
            compile_search()


def test_deep_but_legal_filters_return_the_right_runs(runs):
    deep = "(" * MAX_DEPTH + "metrics.acc >= 0.3" + ")" * MAX_DEPTH
    assert _names(nbtrack.search_runs(filter_string=deep)) == ["run3", "run4", "run5"]
    nots = "NOT " * MAX_DEPTH + "metrics.acc >= 0.3"  # an even number of NOTs cancels out
    assert _names(nbtrack.search_runs(filter_string=nots)) == ["run3", "run4", "run5"]
    odd = "NOT " * (MAX_DEPTH - 1) + "metrics.acc >= 0.3"
    assert _names(nbtrack.search_runs(filter_string=odd)) == ["run0", "run1", "run2"]
    # alternating OR/AND, MAX_DEPTH levels: ((... OR x) AND y) ...
    chain = "metrics.acc = 0.0"
    for n in range(MAX_DEPTH - 1):
        chain = f"({chain} OR params.model = 'rf')" if n % 2 == 0 else f"({chain} AND metrics.loss > 0)"
    assert _names(nbtrack.search_runs(filter_string=chain)) == ["run0", "run1", "run3", "run5"]


def test_long_and_chains_as_mlflow_users_write_them_keep_working(runs):
    keys = ["metrics.acc >= 0.2", "metrics.loss < 0.9", "params.model = 'lr'", "tags.i != '9'",
            "datasets.name = 'iris'", "attributes.status = 'FINISHED'", "params.model LIKE 'l%'",
            "tags.i IS NOT NULL", "params.nope IS NULL", "datasets.context = 'train'"]
    for n in (len(keys), 100, MAX_COMPARISONS):
        chain = " AND ".join(keys[i % len(keys)] for i in range(n))
        assert _names(nbtrack.search_runs(filter_string=chain)) == ["run2", "run4"], n
    one_of = " OR ".join(f"tags.i = '{i % 4}'" for i in range(MAX_COMPARISONS))
    assert _names(nbtrack.search_runs(filter_string=one_of, order_by=["metrics.acc DESC"])) == [
        "run0", "run1", "run2", "run3"]
    ordered = nbtrack.search_runs(filter_string=" AND ".join(keys), order_by=[
        "metrics.acc DESC", "metrics.loss", "params.model", "tags.i", "start_time", "run_name",
        "metrics.x", "params.y", "tags.z", "end_time"])
    assert list(ordered["tags.mlflow.runName"]) == ["run4", "run2"]


@pytest.mark.parametrize("filter_string", [
    "metrics.acc > 0.2",
    "metrics.acc > 0.2 AND params.model = 'rf'",
    "NOT (tags.i IN ('1', '2') OR params.model IS NULL) AND metrics.loss <= 0.8",
    "tags.i IS NULL OR params.model NOT IN ('rf')",
    "datasets.name = 'iris' AND NOT datasets.context = 'eval' AND tags.i ILIKE '%'",
    "(metrics.acc != 0.3 AND metrics.acc < 0.5) OR (params.model LIKE 'r%' AND tags.i = '1')",
])
@pytest.mark.parametrize("order_by", [None, ["metrics.acc DESC", "params.model"]])
def test_grouped_and_semi_join_shapes_agree(runs, filter_string, order_by):
    """Past 8 joins the compiler switches shape; both must select the same runs in the same order."""
    from nbtrack.search._grammar import RUNS
    from nbtrack.search._parser import parse_order_keys

    expr, keys = parse_filter(filter_string), parse_order_keys(order_by, RUNS)
    experiment = nbtrack.get_experiment_by_name("Default").experiment_id
    found = []
    for grouped in (False, True):
        query = _compile_runs(expr, keys, [experiment], ("active",), grouped=grouped)
        assert ("bool_or" in query.sql) == grouped
        found.append(nbtrack.sql(query.sql, query.params)["run_id"].tolist())
    assert found[0] == found[1]
    assert found[0] == nbtrack.search_runs(filter_string=filter_string, order_by=order_by)["run_id"].tolist()


def test_many_tag_comparisons_in_experiments_and_the_registry(client):
    for name, team in (("a", "x"), ("b", "y"), ("c", "x")):
        client.create_experiment(name, tags={"team": team, "kind": "k"})
        client.create_registered_model(name, tags={"team": team, "kind": "k"})
        client.create_model_version(name, f"s3://m/{name}", run_id=None, tags={"team": team})
    terms = ["tags.team = 'x'", "tags.kind LIKE 'k%'", "tags.team != 'y'", "tags.kind ILIKE 'K'"]
    chain = " AND ".join(terms[i % len(terms)] for i in range(40))
    assert sorted(e.name for e in client.search_experiments(filter_string=chain)) == ["a", "c"]
    assert [m.name for m in client.search_registered_models(chain)] == ["a", "c"]
    versions = " AND ".join(["tags.team = 'x'", "tags.team != 'y'"] * 20)
    assert [v.name for v in client.search_model_versions(versions, order_by=["name"])] == ["a", "c"]
    with_null = " AND ".join(["tags.team = 'x'"] * 10 + ["tags.nope IS NULL"])
    assert sorted(e.name for e in client.search_experiments(filter_string=with_null)) == ["a", "c"]
