"""Random filters and order_by clauses against a real store: a result or an NbtrackError, never a raw crash."""

from __future__ import annotations

import math
from collections import Counter

import pytest

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag
from nbtrack.errors import NbtrackError

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

# characters that stress quoting, escaping, the tokenizer and the UTF-8 check
_ODD = "a Z_9.-%/:`'\"\\()=!<>~;,\t\n\x00éß漢🙂\ud800\udfff\u200b"
_SAFE = _ODD.replace("\ud800", "").replace("\udfff", "")  # valid UTF-8 (NUL and quotes included)
_name = st.text(alphabet=_ODD, max_size=12)
_word = st.sampled_from(["acc", "loss", "model", "team", "run_id", "run_name", "status", "start_time",
                         "created", "Run Name", "name", "digest", "context", "experiment_id",
                         "creation_time", "version_number", "source_path", "tags.mlflow.runName"])
_entity = st.sampled_from(["metrics", "metric", "params", "param", "tags", "tag", "attributes", "attr",
                           "run", "datasets", "dataset", "`metrics`", "`tags`", "bogus", ""])
_quote = st.sampled_from(["", "`", '"', "'"])
_comparator = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "like", "IN", "NOT IN",
                               "IS NULL", "IS NOT NULL", "is not null", "==", "<>", "~", "NOT", ""])


def _quoted(text: str, quote: str) -> str:
    return f"{quote}{text.replace(quote, quote * 2) if quote else text}{quote}"


@st.composite
def _identifier(draw: st.DrawFn) -> str:
    key = draw(st.one_of(_word, _name))
    key = _quoted(key, draw(_quote))
    entity = draw(_entity)
    return f"{entity}.{key}" if entity else key


_number = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-0", ".5", "1.", "0x10", "1e", "--1"]),
)
_string = st.builds(_quoted, st.text(alphabet=_ODD, max_size=10), st.sampled_from(["'", '"', "`"]))
_list = st.lists(_string, max_size=4).map(lambda items: "(" + ", ".join(items) + ")")
_value = st.one_of(_number, _string, _list, _name, st.just(""))


@st.composite
def _comparison(draw: st.DrawFn) -> str:
    return f"{draw(_identifier())} {draw(_comparator)} {draw(_value)}".strip()


@st.composite
def _valid_comparison(draw: st.DrawFn) -> str:
    """A comparison the runs grammar accepts (odd keys backticked, odd values quoted)."""
    key = _quoted(draw(st.one_of(_word, st.text(alphabet=_SAFE, min_size=1, max_size=8))), "`")
    kind = draw(st.sampled_from(["metric", "param", "tag", "attr", "number attr", "dataset", "list"]))
    text = _quoted(draw(st.text(alphabet=_SAFE, max_size=8)), draw(st.sampled_from(["'", '"'])))
    if kind == "metric":
        return f"metrics.{key} {draw(st.sampled_from(['=', '!=', '<', '<=', '>', '>=']))} {draw(_number)}"
    if kind == "number attr":
        return f"attributes.{draw(st.sampled_from(['start_time', 'end_time', 'created']))} > {draw(_number)}"
    if kind == "attr":
        name = draw(st.sampled_from(["run_name", "status", "user_id", "`Run Name`", "run_id"]))
        return f"attributes.{name} {draw(st.sampled_from(['=', '!=', 'LIKE', 'ILIKE']))} {text}"
    if kind == "dataset":
        return f"datasets.{draw(st.sampled_from(['name', 'digest', 'context']))} = {text}"
    entity = draw(st.sampled_from(["params", "tags"]))
    if kind == "list":
        return f"{entity}.{key} {draw(st.sampled_from(['IN', 'NOT IN']))} {draw(_list.filter(lambda v: v != '()'))}"
    op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"]))
    return f"{entity}.{key} {op}" + ("" if "NULL" in op else f" {text}")


_space = st.sampled_from([" ", "  ", "\t", "\n", ""])


def _combine_valid(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["AND", "OR", "and", "Or"]), children).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"NOT {c}"),
        children.map(lambda c: f"({c})"),
    )


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    joined = st.tuples(children, st.sampled_from(["AND", "OR", "and", "Or"]), children).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}")
    return st.one_of(
        joined, joined, joined,
        children.map(lambda c: f"NOT {c}"),
        children.map(lambda c: f"({c})"),
        st.tuples(_space, children, _space).map("".join),
        st.tuples(children, st.sampled_from(["AND AND", ";", "OR)", "XOR"]), children).map(" ".join),
        children.map(lambda c: f"({c}"),  # unbalanced
    )


