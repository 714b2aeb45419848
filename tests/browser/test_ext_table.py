"""The extension's runs table, parallel coordinates and dashboard in a real JupyterLab.

A notebook written here logs a 66-run sweep like issue 13's: 34 random-forest runs without
``learning_rate``, 32 logistic-regression runs without ``max_depth``, a few nested runs (a
grandchild too), many params (the table scrolls sideways) and long names (parcoords titles).
It shows ``runs_table`` and ``parallel_coordinates`` sharing a selection, and a ``dashboard``.
The tests share one page and run in file order; screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import serve_lab, wait_for_kernel_idle

pytestmark = pytest.mark.browser

NOTEBOOK = "sweep.ipynb"
LONG_PARAMS = ["preprocessing_feature_selection_threshold", "regularization_strength_l2_penalty"]
SETUP = f"""
import os, random
import nbtrack
from nbtrack.ui._selection import Selection

nbtrack.set_tracking_uri(os.path.abspath(".nbtrack"))
nbtrack.set_experiment("sweep66")
random.seed(13)
LONG = {LONG_PARAMS!r}


def log(i, model):
    params = {{"model": model, **{{f"feature_{{k}}": k * i % 7 for k in range(12)}}}}
    params[LONG[0]] = round(0.1 * (i % 5), 2)
    params[LONG[1]] = 10.0 ** -(i % 4)
    if model == "rf":
        params["max_depth"] = 2 + i % 6
    else:
        params["learning_rate"] = [0.001, 0.01, 0.1, 1.0][i % 4]
    nbtrack.log_params(params)
    for step in range(12):
        nbtrack.log_metric("val_loss", 1.5 / (1 + step * (1 + i % 5) / 4) + 0.01 * i, step=step)
    nbtrack.log_metric("validation_accuracy_after_early_stopping", 0.6 + (i % 9) / 30)


if nbtrack.search_runs(max_results=1).empty:
    with nbtrack.start_run(run_name="rf-cv"):          # a parent with three children, one of them
        log(0, "rf")                                     # a parent too (a grandchild)
        for i in (1, 2, 3):
            with nbtrack.start_run(run_name=f"rf-fold-{{i}}", nested=True):
                log(i, "rf")
                if i == 1:
                    with nbtrack.start_run(run_name="rf-fold-1-repeat", nested=True):
                        log(4, "rf")
    for i in range(5, 34):
        with nbtrack.start_run(run_name=f"rf-{{i}}"):
            log(i, "rf")
    for i in range(34, 66):
        with nbtrack.start_run(run_name=f"logreg-{{i}}"):
            log(i, "logreg")
    nbtrack.flush()
