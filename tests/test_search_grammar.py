"""The search grammar: parsing, chips, errors, and what the compiled SQL returns.

Behaviour tests run the compiled query on an in-memory DuckDB holding the store's
relations and eight runs; the search package itself never imports duckdb.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from nbtrack.errors import InvalidFilter
from nbtrack.search import (
    OrderKey,
    compile_experiment_search,
    compile_run_search,
    describe_filter,
    parse_filter,
    parse_order_by,
)
from nbtrack.search.ast import And, Comparison, Not, Or

duckdb = pytest.importorskip("duckdb")

NAN, INF = math.nan, math.inf

# run_id, experiment, name, user, status, start, end, stage
RUNS = [
    ("r1", "1", "alpha", "ann", "FINISHED", 1000, 2000, "active"),
    ("r2", "1", "beta", "bob", "FAILED", 2000, 3000, "active"),
    ("r3", "1", "gamma", "ann", "RUNNING", 3000, None, "active"),
    ("r4", "1", "delta", "cy", "FINISHED", 4000, 4500, "active"),
    ("r5", "1", "epsilon", "cy", "KILLED", 5000, 5100, "active"),
    ("r6", "1", "Alpha two", "ann", "FINISHED", 5000, 6000, "active"),
    ("r7", "2", "other experiment", "ann", "FINISHED", 7000, 8000, "active"),
    ("r8", "1", "deleted", "ann", "FINISHED", 8000, 9000, "deleted"),
]
METRICS = {
    "r1": {"acc": 0.95, "loss": 0.1},
    "r2": {"acc": 0.80, "loss": NAN},
    "r3": {"acc": NAN},
    "r4": {"acc": INF, "loss": -INF},
    "r6": {"acc": 0.95, "val.acc": 0.5, "my metric": 1.0},
    "r7": {"acc": 0.99},
    "r8": {"acc": 0.99},
}
PARAMS = {
    "r1": {"model": "rf", "lr": "0.1"},
    "r2": {"model": "RF", "lr": "0.01"},
    "r3": {"model": "lr"},
    "r4": {"model": "svm"},
    "r5": {"model": "it's"},
    "r6": {"model": "rf", "lr": "0.3"},
    "r7": {"model": "rf"},
    "r8": {"model": "rf"},
}
TAGS = {
    "r1": {"team": "Vision", "mlflow.runName": "alpha"},
    "r2": {"team": "vision"},
    "r3": {"my key": "x"},
    "r4": {"team": "NLP", "note": "50%_off"},
    "r6": {"team": "nlp"},
}
# run_id, dataset name, digest, context
INPUTS = [
    ("r1", "iris", "d1", "train"),
    ("r1", "iris", "d1", "eval"),
    ("r2", "wine", "d2", "train"),
    ("r4", "iris", "d3", None),
]
EXPERIMENTS = [
    # id, name, stage, creation_time, last_update_time
    ("0", "Default", "active", 100, 100),
    ("1", "alpha", "active", 300, 900),
    ("2", "Beta", "active", 200, 200),
    ("10", "gamma", "active", 300, 300),
    ("3", "old", "deleted", 50, 50),
]
EXPERIMENT_TAGS = [("1", "team", "vision"), ("10", "team", "NLP")]

SCHEMA = """
CREATE TABLE runs (run_id VARCHAR, experiment_id VARCHAR, run_name VARCHAR, user_id VARCHAR,
    status VARCHAR, start_time BIGINT, end_time BIGINT, lifecycle_stage VARCHAR,
    artifact_uri VARCHAR);
CREATE TABLE params (run_id VARCHAR, key VARCHAR, value VARCHAR);
CREATE TABLE tags (run_id VARCHAR, key VARCHAR, value VARCHAR);
CREATE TABLE latest_metrics (run_id VARCHAR, key VARCHAR, value DOUBLE, timestamp BIGINT,
    step BIGINT);
CREATE TABLE inputs (run_id VARCHAR, dataset_name VARCHAR, dataset_digest VARCHAR,
    context VARCHAR);
CREATE TABLE experiments (experiment_id VARCHAR, name VARCHAR, artifact_location VARCHAR,
    lifecycle_stage VARCHAR, creation_time BIGINT, last_update_time BIGINT);
