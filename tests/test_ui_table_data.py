"""The run table's data: one DuckDB query per page, on a real store in tmp_path."""

from __future__ import annotations

import time

import pytest

import nbtrack
from nbtrack.errors import InvalidFilter
from nbtrack.ui import _data


@pytest.fixture
def sweep(store_uri):
    """12 runs in experiment 'sweep': lr as text params, acc metric, 3 runs per notebook cell."""
    exp = nbtrack.set_experiment("sweep")
    ids = []
    for i in range(12):
        with nbtrack.start_run(run_name=f"run-{i:02d}") as run:
            nbtrack.log_params({"lr": [0.1, 0.01, 0.001, 0.0001][i % 4], "opt": "adam" if i % 2 else "sgd",
                                "layers": i + 1})  # layers 1..12: text "10" < "9" but 10 > 9
            nbtrack.log_metric("acc", i / 10)
            nbtrack.set_tag("nbtrack.cell_id", f"cell-{i // 3}")
        ids.append(run.info.run_id)
        time.sleep(0.002)  # distinct start times: newest first is well defined
    nbtrack.flush()
    return exp.experiment_id, ids


def names(page: _data.Page) -> list[str]:
    return [r["attr:run_name"] for r in page.rows]


def test_first_page_is_newest_first_with_total_and_catalogue(sweep):
    exp, _ = sweep
    page = _data.fetch_page([exp], page_size=5, catalogue=True)
    assert page.total == 12 and len(page.rows) == 5
    assert names(page) == ["run-11", "run-10", "run-09", "run-08", "run-07"]
    ids = {c.id for c in page.columns}
    assert {"param:lr", "param:opt", "param:layers", "metric:acc", "tag:nbtrack.cell_id", "attr:duration"} <= ids
    lr = next(c for c in page.columns if c.id == "param:lr")
    assert lr.count == 12 and lr.numeric
    assert _data.default_columns(page.columns)[:4] == ["attr:run_name", "attr:status", "attr:start_time",
                                                       "attr:duration"]


def test_pages_cover_every_run_once_and_past_the_end_clamps(sweep):
    exp, ids = sweep
    seen = []
    for p in range(3):
        seen += _data.fetch_page([exp], page=p, page_size=5).run_ids
    assert sorted(seen) == sorted(ids)
    late = _data.fetch_page([exp], page=40, page_size=5)
    assert late.offset == 10 and len(late.rows) == 2


def test_sorting_params_numerically_metrics_and_attributes(sweep):
    exp, _ = sweep
    by_layers = _data.fetch_page([exp], sort_id="param:layers", descending=True, page_size=3)
    assert [r["param:layers"] for r in by_layers.rows] == ["12", "11", "10"]  # numbers, not text
    by_acc = _data.fetch_page([exp], sort_id="metric:acc", descending=False, page_size=2)
    assert [r["metric:acc"] for r in by_acc.rows] == [0.0, 0.1]
    by_name = _data.fetch_page([exp], sort_id="attr:run_name", descending=False, page_size=2)
    assert names(by_name) == ["run-00", "run-01"]
    by_status = _data.fetch_page([exp], sort_id="attr:status", page_size=1)
    assert by_status.rows[0]["attr:status"] == "FINISHED"
    by_duration = _data.fetch_page([exp], sort_id="attr:duration", page_size=12)
    durations = [r["attr:duration"] for r in by_duration.rows]
    assert durations == sorted(durations, reverse=True)


def test_filter_uses_the_search_grammar_with_or(sweep):
    exp, _ = sweep
    page = _data.fetch_page([exp], "metrics.acc >= 0.9 OR params.lr = '0.1'")
    assert sorted(names(page)) == ["run-00", "run-04", "run-08", "run-09", "run-10", "run-11"]
    with pytest.raises(InvalidFilter) as info:
        _data.fetch_page([exp], "metrics.acc >")
    assert info.value.position == 14


def test_latest_run_per_cell(sweep):
    exp, _ = sweep
    page = _data.fetch_page([exp], group_by_cell=True, catalogue=True)
    assert page.total == 4
    assert names(page) == ["run-11", "run-08", "run-05", "run-02"]
    assert all(r["n_cell"] == 3 for r in page.rows)


def test_unknown_sort_column_is_refused(sweep):
    exp, _ = sweep
    with pytest.raises(nbtrack.errors.InvalidParameter, match="Unknown sort column"):
        _data.fetch_page([exp], sort_id="attr:; DROP TABLE runs")
    with pytest.raises(nbtrack.errors.InvalidParameter, match="Unknown sort column"):
        _data.fetch_page([exp], sort_id="bogus:lr")


def test_experiment_names_and_ids_resolve(sweep):
    exp, _ = sweep
    assert _data.experiment_ids("sweep") == [exp]
    assert _data.experiment_ids([exp]) == [exp]
    assert _data.experiment_ids(None) == [exp]  # the active one
    with pytest.raises(nbtrack.errors.NotFound):
        _data.experiment_ids("no such experiment")


def test_fingerprint_changes_when_a_run_starts_logs_and_ends(sweep):
    exp, _ = sweep
    before = _data.fingerprint([exp])
    run = nbtrack.start_run(run_name="live")
    nbtrack.flush()
    started = _data.fingerprint([exp])
    assert started != before and started[3] == 1  # one RUNNING
    nbtrack.log_metric("acc", 0.5, step=3)
    nbtrack.flush()
    logged = _data.fingerprint([exp])
    assert logged != started
    nbtrack.end_run()
    nbtrack.flush()
    assert _data.fingerprint([exp]) != logged
    assert run.info.run_id


def test_running_run_has_no_end_time_but_a_growing_duration(sweep):
    exp, _ = sweep
    with nbtrack.start_run(run_name="still-running"):
        nbtrack.flush()
        row = _data.fetch_page([exp], page_size=1).rows[0]
    assert row["attr:run_name"] == "still-running"
    assert row["attr:end_time"] is None and row["attr:duration"] >= 0


def test_wide_frame_for_parallel_coordinates(sweep):
    exp, ids = sweep
    frame, total = _data.fetch_wide([exp], "params.opt = 'adam'", ["lr", "opt"], ["acc"], limit=4)
    assert total == 6 and len(frame) == 4
    assert list(frame.columns) == ["run_id", "run_name", "status", "start_time", "param:lr", "param:opt", "metric:acc"]
    assert set(frame["param:opt"]) == {"adam"}
    chosen, _ = _data.fetch_wide(None, None, ["layers"], ["acc"], limit=10, run_ids=[ids[3], ids[1]])
    assert list(chosen["run_id"]) == [ids[3], ids[1]]  # the order given
    best, _ = _data.fetch_wide([exp], None, [], ["acc"], limit=2, order_metric="acc")
    assert list(best["metric:acc"]) == [1.1, 1.0]


def test_cell_formatting():
    assert _data.format_value("metric:acc", 0.123456789) == "0.12346"
    assert _data.format_value("metric:x", 1.5e-7) == "1.5e-07"
    assert _data.format_value("metric:x", float("nan")) == "\u2014"  # a dash, never "nan" or an empty cell
    assert _data.format_duration(850) == "850 ms"
    assert _data.format_duration(83_000) == "1m 23s"
    assert _data.format_duration(3 * 3600_000 + 5 * 60_000) == "3h 05m"
    assert _data.format_value("param:lr", "0.1") == "0.1"