selection = Selection()
"""
CELLS = [
    SETUP,
    "nbtrack.runs_table(selection=selection, page_size=100)",
    "nbtrack.parallel_coordinates(params=['model', 'learning_rate', 'max_depth', *LONG],\n"
    "    metrics=['val_loss', 'validation_accuracy_after_early_stopping'], color='val_loss', selection=selection)",
    "nbtrack.dashboard(refresh=0)",
]
TABLE = ".jp-OutputArea-output .nbt-table >> nth=0"
PARCOORDS = ".jp-OutputArea-output .nbt-parcoords >> nth=0"
# the first parallel coordinates' test hook (parcoords.ts ParcoordsHook): its axes, brushes, lines
PC = "document.querySelectorAll('.nbt-parcoords')[0].nbtParcoords"
PC_DRAWN = "[...document.querySelectorAll('.nbt-parcoords')].filter(p => p.nbtParcoords?.lines() > 0).length"


def notebook() -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": src} for i, src in enumerate(CELLS)]
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                    "language": "python"}},
                       "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from serve_lab(tmp_path_factory, "extlab", {NOTEBOOK: notebook()})


@pytest.fixture(scope="module")
def page(lab: Any, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url', '')}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(lab.page_url(NOTEBOOK))
    wait_for_kernel_idle(page, NOTEBOOK, timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function("""() => document.querySelectorAll('.nbt-table').length >= 2
        && document.querySelectorAll('.nbt-table')[0].querySelectorAll('.nbt-row').length >= 66
        && """ + PC_DRAWN + """ >= 2
        && document.querySelectorAll('.nbt-dashboard .nbt-dash-chart-view .js-plotly-plot').length >= 1""",
                           timeout=180_000, polling=500)
    page.wait_for_timeout(800)
    yield page
    context.close()


def shut_down_kernels(lab: Any) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{lab.url}/api/kernels?token={lab.token}", timeout=10) as r:
        kernels = json.load(r)
    for kernel in kernels:
        request = urllib.request.Request(f"{lab.url}/api/kernels/{kernel['id']}?token={lab.token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def real_errors(page: Any) -> list[str]:
    """Console errors, but for the store's 400 answer to the bad filter the filter test types (the
    browser logs every 4xx response; the table shows that answer in place)."""
    return [e for e in page.errors if "GL Driver" not in e and "favicon" not in e and "WebGL" not in e
            and not ("status of 400" in e and "views/runs-page" in e)]


def test_run_column_stays_pinned_when_the_table_scrolls_sideways(page: Any, shot: Any) -> None:
    table = page.locator(TABLE)
    table.scroll_into_view_if_needed()
    scroller = table.locator(".nbt-table-scroll")
    widths = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] > widths[1] + 200, widths  # 17 params: wider than the output
    cell = table.locator(".nbt-row").first.locator("td.nbt-run")
    before = cell.bounding_box()
    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    page.wait_for_timeout(200)
    after = cell.bounding_box()
    frame = scroller.bounding_box()
    assert scroller.evaluate("e => e.scrollLeft") > 200
    assert before and after and frame
    assert abs(after["x"] - before["x"]) <= 3  # did not move with the scroll (the 2 px of the table inset)
    assert frame["x"] <= after["x"] and after["x"] + after["width"] <= frame["x"] + frame["width"]
    # and it is what a person sees at that point: the run cell, not a column scrolled under it
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('td').className",
                        [after["x"] + after["width"] / 2, after["y"] + after["height"] / 2])
    assert "nbt-run" in hit
    shot(table, "ext-table-scrolled-right")
    scroller.evaluate("e => { e.scrollLeft = 0; }")


def test_nested_runs_sit_under_their_parent_and_collapse(page: Any, shot: Any) -> None:
    table = page.locator(TABLE)
    rows = table.locator(".nbt-row")
    order = rows.evaluate_all("rs => rs.map(r => [r.querySelector('.nbt-run-name').textContent, r.dataset.depth])")
    names = [n for n, _ in order]
    parent = names.index("rf-cv")
    assert dict(order)["rf-cv"] == "0" and dict(order)["rf-fold-1"] == "1" and dict(order)["rf-fold-1-repeat"] == "2"
    assert set(names[parent + 1: parent + 5]) == {"rf-fold-1", "rf-fold-2", "rf-fold-3", "rf-fold-1-repeat"}
    assert names.index("rf-fold-1-repeat") == names.index("rf-fold-1") + 1
    twisty = rows.nth(parent).locator(".nbt-twisty")
    twisty.click()
    assert rows.count() == 62  # 4 nested runs hidden
    assert "+4" in rows.nth(parent).inner_text()
    shot(table, "ext-table-collapsed")
    rows.nth(parent).locator(".nbt-twisty").click()
    assert rows.count() == 66


def test_missing_values_show_a_dash(page: Any) -> None:
    table = page.locator(TABLE)
    headers = table.locator("th.nbt-th").all_inner_texts()
    lr, depth = headers.index("learning_rate") + 1, headers.index("max_depth") + 1  # +1: the tick column
    rf = table.locator(".nbt-row", has_text="rf-7").first
    logreg = table.locator(".nbt-row", has_text="logreg-40").first
    assert rf.locator("td").nth(lr).inner_text() == "\u2014"
    assert logreg.locator("td").nth(depth).inner_text() == "\u2014"
    assert logreg.locator("td").nth(lr).inner_text() == "0.001"
    assert "nan" not in table.inner_text().lower().split()


def test_a_bad_filter_shows_its_error_and_the_rows_stay(page: Any, shot: Any) -> None:
    table = page.locator(TABLE)
    box = table.locator(".nbt-filter-input")
    box.fill("metrics.val_loss >")
    box.press("Enter")
    error = table.locator(".nbt-filter-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "^" in error.inner_text()
    assert table.locator(".nbt-row").count() == 66
    shot(table, "ext-table-filter-error")
    box.fill("params.model = 'logreg' AND metrics.val_loss < 10")
    box.press("Enter")
    page.wait_for_function("""() => { const t = document.querySelectorAll('.nbt-table')[0];
        return t.querySelector('.nbt-filter-error').hidden && t.querySelectorAll('.nbt-row').length === 32; }""")
    box.fill("")
    box.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.nbt-table')[0].querySelectorAll('.nbt-row').length === 66")


def test_parallel_coordinates_draw_every_run(page: Any, shot: Any) -> None:
    dims = page.evaluate(f"""() => {PC}.dims.map(d => ({{n: d.values.length,
        finite: Array.from(d.values).every(v => Number.isFinite(v)), ticks: Array.from(d.ticktext || [])}}))""")
    assert len(dims) == 7
    assert all(d["n"] == 66 and d["finite"] for d in dims), dims
    assert "\u2014" in dims[1]["ticks"] and "\u2014" in dims[2]["ticks"]  # learning_rate, max_depth
    assert page.evaluate(f"() => {PC}.lines()") == 66
    parcoords = page.locator(PARCOORDS)
    assert "66 runs" in parcoords.locator(".nbt-parcoords-count").inner_text()
    assert parcoords.locator(".nbt-pc-axis").count() == 7
    assert "\u2014" in parcoords.locator(".nbt-pc-axis[data-axis='1']").text_content()
    assert "lower is better" in parcoords.locator(".nbt-pc-colorbar").text_content()  # colour="val_loss"


def test_axis_titles_never_overlap_and_are_not_cut(page: Any, shot: Any) -> None:
    parcoords = page.locator(PARCOORDS)
    parcoords.scroll_into_view_if_needed()
    boxes = parcoords.locator(".nbt-pc-title").evaluate_all("""ts => ts.map(t => { const r = t.getBoundingClientRect();
        return {l: r.left, r: r.right, t: r.top, b: r.bottom, full: t.scrollWidth <= t.clientWidth + 1,
                tip: t.title}; })""")
    frame = parcoords.bounding_box()
    assert len(boxes) == 7 and frame
    for a, b in itertools.pairwise(boxes):
        assert a["r"] <= b["l"], (a, b)
    assert all(b["l"] >= frame["x"] - 1 and b["r"] <= frame["x"] + frame["width"] + 1 for b in boxes)
    assert all(b["full"] for b in boxes)  # each line fits its box: nothing clipped
    assert LONG_PARAMS[0] in boxes[3]["tip"]  # the full name on hover
    shot(parcoords, "ext-parcoords")


def drag(page: Any, start: dict[str, float], end: dict[str, float]) -> None:
    """A person's drag: press at start, move to end in steps, release."""
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(end["x"], end["y"], steps=8)
    page.mouse.up()


