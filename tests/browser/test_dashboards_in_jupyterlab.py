"""The widget fallback: notebooks/dashboards.ipynb in a real JupyterLab with ``NBTRACK_VIEWS=widgets``.

In JupyterLab nbtrack's views are normally the ``application/vnd.nbtrack.view+json`` output its own
extension draws (tested by tests/browser/test_ext_*.py). Front ends without the extension (VS Code,
Colab, classic Notebook) get the ipywidgets (+ plotly FigureWidget) versions instead
(nbtrack/ui/_mime.py ``use_widgets``); ``NBTRACK_VIEWS=widgets``, set here in the environment the
kernels inherit, forces those in JupyterLab so this file can test them in a real browser: every
view renders, zooming fetches detail, a run logged by another process appears live, the views
link, a filter mistake shows inline, and the saved notebook carries static copies for readers.
Asked for on purpose, the widgets come without the one-line note on how to get the full views.

The tests share one page (module scope) and run in file order: run all cells, check what
rendered, watch a run logged by another process arrive, click table rows, brush an axis,
save. Screenshots go to test-artifacts/browser/ (prefixed ``widgets-``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.ui._mime import FALLBACK_NOTE, MIME
from tests.browser.lab import REPO, Lab, serve_lab

pytestmark = pytest.mark.browser

NOTEBOOK = "dashboards.ipynb"
KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return !!(w && w.context && w.context.path === '%s' && w.sessionContext.session
        && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'); }""".replace(
    "%s", NOTEBOOK)
ALL_DONE = """() => { const prompts = [...document.querySelectorAll('.jp-Cell.jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }"""
DASH = ".nbtrack-dashboard"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: the note the fallback shows above its first view when nobody asked for widgets: not here
NOTE = FALLBACK_NOTE.replace("<code>", "").replace("</code>", "")
NOTE_START = NOTE[:NOTE.index(".")]  # "nbtrack: these views are the widget versions for front ends ..."


def legend(page: Any, scope: str) -> list[str]:
    """Names in the legend of the metric chart under ``scope`` (SVG text: read textContent)."""
    return page.evaluate("""(scope) => [...document.querySelectorAll(
        scope + ' .nbtrack-metric-chart .legendtext')].map(e => e.textContent)""", scope)


def plot_data(page: Any, selector: str) -> Any:
    """The trace data plotly.js holds for the first plot under ``selector``."""
    return page.evaluate("""(sel) => { const gd = document.querySelector(sel + ' .js-plotly-plot');
        return gd && gd.data ? gd.data.map(t => ({name: t.name, type: t.type, showlegend: t.showlegend,
            n: t.x ? t.x.length : 0, visible: t.visible,
            color: t.line && t.line.color && t.line.color.length !== undefined && typeof t.line.color !== 'string'
                   ? Array.from(t.line.color) : null,
            dims: t.dimensions ? t.dimensions.length : 0})) : null; }""", selector)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """This module's own JupyterLab: conftest's, but its kernels get ``NBTRACK_VIEWS=widgets``."""
    yield from serve_lab(tmp_path_factory, "lab-widgets", {NOTEBOOK: REPO / "notebooks" / "dashboards.ipynb"},
                         env_extra={"NBTRACK_VIEWS": "widgets"}, log_as="jupyter-widgets.log")


@pytest.fixture(scope="module")
def shot(shot: Callable[[object, str], Path]) -> Callable[[object, str], Path]:
    """conftest's ``shot``, its files named ``widgets-...``: the extension's tests save their own."""
    return lambda target, name: shot(target, f"widgets-{name}")