CREATE TABLE experiment_tags (experiment_id VARCHAR, key VARCHAR, value VARCHAR);
"""


def _rows(table: dict[str, dict[str, object]]) -> list[tuple[str, str, object]]:
    return [(run, key, value) for run, kv in table.items() for key, value in kv.items()]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute(SCHEMA)
    c.executemany(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*r, f"/store/{r[1]}/{r[0]}/artifacts") for r in RUNS],
    )
    c.executemany("INSERT INTO params VALUES (?, ?, ?)", _rows(PARAMS))
    c.executemany("INSERT INTO tags VALUES (?, ?, ?)", _rows(TAGS))
    c.executemany("INSERT INTO latest_metrics VALUES (?, ?, ?, 0, 0)", _rows(METRICS))
    c.executemany("INSERT INTO inputs VALUES (?, ?, ?, ?)", INPUTS)
    c.executemany("INSERT INTO experiments VALUES (?, ?, 'x', ?, ?, ?)", EXPERIMENTS)
    c.executemany("INSERT INTO experiment_tags VALUES (?, ?, ?)", EXPERIMENT_TAGS)
    yield c
    c.close()


def search(con, filter_string=None, order_by=None, experiments=("1",), stages=("active",)):
    query = compile_run_search(filter_string, order_by, list(experiments), stages)
    rows = con.execute(query.sql + " LIMIT ? OFFSET ?", [*query.params, 100, 0]).fetchall()
    return [row[0] for row in rows]


def found(con, filter_string):
    return set(search(con, filter_string))


def search_experiments(con, filter_string=None, order_by=None, stages=("active",)):
    query = compile_experiment_search(filter_string, order_by, stages)
    return [row[0] for row in con.execute(query.sql, query.params).fetchall()]


# ---- parsing and chips -----------------------------------------------------------


def test_parse_filter_builds_typed_tree():
    tree = parse_filter("metrics.acc > 0.9 and (params.model = 'rf' OR NOT tags.x IS NULL)")
    assert tree == And(
        (
            Comparison("metric", "acc", ">", 0.9),
            Or(
                (
                    Comparison("param", "model", "=", "rf"),
                    Not(Comparison("tag", "x", "IS NULL")),
                )
            ),
        )
    )


@pytest.mark.parametrize("blank", [None, "", "   \n"])
def test_blank_filter_means_no_filter(blank):
    assert parse_filter(blank) is None
    assert describe_filter(blank) == []


def test_precedence_is_not_then_and_then_or():
    tree = parse_filter("metrics.a = 1 OR metrics.b = 2 AND NOT metrics.c = 3")
    a, b, c = (Comparison("metric", k, "=", float(v)) for k, v in ("a1", "b2", "c3"))
    assert tree == Or((a, And((b, Not(c)))))


def test_entity_aliases_and_key_aliases_are_canonical():
    assert parse_filter("parameters.x = 'a'") == Comparison("param", "x", "=", "a")
    assert parse_filter("`metric`.x >= -1e-3") == Comparison("metric", "x", ">=", -0.001)
    assert parse_filter("run.created < 5") == Comparison("attribute", "start_time", "<", 5)
    assert parse_filter("`Run name` = 'a'") == Comparison("attribute", "run_name", "=", "a")
    assert parse_filter("datasets.digest IN ('a')") == Comparison("dataset", "digest", "IN", ("a",))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("tags.mlflow.runName = 'a'", "mlflow.runName"),
        ("tags.`my key` = 'a'", "my key"),
        ('metrics."val.acc" = 1', "val.acc"),
        ("metrics.'my metric' = 1", "my metric"),
        ("metrics.`a``b` = 1", "a`b"),
    ],
)
def test_key_quoting_forms(text, key):
    assert parse_filter(text).key == key


def test_describe_filter_gives_one_chip_per_and_term():
    chips = describe_filter(
        "metrics.acc > 0.9 AND params.model = 'rf' AND (tags.a IS NULL OR status != 'FAILED')"
        " AND params.opt IN ('adam', 'sgd') AND NOT datasets.name LIKE 'ir%'"
    )
    assert chips == [
        "acc > 0.9",
        "param model is 'rf'",
        "tag a is not set or status is not 'FAILED'",
        "param opt is one of 'adam', 'sgd'",
        "not dataset name matches 'ir%'",
    ]


def test_query_carries_the_chips():
    query = compile_run_search("metrics.acc <= 1 and tags.t ILIKE 'x'", None, ["1"], ("active",))
    assert query.description == ["acc <= 1", "tag t matches (any case) 'x'"]


def test_parse_order_by():
    keys = parse_order_by(["metrics.acc DESC", "params.`lr rate` asc", "Created", "tags.t"])
    assert keys == [
        OrderKey("metric", "acc", False),
        OrderKey("param", "lr rate", True),
        OrderKey("attribute", "start_time", True),
        OrderKey("tag", "t", True),
    ]
    assert parse_order_by(None) == []
    assert keys[0].describe() == "acc descending"


def test_search_package_does_not_import_duckdb():
    code = "import sys, nbtrack.search; sys.exit('duckdb' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---- what filters match ----------------------------------------------------------


METRIC_CASES = [
    ("metrics.acc = 0.95", {"r1", "r6"}),
    ("metrics.acc != 0.95", {"r2", "r3", "r4"}),  # NaN matches !=; r5 lacks acc
    ("metrics.acc > 0.9", {"r1", "r4", "r6"}),  # +inf matches, NaN does not
    ("metrics.acc >= 0.95", {"r1", "r4", "r6"}),
    ("metrics.acc < 0.9", {"r2"}),
    ("metrics.acc <= 0.95", {"r1", "r2", "r6"}),
    ("metrics.loss < 0", {"r4"}),  # -inf
    ("metrics.loss > -1e308", {"r1"}),
    ("metrics.acc > 1e400", set()),  # the literal is +inf; inf > inf is false
    ("metrics.acc = 1e400", {"r4"}),
]


@pytest.mark.parametrize(("filter_string", "expected"), METRIC_CASES)
def test_metric_comparators(con, filter_string, expected):
    assert found(con, filter_string) == expected


PARAM_CASES = [
    ("params.model = 'rf'", {"r1", "r6"}),
    ('params.model = "rf"', {"r1", "r6"}),
    ("params.model != 'rf'", {"r2", "r3", "r4", "r5"}),
    ("params.lr != '0.1'", {"r2", "r6"}),  # runs without lr never match
    ("params.model LIKE 'r%'", {"r1", "r6"}),  # LIKE is case-sensitive
    ("params.model ILIKE 'r%'", {"r1", "r2", "r6"}),
    ("params.model like '_f'", {"r1", "r6"}),
    ("params.lr IS NULL", {"r3", "r4", "r5"}),
    ("params.lr IS NOT NULL", {"r1", "r2", "r6"}),
    ("params.model IN ('rf', 'svm')", {"r1", "r4", "r6"}),
    ("params.lr NOT IN ('0.1')", {"r2", "r6"}),
    ("params.model = 'it''s'", {"r5"}),
    ('params.model = "it\'s"', {"r5"}),
    ("params.missing = 'x'", set()),
]


@pytest.mark.parametrize(("filter_string", "expected"), PARAM_CASES)
def test_param_comparators(con, filter_string, expected):
    assert found(con, filter_string) == expected


TAG_CASES = [
    ("tags.team = 'vision'", {"r2"}),
    ("tags.team ILIKE 'VISION'", {"r1", "r2"}),
    ("tags.team LIKE 'N%'", {"r4"}),
    ("tags.team != 'nlp'", {"r1", "r2", "r4"}),
    ("tags.team IS NULL", {"r3", "r5"}),
    ("tags.team NOT IN ('nlp', 'NLP')", {"r1", "r2"}),
    ("tags.`my key` = 'x'", {"r3"}),
    ("tags.mlflow.runName = 'alpha'", {"r1"}),
    ("tags.\"mlflow.runName\" = 'alpha'", {"r1"}),
    ("tags.note LIKE '50\\%%'", set()),  # no escape character, as in MLflow's SQLite
    ("tags.note LIKE '50%\\_off'", set()),
    ("tags.note LIKE '50%_off'", {"r4"}),
]


@pytest.mark.parametrize(("filter_string", "expected"), TAG_CASES)
def test_tag_comparators(con, filter_string, expected):
    assert found(con, filter_string) == expected


ATTRIBUTE_CASES = [
    ("status = 'FINISHED'", {"r1", "r4", "r6"}),
    ("attributes.status != 'FINISHED'", {"r2", "r3", "r5"}),
    ("run_name LIKE 'alpha%'", {"r1"}),
    ("`Run Name` ILIKE 'alpha%'", {"r1", "r6"}),
    ("attr.user_id = 'cy'", {"r4", "r5"}),
    ("run.run_id IN ('r1', 'r3', 'r7')", {"r1", "r3"}),
    ("run_id NOT IN ('r1', 'r2')", {"r3", "r4", "r5", "r6"}),
    ("artifact_uri LIKE '%/r2/%'", {"r2"}),
    ("start_time >= 4000", {"r4", "r5", "r6"}),
    ("created < 2000", {"r1"}),
    ("Created = 5000", {"r5", "r6"}),
    ("end_time > 0", {"r1", "r2", "r4", "r5", "r6"}),  # running r3 has no end_time
    ("end_time != 2000", {"r2", "r4", "r5", "r6"}),
]


@pytest.mark.parametrize(("filter_string", "expected"), ATTRIBUTE_CASES)
def test_attribute_comparators(con, filter_string, expected):
    assert found(con, filter_string) == expected


DATASET_CASES = [
    ("datasets.name = 'iris'", {"r1", "r4"}),
    ("dataset.digest IN ('d2', 'd3')", {"r2", "r4"}),
    ("datasets.context = 'eval'", {"r1"}),
    ("datasets.context != 'train'", {"r1"}),  # r1 has an eval input; r4 has no context
    ("datasets.name NOT IN ('iris')", {"r2"}),
    ("datasets.name ILIKE 'IR%'", {"r1", "r4"}),
]


@pytest.mark.parametrize(("filter_string", "expected"), DATASET_CASES)
def test_dataset_comparators(con, filter_string, expected):
    assert found(con, filter_string) == expected


BOOLEAN_CASES = [
    ("params.model = 'rf' AND metrics.acc > 0.9", {"r1", "r6"}),
    ("params.model = 'rf' and tags.team = 'nlp'", {"r6"}),
    ("params.model = 'svm' OR tags.team = 'vision'", {"r2", "r4"}),
    ("status = 'KILLED' OR status = 'FAILED' AND user_id = 'ann'", {"r5"}),
    ("(status = 'KILLED' OR status = 'FAILED') AND user_id = 'bob'", {"r2"}),
    ("NOT metrics.acc > 0.9", {"r2", "r3", "r5"}),  # includes r5, which lacks acc
    ("NOT end_time > 0", {"r3"}),  # NULL end_time counts as "no match"
    ("NOT (params.model = 'rf' OR params.model = 'RF')", {"r3", "r4", "r5"}),
    ("NOT NOT tags.team IS NULL", {"r3", "r5"}),
    ("((metrics.acc = 0.95))", {"r1", "r6"}),
]


@pytest.mark.parametrize(("filter_string", "expected"), BOOLEAN_CASES)
def test_boolean_extensions(con, filter_string, expected):
    assert found(con, filter_string) == expected


def test_scope_by_experiment_and_lifecycle(con):
    assert "r7" not in search(con)
    assert "r8" not in search(con)
    assert set(search(con, experiments=("1", "2"))) == {f"r{i}" for i in range(1, 8)}
    assert search(con, stages=("deleted",)) == ["r8"]
    assert search(con, experiments=()) == []


# ---- ordering --------------------------------------------------------------------


# (filter, order_by, expected ids in order); a trailing ... means "then the others, in any order"
ORDER_CASES = [
    (None, None, ["r5", "r6", "r4", "r3", "r2", "r1"]),  # start_time DESC, then run_id
    # metrics: NaN, then missing, last both ways. r4 +inf, r1/r6 0.95 (tie -> start_time DESC),
    # r2 0.8, r3 NaN, r5 missing
    (None, ["metrics.acc DESC"], ["r4", "r6", "r1", "r2", "r3", "r5"]),
    (None, ["metrics.acc ASC"], ["r2", "r6", "r1", "r4", "r3", "r5"]),
    (None, ["metrics.loss"], ["r4", "r1", "r2", "r5", "r6", "r3"]),
    # params and tags: missing last
    (None, ["params.lr DESC"], ["r6", "r1", "r2", "r5", "r4", "r3"]),
    (None, ["params.lr"], ["r2", "r1", "r6", "r5", "r4", "r3"]),
    (None, ["tags.team"], ["r4", "r1", "r6", "r2", ...]),  # code points: 'NLP' < 'Vision' < 'nlp' < 'vision'
    # attributes, and an explicit tiebreak
    (None, ["end_time DESC"], ["r6", "r5", "r4", "r2", "r1", "r3"]),
    (None, ["created ASC", "run_id DESC"], ["r1", "r2", "r3", "r4", "r6", "r5"]),
    (None, ["user_id", "status"], ["r6", "r1", "r3", ...]),
    # ordering by a metric the filter also names
    ("metrics.acc > 0.5", ["metrics.acc DESC"], ["r4", "r6", "r1", "r2"]),
    ("NOT metrics.acc > 0.5", ["metrics.acc DESC"], ["r3", "r5"]),
    ("metrics.acc < 0.9 OR params.model = 'lr'", ["metrics.acc"], ["r2", "r3"]),
]


def in_order(got: list[str], expected: list[object]) -> bool:
    """``got`` is ``expected``, or starts with it when ``expected`` ends with ``...``."""
    if expected and expected[-1] is Ellipsis:
        return got[: len(expected) - 1] == expected[:-1]
    return got == expected


@pytest.mark.parametrize(("filter_string", "order_by", "expected"), ORDER_CASES)
def test_order(con, filter_string, order_by, expected):
    assert in_order(search(con, filter_string, order_by), expected)


def test_order_by_a_filtered_metric_reuses_its_join():
    query = compile_run_search("metrics.acc > 0.5", ["metrics.acc DESC"], ["1"], ("active",))
    assert query.sql.count("latest_metrics") == 1


# ---- experiments -----------------------------------------------------------------


def test_experiment_default_order_is_creation_desc_then_id(con):
    assert search_experiments(con) == ["1", "10", "2", "0"]


def test_experiment_filters(con):
    assert search_experiments(con, "name ILIKE 'b%'") == ["2"]
    assert search_experiments(con, "tags.team IS NULL") == ["2", "0"]
    assert search_experiments(con, "tags.team IS NOT NULL AND tags.team != 'NLP'") == ["1"]
    assert search_experiments(con, "experiment_id IN ('0', '10')") == ["10", "0"]
    assert search_experiments(con, "creation_time > 150 OR name = 'Default'") == [
        "1", "10", "2", "0"
    ]  # fmt: skip
    assert search_experiments(con, "last_update_time >= 900") == ["1"]
    assert search_experiments(con, stages=("deleted",)) == ["3"]


def test_experiment_order_compares_ids_as_numbers(con):
    assert search_experiments(con, order_by=["experiment_id"]) == ["0", "1", "2", "10"]
    assert search_experiments(con, order_by=["name"]) == ["2", "0", "1", "10"]
    # MLflow's SQL store breaks ties on experiment_id descending once order_by is given
    assert search_experiments(con, order_by=["creation_time DESC"]) == ["10", "1", "2", "0"]


# ---- errors ----------------------------------------------------------------------


FILTER_ERROR_CASES = [
    ("metrics.acc >> 0.9", "unknown comparator '>>' at column 13; metrics support", 13),
    ("metrics.acc <> 0.9", "unknown comparator '<>'", 13),
    ("metrics.acc BETWEEN 1", "unknown comparator 'BETWEEN'", 13),
    ("foo.acc > 1", "Invalid entity type 'foo'", 1),
    ("`metricz`.acc > 1", "Invalid entity type 'metricz'", 1),
    ("acc > 0.9", "Invalid attribute key 'acc'", 1),
    ("attributes.experiment_id = '1'", "Invalid attribute key 'experiment_id'", 12),
    ("datasets.version = 'x'", "Invalid dataset key 'version'", 10),
    ("metrics.acc LIKE '9'", "Invalid comparator 'LIKE' for metric 'acc'", 13),
    ("params.model > 'a'", "Invalid comparator '>' for param 'model'", 14),
    ("start_time LIKE '1'", "Invalid comparator 'LIKE' for attribute 'start_time'", 12),
    ("metrics.acc IN ('1')", "Invalid comparator 'IN' for metric 'acc'", 13),
    ("params.model = rf", "Expected a quoted string value for param 'model', found rf", 16),
    ("params.model = `rf`", "Expected a quoted string value for param 'model'", 16),
    ("tags.t = 5", "Expected a quoted string value for tag 't', found 5", 10),
    ("metrics.acc > 'high'", "Expected numeric value type for metric 'acc'", 15),
    ("start_time > 'now'", "Expected numeric value type for attribute 'start_time'", 14),
    ("metrics.acc > 0.9x", "Expected numeric value type for metric 'acc', found 0.9x", 15),
    ("params.model = 'rf", "unterminated quote (') starting at column 16", 16),
    ('params.model = "rf', 'unterminated quote (") starting', 16),
    ("metrics.`acc > 1", "unterminated quote (`) starting", 9),
    ("metrics.acc > 0.9 AND", "dangling AND at column 19", 19),
    ("metrics.acc > 0.9 and   ", "dangling AND", 19),
    ("metrics.acc > 0.9 OR", "dangling OR", 19),
    ("NOT", "dangling NOT", 1),
    ("(metrics.acc > 0.9 AND )", "dangling AND", 20),
    ("AND metrics.acc > 1", "expected a comparison before AND", 1),
    ("()", "empty parentheses at column 1", 1),
    ("metrics.acc > 1 AND ( )", "empty parentheses", 21),
    ("(metrics.acc > 1", "missing ')' to close '('", 1),
    ("metrics.acc > 1)", "unexpected ')'", 16),
    ("metrics.acc > 1; metrics.b < 2", "unexpected ';'", 16),
    ("metrics.acc > 1 metrics.b < 2", "expected AND, OR or the end of the filter", 17),
    ("metrics.acc IS NULL", "only supported for tags and params, not for 'metric' 'acc'", 13),
    ("status IS NOT NULL", "IS NULL / IS NOT NULL is only supported for tags and params", 8),
    ("status IN ('FINISHED')", "Only the 'run_id' attribute supports comparison with", 8),
    ("run_name NOT IN ('a')", "NOT IN is not supported for attribute 'run_name'", 10),
    ("params.model IN ()", "empty list after IN", 18),
    ("params.model IN 'rf'", "expected a list after IN", 17),
    ("params.model IN ('rf' 'svm')", "expected ',' or ')' in the list", 23),
    ("params.model IN ('rf', 3)", "'3' in list after IN", 24),
    ("params.model IN ('rf'", "missing ')' to close the list", 17),
    ("params.model IS 'x'", "expected NULL after IS", 17),
    ("params.model NOT LIKE 'x'", "expected IN after NOT", 18),
    ("metrics.acc", "expected a comparator after 'acc'", 12),
    ("metrics.acc >", "expected a value after >", 14),
    ("metrics. > 1", "expected a key after 'metrics.'", 9),
    ("metrics.val-loss > 1", "key 'val-loss' contains '-' and must be quoted", 9),
    ("= 1", "expected a key such as metrics.acc", 1),
    ('"metrics".acc > 1', 'Invalid entity type "metrics"', 1),
]


@pytest.mark.parametrize(("filter_string", "message", "column"), FILTER_ERROR_CASES)
def test_filter_errors_name_problem_and_column(filter_string, message, column):
    with pytest.raises(InvalidFilter) as info:
        parse_filter(filter_string)
    assert message in str(info.value)
    assert f"at column {column}" in info.value.problem
    assert info.value.position == column
    assert info.value.text == filter_string


def test_error_message_points_a_caret_at_the_column():
    with pytest.raises(InvalidFilter) as info:
        parse_filter("metrics.acc >> 0.9")
    assert str(info.value).splitlines() == [
        "unknown comparator '>>' at column 13; metrics support = != < <= > >=",
        "  metrics.acc >> 0.9",
        "              ^",
    ]
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(info.value, ValueError)


ORDER_BY_ERROR_CASES = [
    (["metrics.acc", "metrics.acc DESC"], "`order_by` contains duplicate fields", 1),
    (["start_time", "  created DESC"], "`order_by` contains duplicate fields", 3),
    (["metrics.acc UP"], "invalid order direction 'UP' at column 13; use ASC or DESC", 13),
    (["metrics.acc DESC ASC"], "unexpected 'ASC' after the order direction", 18),
    (["lifecycle_stage"], "Invalid attribute key 'lifecycle_stage'", 1),
    (["`Run Name`"], "Invalid attribute key 'Run Name'", 1),
    (["datasets.name"], "Invalid order_by entity: dataset", 1),
    (["bogus.x"], "Invalid entity type 'bogus'", 1),
    ([""], "empty order_by clause", 1),
]


@pytest.mark.parametrize(("order_by", "message", "column"), ORDER_BY_ERROR_CASES)
def test_order_by_errors(order_by, message, column):
    with pytest.raises(InvalidFilter) as info:
        parse_order_by(order_by)
    assert message in str(info.value)
    assert info.value.position == column


EXPERIMENT_ERROR_CASES = [
    ("params.x = 'a'", None, "Invalid entity type 'params'"),
    ("metrics.x > 1", None, "Invalid entity type 'metrics'"),
    ("name IS NULL", None, "only supported for tags, not for attribute 'name'"),
    ("name IN ('a')", None, "Only the 'experiment_id' attribute supports comparison"),
    ("status = 'a'", None, "Invalid attribute key 'status'"),
    ("creation_time > 'x'", None, "Expected numeric value type for attribute 'creation_time'"),
    (None, ["tags.team"], "Invalid order_by entity: tag"),
    (None, ["start_time"], "Invalid attribute key 'start_time'"),
]


@pytest.mark.parametrize(("filter_string", "order_by", "message"), EXPERIMENT_ERROR_CASES)
def test_experiment_errors(filter_string, order_by, message):
    with pytest.raises(InvalidFilter, match="at column") as info:
        compile_experiment_search(filter_string, order_by, ("active",))
    assert message in str(info.value)


def test_order_by_entries_must_be_strings():
    with pytest.raises(InvalidFilter, match="order_by entries must be strings"):
        parse_order_by([None])  # type: ignore[list-item]


# ---- injection -------------------------------------------------------------------


HOSTILE_VALUE_FILTERS = [
    "params.model = 'x'' OR 1=1 --'",
    "params.model = \"x' OR '1'='1\"",
    "tags.`x' OR 1=1 --` = 'y'",
    'tags."team"" OR 1=1 --" IS NOT NULL',
    "params.model IN ('rf'') OR (1=1', 'x')",
    "run_name = '; DROP TABLE runs; --'",
]


@pytest.mark.parametrize("filter_string", HOSTILE_VALUE_FILTERS)
def test_hostile_values_and_keys_are_only_parameters(con, filter_string):
    query = compile_run_search(filter_string, None, ["1"], ("active",))
    assert "1=1" not in query.sql
    assert "DROP" not in query.sql
    assert search(con, filter_string) == []
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == len(RUNS)


HOSTILE_SYNTAX_FILTERS = [
    "params.model = 'x'' OR 1=1 --",
    "params.model = 'rf' OR 1=1",
    "params.model = 'rf'; DROP TABLE runs",
    "params.model = 'rf' -- comment",
    "tags.`x` = 'y' UNION SELECT run_id FROM runs",
]


@pytest.mark.parametrize("filter_string", HOSTILE_SYNTAX_FILTERS)
def test_hostile_syntax_raises_cleanly(con, filter_string):
    with pytest.raises(InvalidFilter):
        compile_run_search(filter_string, None, ["1"], ("active",))
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == len(RUNS)


def test_hostile_order_by_key_is_a_parameter(con):
    order_by = ["params.`model'); DROP TABLE runs; --` DESC"]
    query = compile_run_search(None, order_by, ["1"], ("active",))
    assert "DROP" not in query.sql
    assert len(search(con, order_by=order_by)) == 6