def test_brushing_counts_runs_and_selects_them_in_the_linked_table(page: Any, shot: Any) -> None:
    page.locator(PARCOORDS).scroll_into_view_if_needed()
    lo, hi = page.evaluate(f"() => {{ const v = {PC}.dims[5].values; return [Math.min(...v), Math.max(...v)]; }}")
    start = page.evaluate(f"() => {PC}.pixel(5, {lo})")  # val_loss: from its lowest run up 30%
    end = page.evaluate(f"() => {PC}.pixel(5, {lo + (hi - lo) * 0.3})")
    started = time.monotonic()
    drag(page, start, end)
    page.wait_for_function("""() => /\\d+ of 66 runs in the brushed ranges/.test(
        document.querySelectorAll('.nbt-parcoords-count')[0].textContent)""", timeout=10_000)
    text = page.locator(PARCOORDS).locator(".nbt-parcoords-count").inner_text()
    brushed = int(text.split(" of ")[0])
    page.wait_for_function(f"""() => document.querySelectorAll('.nbt-table')[0]
        .querySelectorAll('.nbt-row.nbt-selected').length === {brushed}""", timeout=10_000)
    elapsed = time.monotonic() - started
    assert 0 < brushed < 66 and elapsed < 5
    expected = page.evaluate(f"""() => {{ const pc = {PC}; const [lo, hi] = pc.ranges()[5];
        return pc.dims[5].values.filter(v => v >= lo && v <= hi).length; }}""")
    assert brushed == expected == len(page.evaluate(f"() => {PC}.brushed()"))
    assert page.locator(PARCOORDS).locator(".nbt-pc-axis[data-axis='5'] .nbt-pc-brush").get_attribute("visibility") == "visible"
    shot(page.locator(PARCOORDS), "ext-parcoords-brushed")
    outside = page.evaluate(f"() => {PC}.pixel(5, {hi})")  # a click on the axis outside the range clears it
    page.mouse.click(outside["x"], outside["y"])
    page.wait_for_function("""() => document.querySelectorAll('.nbt-table')[0]
        .querySelectorAll('.nbt-row.nbt-selected').length === 0""", timeout=10_000)
    assert "66 runs" in page.locator(PARCOORDS).locator(".nbt-parcoords-count").inner_text()
    assert page.evaluate(f"() => {PC}.brushed()") is None