_filter = st.one_of(
    st.none(),
    st.recursive(_comparison(), _combine, max_leaves=12),
    st.recursive(_valid_comparison(), _combine, max_leaves=12),
    st.text(alphabet=_ODD, max_size=30),  # plain junk
    st.integers().map(lambda n: n),  # not a string at all
)
_order_entry = st.one_of(
    st.tuples(_identifier(), st.sampled_from(["", " ASC", " DESC", " desc", " UP", " ASC DESC"])).map("".join),
    st.text(alphabet=_ODD, max_size=12),
    st.integers(),
    st.none(),
)
_valid_order = st.tuples(
    st.one_of(
        st.tuples(st.sampled_from(["metrics.", "params.", "tags."]),
                  st.one_of(_word, st.text(alphabet=_SAFE, min_size=1, max_size=6)).map(lambda k: _quoted(k, "`"))),
        st.tuples(st.sampled_from(["attributes.", ""]),
                  st.sampled_from(["start_time", "end_time", "created", "run_name", "status", "run_id"])),
    ).map("".join),
    st.sampled_from(["", " ASC", " DESC"]),
).map("".join)
_order_by = st.one_of(st.none(), st.lists(_valid_order, max_size=3), st.lists(_order_entry, max_size=4),
                      _name, st.integers())
_wellformed_filter = st.recursive(_valid_comparison(), _combine_valid, max_leaves=40)
# keys are unique per entry list (duplicates are refused, rightly)
_wellformed_order = st.lists(_valid_order, max_size=3, unique_by=lambda o: o.rsplit(" ", 1)[0])


@pytest.fixture
def store(client):
    for n, (model, team) in enumerate([("rf", "vision"), ("lr", "nlp"), ("it's", "")]):
        with nbtrack.start_run(run_name=f"run{n}") as run:
            nbtrack.log_metrics({"acc": [0.5, math.nan, math.inf][n], "loss": n})
            nbtrack.log_param("model", model)
            nbtrack.set_tag("team", team)
            client.log_inputs(run.info.run_id, [DatasetInput(
                Dataset("iris", f"d{n}", "local", "iris.csv"), [InputTag("mlflow.data.context", "train")])])
    client.create_experiment("exp", tags={"team": "vision"})
    client.create_registered_model("model", tags={"team": "vision"})
    client.create_model_version("model", "s3://m/1", run_id=None, tags={"team": "vision"})
    return client


def test_random_searches_never_crash_raw(store):
    searches = {
        "runs": lambda f, o: nbtrack.search_runs(filter_string=f, order_by=o),
        "experiments": lambda f, o: store.search_experiments(filter_string=f, order_by=o),
        "registered_models": lambda f, o: store.search_registered_models(f, order_by=o),
        "model_versions": lambda f, o: store.search_model_versions(f, order_by=o),
    }
    counts: Counter[str] = Counter()
    raw: list[str] = []
    reasons: Counter[str] = Counter()

    @hypothesis.settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(filter_string=_filter, order_by=_order_by)
    def search(filter_string: object, order_by: object) -> None:
        for endpoint, call in searches.items():
            counts["tried"] += 1
            try:
                call(filter_string, order_by)
                counts["returned"] += 1
                counts[f"{endpoint} returned"] += 1
            except NbtrackError as e:
                counts["refused cleanly"] += 1
                reasons[str(e)[:40]] += 1
            except Exception as e:
                counts["raw"] += 1
                raw.append(f"{endpoint}({filter_string!r}, {order_by!r}): {type(e).__name__}: {e}"[:300])

    search()
    print(dict(counts))
    print(reasons.most_common(12))
    assert counts["tried"] >= 4 * 100 and counts["returned"] > 0 and counts["refused cleanly"] > 0
    assert not raw, f"{len(raw)} raw exceptions, e.g.\n" + "\n".join(raw[:5])


def test_wellformed_run_searches_run_in_duckdb(store):
    """Grammatical filters (odd keys and values, deep nesting, long chains) reach DuckDB and run."""
    counts: Counter[str] = Counter()
    raw: list[str] = []
    reasons: Counter[str] = Counter()

    @hypothesis.settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(filter_string=_wellformed_filter, order_by=_wellformed_order)
    def search(filter_string: str, order_by: list[str]) -> None:
        counts["tried"] += 1
        try:
            nbtrack.search_runs(filter_string=filter_string, order_by=order_by)
            counts["returned"] += 1
        except NbtrackError as e:
            counts["refused cleanly"] += 1
            reasons[str(e)[:50]] += 1
        except Exception as e:  # counting raw crashes is the point of this test
            counts["raw"] += 1
            raw.append(f"({filter_string!r}, {order_by!r}): {type(e).__name__}: {e}"[:300])

    search()
    print(dict(counts), reasons.most_common(5))
    assert not raw, f"{len(raw)} raw exceptions, e.g.\n" + "\n".join(raw[:5])
    assert counts["returned"] >= counts["tried"] * 0.6, reasons.most_common(5)