@pytest.fixture(scope="module")
def page(lab: Any, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    started = time.monotonic()
    page.goto(lab.page_url(NOTEBOOK))
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_timeout(1500)
    page.wait_for_function(ALL_DONE, timeout=180_000, polling=500)
    # widgets draw after their cell finished: wait for every view's own DOM, not just the cell
    page.wait_for_function("""() => document.querySelectorAll('.js-plotly-plot').length >= 6
        && document.querySelectorAll('.js-plotly-plot .parcoords').length >= 2
        && document.querySelectorAll('.nbtrack-dashboard .nbt-row').length > 0""", timeout=120_000, polling=500)
    page.wait_for_timeout(1500)
    page.run_all_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    yield page
    context.close()


def test_every_view_renders(page: Any, shot: Any) -> None:
    body = page.inner_text("body")
    assert "Loading widget" not in body
    assert "Error displaying widget" not in body
    assert "Traceback (most recent call last)" not in body, body[body.find("Traceback"):][:2000]

    # the fallback: every view is a widget, none the extension's MIME output; asked for on
    # purpose (NBTRACK_VIEWS=widgets), so no note on how to get the full views
    outputs = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .flatMap(cell => cell.model.type === 'code' ? cell.model.outputs.toJSON() : [])
        .map(o => Object.keys(o.data || {}))""")
    views = [keys for keys in outputs if WIDGET_MIME in keys]
    assert len(views) >= 6, outputs  # table, 2 charts, parcoords, compare, dashboard
    assert all("text/html" in keys for keys in views), views  # each with its static copy
    assert not any(MIME in keys for keys in outputs), outputs
    assert NOTE_START not in body and "nbtrack[notebook]" not in body

    # run table: rows, sortable headers, the filter applied in the notebook shown as a chip
    table = page.locator(".nbt-table").first
    assert table.locator(".nbt-row").count() > 10
    assert "acc > 0.5" in table.locator(".nbt-chips").inner_text()
    headers = table.locator("th.nbt-th").all_inner_texts()
    assert any(h.startswith("acc") for h in headers) and any(h.startswith("lr") for h in headers)

    # charts: every metric chart has drawn line traces with points
    charts = page.locator(".nbtrack-metric-chart")
    assert charts.count() >= 3  # long run, best runs, compare (and the dashboard's)
    for i in range(charts.count()):
        assert charts.nth(i).locator(".scatterlayer .trace path.js-line").count() > 0
    long_run = plot_data(page, ".nbtrack-metric-chart")
    drawn = [t for t in long_run if t["showlegend"] is not False and t["n"]]
    assert drawn and all(t["n"] <= 4 * 400 + 2 for t in drawn)  # 200,000 points arrive downsampled

    # parallel coordinates: one axis per param and metric (batch_size, depth, lr, optimizer, acc, loss)
    first = page.locator(".nbtrack-parcoords").first
    titles = first.locator(".axis-title").all_text_contents()
    assert {"batch_size", "depth", "lr (log)", "optimizer", "acc", "loss"} <= set(titles)
    assert set(first.locator(".axis .tick text").all_text_contents()) >= {"adam", "sgd", "rmsprop"}

    # compare: differing params highlighted, a best value starred
    compare = page.locator(".nbtrack-compare")
    assert compare.locator("tr[data-differs='1']").count() >= 1
    assert "★" in compare.inner_text()

    shot(page, "01-after-run-all")
    for name, selector in [("02-run-table", ".nbt-table >> nth=0"), ("03-metric-chart-long", ".nbtrack-metric-chart >> nth=0"),
                           ("04-metric-chart-best", ".nbtrack-metric-chart >> nth=1"),
                           ("05-parallel-coordinates", ".nbtrack-parcoords >> nth=0"), ("06-compare", ".nbtrack-compare")]:
        element = page.locator(selector)
        element.scroll_into_view_if_needed()
        shot(element, name)
    real_errors = [e for e in page.errors if "GL Driver" not in e and "favicon" not in e]
    assert not real_errors, real_errors


def test_zooming_fetches_detail_from_duckdb(page: Any, shot: Any) -> None:
    """Drag a zoom box on the 200,000-point chart: the kernel sends the range in full detail."""
    chart = page.locator(".nbtrack-metric-chart").first
    chart.scroll_into_view_if_needed()
    in_range = """() => { const gd = document.querySelector('.nbtrack-metric-chart .js-plotly-plot');
        const [lo, hi] = gd.layout.xaxis.range; const t = gd.data.find(t => t.name === 'long-200k');
        return {lo, hi, inside: Array.from(t.x).filter(x => x >= lo && x <= hi).length}; }"""
    box = chart.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.43, y + 2, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.46, y + 2, steps=5)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('.nbtrack-metric-chart .js-plotly-plot').layout.xaxis.autorange === false")
    zoomed = page.evaluate(in_range)
    span = zoomed["hi"] - zoomed["lo"]
    assert 0 < span < 25_000, zoomed  # about 6% of 200,000 steps
    # the overview held ~1,600 points for 200,000 steps (a handful in this range); the detail
    # fetched for the range has up to 4 points per bucket of 400: most of its steps
    page.wait_for_function(f"() => {{ const z = ({in_range})(); return z.inside >= Math.min(0.5 * (z.hi - z.lo), 300); }}",
                           timeout=30_000)
    shot(chart, "04b-metric-chart-zoomed")
    chart.locator(".nsewdrag").first.dblclick()  # back to everything
    page.wait_for_function("() => document.querySelector('.nbtrack-metric-chart .js-plotly-plot').layout.xaxis.autorange === true")


def test_run_from_another_process_appears_live(page: Any, shot: Any) -> None:
    """The last cell starts a process that logs for ~15 s: the dashboard picks it up."""
    dash = page.locator(DASH)
    dash.scroll_into_view_if_needed()
    deadline = time.monotonic() + 60
    seen_statuses: set[str] = set()
    lengths: list[int] = []
    while time.monotonic() < deadline:
        row = dash.locator(".nbt-row", has_text="live-from-another-process")
        if row.count():
            seen_statuses.add(row.first.locator(".nbt-status").inner_text())
            traces = plot_data(page, f"{DASH} .nbtrack-metric-chart") or []
            lengths += [t["n"] for t in traces if t["name"] == "live-from-another-process"]
            if "FINISHED" in seen_statuses and lengths and lengths[-1] == 150:
                break
        page.wait_for_timeout(500)
    assert seen_statuses, "the run logged by another process never showed up in the dashboard"
    assert "FINISHED" in seen_statuses
    assert "live-from-another-process" in legend(page, DASH)
    assert lengths and lengths[-1] == 150, lengths  # every point arrived in the chart
    shot(dash, "07-dashboard-live-run")


def test_ticking_table_rows_selects_runs_in_chart_and_parallel_coordinates(page: Any, shot: Any) -> None:
    dash = page.locator(DASH)
    rows = dash.locator(".nbt-row")
    names = [rows.nth(i).locator("td").nth(1).inner_text().split("×")[0].strip() for i in (1, 3)]
    rows.nth(1).click()
    rows.nth(3).click()
    page.wait_for_function("""(names) => { const l = [...document.querySelectorAll(
        '.nbtrack-dashboard .nbtrack-metric-chart .legendtext')].map(e => e.textContent);
        return l.length === 2 && names.every(n => l.includes(n)); }""", arg=names, timeout=30_000)
    assert dash.locator(".nbt-row.nbt-selected").count() == 2
    assert "2 selected" in dash.locator(".nbt-selinfo").inner_text()
    page.wait_for_function("""() => { const gd = document.querySelector('.nbtrack-dashboard .nbtrack-parcoords .js-plotly-plot');
        const c = Array.from(gd.data[0].line.color); return c.filter(v => v > 0).length === 2; }""", timeout=30_000)
    colors = plot_data(page, f"{DASH} .nbtrack-parcoords")[0]["color"]
    assert sum(1 for c in colors if c > 0) == 2 and sum(1 for c in colors if c == 0) >= 40  # the rest greyed
    shot(dash, "08-dashboard-rows-selected")
    dash.locator(".nbt-clear-sel").click()
    page.wait_for_function("() => document.querySelectorAll('.nbtrack-dashboard .nbt-row.nbt-selected').length === 0")
    page.wait_for_function("""() => document.querySelectorAll(
        '.nbtrack-dashboard .nbtrack-metric-chart .legendtext').length === 10""", timeout=30_000)


def test_brushing_an_axis_selects_runs_in_table_and_chart(page: Any, shot: Any) -> None:
    dash = page.locator(DASH)
    parcoords = dash.locator(".nbtrack-parcoords")
    parcoords.scroll_into_view_if_needed()
    titles = parcoords.locator(".axis-title").all_text_contents()
    brushes = parcoords.locator(".axis-brush rect.background")
    box = brushes.nth(titles.index("acc")).bounding_box()
    assert box is not None
    x, top, height = box["x"] + box["width"] / 2, box["y"], box["height"]
    # drag over the top third of the acc axis: the best runs
    page.mouse.move(x, top + 3)
    page.mouse.down()
    page.mouse.move(x, top + height * 0.2, steps=6)
    page.mouse.move(x, top + height * 0.33, steps=6)
    page.mouse.up()
    page.wait_for_function("() => document.querySelectorAll('.nbtrack-dashboard .nbt-row.nbt-selected').length > 0",
                           timeout=30_000)
    selected = dash.locator(".nbt-row.nbt-selected")
    selected_names = {selected.nth(i).locator("td").nth(1).inner_text().split("×")[0].strip()
                      for i in range(selected.count())}
    total = dash.locator(".nbt-row").count()
    assert 0 < len(selected_names) < total
    page.wait_for_function("""(names) => { const l = [...document.querySelectorAll(
        '.nbtrack-dashboard .nbtrack-metric-chart .legendtext')].map(e => e.textContent);
        return l.length > 0 && l.every(n => names.includes(n)); }""", arg=sorted(selected_names), timeout=30_000)
    # the runs marked are exactly those whose acc lies in the brushed range plotly reports
    lo, hi = page.evaluate("""() => document.querySelector('.nbtrack-dashboard .nbtrack-parcoords .js-plotly-plot')
        .data[0].dimensions.find(d => d.label === 'acc').constraintrange""")
    acc_col = dash.locator("th.nbt-th").all_inner_texts().index("acc") + 1

    def acc_of(rows: Any) -> list[float]:
        texts = [rows.nth(i).locator("td").nth(acc_col).inner_text() for i in range(rows.count())]
        return [float(t) for t in texts if t and t != "\u2014"]  # a run without acc shows \u2014

    tolerance = 1e-4  # the table shows 5 significant digits
    assert all(lo - tolerance <= v <= hi + tolerance for v in acc_of(selected))
    assert all(v < lo + tolerance or v > hi - tolerance for v in acc_of(dash.locator(".nbt-row:not(.nbt-selected)")))
    shot(dash, "09-dashboard-brushed")


def test_filter_error_is_shown_inline(page: Any, shot: Any) -> None:
    table = page.locator(".nbt-table").first
    table.scroll_into_view_if_needed()
    box = table.locator(".nbt-filter")
    box.fill("metrics.acc >")
    box.press("Enter")
    error = table.locator(".nbt-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "column 14" in error.inner_text()
    shot(table, "10-filter-error")
    box.fill("metrics.acc > 0.9 AND params.optimizer = 'adam'")
    box.press("Enter")
    page.wait_for_function("""() => { const t = document.querySelector('.nbt-table');
        return t.querySelector('.nbt-error').hidden && t.querySelectorAll('.nbt-chip').length === 2; }""")
    assert all("adam" in r for r in table.locator(".nbt-row").all_inner_texts())


def test_saved_notebook_is_small_and_carries_static_copies(page: Any, lab: Any) -> None:
    """What the fallback saves: per view a widget reference plus its static HTML/SVG copy.

    (The 1 MB bound for the extension's data views is tests/test_notebook_saved_size.py's.) The
    widgets' state is not saved (JupyterLab's default), so neither is plotly's 5 MB widget
    bundle (the ``_esm`` trait): this notebook saves about 300 KB, nearly all static copies.
    """
    import json

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = lab.root / NOTEBOOK
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "nbtrack dashboard" not in path.read_text():
        time.sleep(0.5)
    text = path.read_text()
    size = path.stat().st_size
    assert size < 1_000_000, size  # one copy of plotly's bundle alone would be ~5 MB
    assert "_esm" not in text and "widget-state" not in text  # no widget state, no JavaScript bundle
    assert "nbtrack dashboard" in text and "data:image/svg+xml" in text  # static copies for readers
    views = [o["data"] for c in json.loads(text)["cells"] if c["cell_type"] == "code"
             for o in c.get("outputs", []) if WIDGET_MIME in o.get("data", {})]
    assert len(views) >= 6, len(views)  # table, 2 charts, parcoords, compare, dashboard
    html = ["".join(v.get("text/html", "")) for v in views]  # nbformat may split a string into lines
    assert all(len(h) > 1000 for h in html), [len(h) for h in html]
    static = sum(len(h.encode()) for h in html)
    assert static > 0.6 * size, (static, size)  # what it saves is mostly what a reader sees
    assert MIME not in text and NOTE_START not in text  # no extension output, no note about it


def test_opened_elsewhere_the_saved_notebook_shows_the_static_copies(page: Any, lab: Any, shot: Any) -> None:
    """The saved notebook opened where its widgets cannot come back (a copy someone else opens:
    not trusted here, no kernel of its own): every output shows its HTML/SVG copy."""
    import json

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1500)
    saved = json.loads((lab.root / NOTEBOOK).read_text())
    saved["metadata"]["copied"] = True  # different bytes: JupyterLab's trust signature does not match
    (lab.root / "copy.ipynb").write_text(json.dumps(saved))
    reader = page.context.new_page()
    reader.route("**/api/sessions**", lambda route: route.abort() if route.request.method == "POST"
                 else route.continue_())
    try:
        reader.goto(lab.page_url("copy.ipynb"))
        # every chart and parallel-coordinates copy is an SVG image, loaded and drawn
        reader.wait_for_function("""() => { const imgs = [...document.querySelectorAll(
                '.jp-OutputArea-output img[src^="data:image/svg+xml"]')];
            return imgs.length >= 6 && imgs.every(i => i.complete && i.naturalWidth > 0)
                && document.querySelectorAll('.jp-OutputArea-output table').length >= 3; }""", timeout=90_000)
        dismiss = reader.locator(".jp-Dialog .jp-mod-accept")  # "Error Starting Kernel": no kernel here
        if dismiss.count():
            dismiss.first.click()
            reader.locator(".jp-Dialog").wait_for(state="detached")
        body = reader.inner_text("body")
        assert "nbtrack dashboard" in body and "static copy" in body
        assert "Loading widget" not in body and "model not found" not in body
        copy = reader.locator(".jp-OutputArea-output", has_text="nbtrack dashboard").last
        copy.scroll_into_view_if_needed()
        shot(copy, "11-static-copy-opened-elsewhere")
    finally:
        reader.close()