def test_hovering_a_line_shows_its_run(page: Any) -> None:
    page.locator(PARCOORDS).scroll_into_view_if_needed()
    a, b = page.evaluate(f"() => [0, 1].map(j => {PC}.pixel(j, {PC}.dims[j].values[40]))")
    page.mouse.move((a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2)
    tip = page.locator(PARCOORDS).locator(".nbt-pc-tip")
    tip.wait_for(state="visible", timeout=5_000)
    assert "rf" in tip.inner_text() or "logreg" in tip.inner_text()
    assert "val_loss" in tip.inner_text()
    page.mouse.move(1, 1)


def test_dashboard_chart_has_visible_traces_and_fills_the_width(page: Any, shot: Any) -> None:
    dash = page.locator(".nbt-dashboard").first
    dash.scroll_into_view_if_needed()
    traces = page.evaluate("""() => { const gd = document.querySelector('.nbt-dashboard .nbt-dash-chart-view .js-plotly-plot');
        return gd.data.filter(t => t.visible !== false && t.x && t.x.length > 1).length; }""")
    assert traces >= 2
    assert dash.locator(".nbt-dash-metric").input_value() == "val_loss"  # a metric with a history
    output = dash.evaluate("e => e.closest('.jp-OutputArea-output').getBoundingClientRect().width")
    for part in (".nbt-table", ".nbt-dash-chart-view", ".nbt-parcoords"):
        width = dash.locator(part).first.evaluate("e => e.getBoundingClientRect().width")
        assert width >= 0.9 * output, (part, width, output)
    shot(dash, "ext-dashboard")
    body = page.inner_text("body")
    assert "Error displaying widget" not in body and "could not be drawn" not in body
    assert not real_errors(page), real_errors(page)


def test_reopened_with_a_new_kernel_the_views_draw_from_saved_data(page: Any, lab: Any, browser: Any,
                                                                   shot: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = Path(lab.root) / NOTEBOOK
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "application/vnd.nbtrack.view+json" not in path.read_text():
        time.sleep(0.5)
    assert path.stat().st_size < 1_000_000
    shut_down_kernels(lab)  # the notebook reopens with a new kernel that runs nothing
    context = browser.new_context(viewport={"width": 1200, "height": 1600})
    reader = context.new_page()
    errors: list[str] = []
    reader.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        reader.goto(lab.page_url(NOTEBOOK))
        wait_for_kernel_idle(reader, NOTEBOOK, timeout=120_000)  # a new kernel: nothing re-run
        drawn = """() => [document.querySelectorAll('.nbt-table').length,
            document.querySelectorAll('.nbt-table')[0]?.querySelectorAll('.nbt-row').length ?? 0,
            """ + PC_DRAWN + """]"""
        try:
            reader.wait_for_function(f"() => {{ const [t, r, p] = ({drawn})(); return t >= 2 && r >= 66 && p >= 2; }}",
                                     timeout=60_000)
        except Exception:
            shot(reader, "ext-reopened-failed")
            raise AssertionError(f"tables, rows, plots: {reader.evaluate(drawn)}; console: {errors}") from None
        body = reader.inner_text("body")
        assert "Error displaying widget" not in body and "could not be drawn" not in body
        shot(reader, "ext-reopened")
        assert not [e for e in errors if "GL Driver" not in e and "favicon" not in e], errors
    finally:
        context.close()
