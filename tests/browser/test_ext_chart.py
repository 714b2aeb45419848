"""metric_chart and compare drawn by nbtrack's JupyterLab extension, in a real JupyterLab.

The test writes a notebook that logs runs (one with 6 metric keys and a single-point metric),
shows a metric chart of 7 panels, a compare of the runs and a chart of a RUNNING run, runs it
once, and then checks what a person sees: panels, markers, widths before and after a window
resize, the legend, the unified hover, and points logged by another process arriving while the
chart is shown. The tests share one page (module scope) and run in file order; screenshots go
to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from procenv import python_env

from tests.browser.lab import new_page

pytestmark = pytest.mark.browser

NOTEBOOK = "charts.ipynb"
RUNS = ["six-keys", "a-second-run-with-a-much-longer-name", "third"]
KEYS = [f"k{j}" for j in range(6)]
CELLS = [
    textwrap.dedent(f"""
        import nbtrack
        nbtrack.set_experiment("charts")
        ids = []
        for i, name in enumerate({RUNS!r}):
            with nbtrack.start_run(run_name=name) as run:
                nbtrack.log_params({{"lr": 10.0 ** -(i + 1), "seed": 7}})
                for step in range(30):
                    nbtrack.log_metrics({{f"k{{j}}": (j + 1) / (1 + step * (i + 1)) for j in range(6)}}, step=step)
                nbtrack.log_metric("single", 0.9 - i / 10)
            ids.append(run.info.run_id)
        nbtrack.flush()
    """),
    f"nbtrack.metric_chart(ids, {KEYS!r} + ['single'])",
    "nbtrack.compare(ids)",
    textwrap.dedent("""
        live = nbtrack.start_run(run_name="live")
        for step in range(5):
            nbtrack.log_metric("loss", 1 / (1 + step), step=step)
        nbtrack.flush()
        open("live_run_id.txt", "w").write(live.info.run_id)
        nbtrack.metric_chart(live.info.run_id, "loss")
    """),
    textwrap.dedent("""
        import math
        from nbtrack.entities import Metric
        client = nbtrack.MlflowClient()  # the live run above is still the active one
        wave = client.create_run(nbtrack.get_experiment_by_name("charts").experiment_id, run_name="wave")
        t0 = wave.info.start_time
        client.log_batch(wave.info.run_id, metrics=[Metric("wave", math.sin(s / 50), t0 + s, s) for s in range(20_000)])
        client.set_terminated(wave.info.run_id)
        client.store.flush()
        nbtrack.metric_chart(wave.info.run_id, "wave", buckets=100)
    """),
]
KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return !!(w && w.context && w.context.path === '%s' && w.sessionContext.session
        && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'); }""".replace(
    "%s", NOTEBOOK)
ALL_DONE = """() => { const prompts = [...document.querySelectorAll('.jp-Cell.jp-CodeCell .jp-InputArea-prompt')];
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }"""


def cell(i: int) -> str:
    return f".jp-Notebook .jp-Cell.jp-CodeCell >> nth={i}"


def notebook() -> dict[str, Any]:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                       "source": src.strip()} for i, src in enumerate(CELLS)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def traces(page: Any, cell_index: int, key: str) -> list[dict[str, Any]]:
    """The line traces plotly.js holds for panel ``key`` of the chart in cell ``cell_index``."""
    return page.evaluate("""([i, key]) => {
        const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[i];
        const gd = c.querySelector(`.nbt-chart-panel[data-key="${key}"] .js-plotly-plot`);
        return gd.data.filter(t => t.meta && t.meta[1] === 'line').map(t => ({name: t.name, mode: t.mode,
            n: t.x.length, visible: t.visible, hovertemplate: t.hovertemplate, x: Array.from(t.x)})); }""",
                         [cell_index, key])


def widths(page: Any, cell_index: int) -> dict[str, float]:
    return page.evaluate("""(i) => {
        const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[i];
        const out = c.querySelector('.jp-OutputArea-output');
        const svg = c.querySelector('.nbt-chart-panel .main-svg');
        return {output: out.getBoundingClientRect().width, chart: c.querySelector('.nbt-chart').getBoundingClientRect().width,
                grid: c.querySelector('.nbt-chart-grid').getBoundingClientRect().width,
                plot: svg.getBoundingClientRect().width, columns: getComputedStyle(c.querySelector('.nbt-chart-grid'))
                    .gridTemplateColumns.split(' ').length}; }""", cell_index)


@pytest.fixture(scope="module")
def page(lab: Any, browser: Any) -> Iterator[Any]:
    (lab.root / NOTEBOOK).write_text(json.dumps(notebook()))
    context, page = new_page(browser, 1400, 1600, 60_000)
    page.goto(lab.page_url(NOTEBOOK))
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_timeout(1000)
    page.wait_for_function(ALL_DONE, timeout=180_000, polling=500)
    try:
        page.wait_for_function("""() => document.querySelectorAll('.nbt-chart-panel .js-plotly-plot .main-svg').length
            >= 7 + 7 + 1 && document.querySelectorAll('.nbt-compare-table').length === 1""", timeout=120_000, polling=500)
    except Exception:
        page.screenshot(path=str(lab.root / "failed.png"))
        outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
        raise AssertionError(f"the views did not draw: errors {page.errors}, outputs {outputs}") from None
    page.wait_for_timeout(500)
    yield page
    context.close()


def test_metric_chart_has_a_panel_per_key_and_markers_for_a_single_point(page: Any, shot: Any) -> None:
    body = page.inner_text("body")
    assert "Traceback (most recent call last)" not in body, body[body.find("Traceback"):][:2000]
    assert "Error displaying widget" not in body and "could not be drawn" not in body
    chart = page.locator(cell(1)).locator(".nbt-chart")
    assert chart.locator(".nbt-chart-panel").count() == 7
    assert chart.locator(".js-plotly-plot").count() == 7
    assert chart.locator(".nbt-chart-title").all_inner_texts() == [*KEYS, "single"]
    for key in KEYS:
        lines = traces(page, 1, key)
        assert [t["name"] for t in lines] == RUNS and all(t["mode"] == "lines" and t["n"] == 30 for t in lines)
    single = traces(page, 1, "single")
    assert [t["mode"] for t in single] == ["markers"] * 3 and [t["n"] for t in single] == [1, 1, 1]
    # the markers are drawn: one point path per run in the panel's SVG
    assert chart.locator('.nbt-chart-panel[data-key="single"] .scatterlayer .point').count() == 3
    chart.scroll_into_view_if_needed()
    shot(chart, "ext-chart-01-seven-panels")


def test_legend_shows_every_run_in_full(page: Any) -> None:
    legend = page.locator(cell(1)).locator(".nbt-chart-legend")
    assert legend.locator(".nbt-chart-legend-item").all_inner_texts() == RUNS
    boxes = page.evaluate("""(i) => {
        const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[i];
        const out = c.querySelector('.jp-OutputArea-output').getBoundingClientRect();
        return [...c.querySelectorAll('.nbt-chart-legend-item')].map(e => { const r = e.getBoundingClientRect();
            return {w: r.width, left: r.left, right: r.right, full: e.scrollWidth <= e.clientWidth + 1,
                    outLeft: out.left, outRight: out.right}; }); }""", 1)
    for b in boxes:
        assert b["w"] > 20 and b["full"], b
        assert b["left"] >= b["outLeft"] - 1 and b["right"] <= b["outRight"] + 1, b  # nothing cut at the edge


def test_unified_hover_names_every_run(page: Any, shot: Any) -> None:
    panel = page.locator(cell(1)).locator('.nbt-chart-panel[data-key="k0"]')
    panel.scroll_into_view_if_needed()
    box = panel.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function("""() => { const h = document.querySelector('.nbt-chart-panel[data-key="k0"] .hoverlayer');
        return h && h.textContent.includes('third'); }""", timeout=10_000)
    text = panel.locator(".hoverlayer").text_content()
    assert all(name in text for name in RUNS), text
    assert "step" in text
    assert all(t["hovertemplate"].startswith(f"<b>{t['name']}</b>") for t in traces(page, 1, "k0"))
    shot(panel, "ext-chart-02-hover")
    page.mouse.move(5, 5)


def test_compare_table_and_its_charts(page: Any, shot: Any) -> None:
    view = page.locator(cell(2)).locator(".nbt-compare")
    heads = view.locator("thead th.nbt-compare-run").all_inner_texts()
    assert [h.split("\n")[0] for h in heads] == RUNS
    lr = view.locator('tr[data-key="lr"]')
    assert "nbt-differs" in (lr.get_attribute("class") or "")
    assert "nbt-differs" not in (view.locator('tr[data-key="seed"]').get_attribute("class") or "")
    assert view.locator("td.nbt-best").count() == 7  # k0..k5 and single
    assert "nan" not in view.locator(".nbt-compare-table").inner_text().lower()
    # every metric gets a panel: 6 keys and single
    assert view.locator(".nbt-chart-panel").count() == 7
    view.scroll_into_view_if_needed()
    shot(view, "ext-chart-03-compare")


def test_chart_fills_the_output_and_follows_a_resize(page: Any, shot: Any) -> None:
    before = widths(page, 3)
    assert before["chart"] >= 0.9 * before["output"] and before["plot"] >= 0.9 * before["output"], before
    many = widths(page, 1)
    assert many["grid"] >= 0.9 * many["output"] and many["columns"] >= 2, many
    page.set_viewport_size({"width": 900, "height": 1600})
    page.wait_for_function("""(w) => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[3];
        return c.querySelector('.nbt-chart-panel .main-svg').getBoundingClientRect().width < w - 200; }""",
                           arg=before["plot"], timeout=15_000)
    page.wait_for_timeout(500)
    after = widths(page, 3)
    assert after["output"] < before["output"] - 200
    assert after["plot"] >= 0.9 * after["output"] and after["plot"] <= after["output"] + 1, after
    page.locator(cell(3)).scroll_into_view_if_needed()
    shot(page.locator(cell(3)), "ext-chart-04-narrow")
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.wait_for_function("""(w) => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[3];
        return c.querySelector('.nbt-chart-panel .main-svg').getBoundingClientRect().width > w * 0.95; }""",
                           arg=before["plot"], timeout=15_000)


def test_live_chart_gains_points_logged_by_another_process(page: Any, lab: Any, shot: Any) -> None:
    assert [t["n"] for t in traces(page, 3, "loss")] == [5]
    status = page.locator(cell(3)).locator(".nbt-chart-status")
    page.wait_for_function("""() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[3];
        return c.querySelector('.nbt-chart-status').textContent.includes('live'); }""", timeout=15_000)
    run_id = (lab.root / "live_run_id.txt").read_text().strip()
    writer = textwrap.dedent(f"""
        import time, nbtrack
        client = nbtrack.MlflowClient({str(lab.root / '.nbtrack')!r})
        for step in range(5, 40):
            client.log_metric({run_id!r}, "loss", 1 / (1 + step), step=step)
            if step % 5 == 0:
                client.store.flush()
                time.sleep(0.3)
        client.store.flush()
    """)
    env = {k: v for k, v in python_env().items() if not k.startswith(("NBTRACK_", "MLFLOW_"))}
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", writer], cwd=lab.root, env=env, check=True, timeout=120)
    page.wait_for_function("""() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[3];
        const gd = c.querySelector('.nbt-chart-panel .js-plotly-plot');
        const line = gd.data.find(t => t.meta && t.meta[1] === 'line'); return line && line.x.length >= 40; }""",
                           timeout=30_000, polling=200)
    seconds = time.monotonic() - started
    (line,) = traces(page, 3, "loss")
    assert line["x"] == list(range(40)) and line["mode"] == "lines"
    ys = page.evaluate("""() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[3];
        const gd = c.querySelector('.nbt-chart-panel .js-plotly-plot');
        return Array.from(gd.data.find(t => t.meta && t.meta[1] === 'line').y); }""")
    assert ys == pytest.approx([1 / (1 + s) for s in range(40)])
    assert "live" in status.inner_text()
    print(f"40 points drawn {seconds:.1f} s after the writer started")
    page.locator(cell(3)).scroll_into_view_if_needed()
    shot(page.locator(cell(3)), "ext-chart-05-live")


def test_zoom_fetches_the_detail_of_the_visible_range(page: Any, shot: Any) -> None:
    panel = page.locator(cell(4)).locator(".nbt-chart-panel")
    panel.scroll_into_view_if_needed()
    (overview,) = traces(page, 4, "wave")
    assert overview["n"] <= 4 * 100 + 2  # 20,000 points arrive downsampled
    in_range = """() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[4];
        const gd = c.querySelector('.nbt-chart-panel .js-plotly-plot'); const [lo, hi] = gd.layout.xaxis.range;
        const t = gd.data.find(t => t.meta && t.meta[1] === 'line');
        return {lo, hi, auto: gd.layout.xaxis.autorange, inside: Array.from(t.x).filter(x => x >= lo && x <= hi).length}; }"""
    box = panel.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.43, y + 2, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.46, y + 2, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => ({in_range})().auto === false")
    zoomed = page.evaluate(in_range)
    assert 0 < zoomed["hi"] - zoomed["lo"] < 2_500, zoomed  # about 6% of 20,000 steps
    # the overview had about 2 points per 200 steps (a dozen in that range); the detail fetched for
    # the range has up to 4 per bucket of 100 (2 for a smooth sine: first and last of each bucket)
    assert overview["n"] * (zoomed["hi"] - zoomed["lo"]) / 20_000 < 20
    try:
        page.wait_for_function(f"() => ({in_range})().inside >= 150", timeout=30_000)
    except Exception:
        raise AssertionError(f"no detail: {page.evaluate(in_range)}, {page.locator(cell(4)).inner_text()}") from None
    assert "points (drawn" in page.locator(cell(4)).locator(".nbt-chart-status").inner_text()
    shot(panel, "ext-chart-06-zoomed")
    panel.locator(".nsewdrag").first.dblclick()  # back to everything, downsampled again
    page.wait_for_function(f"() => ({in_range})().auto === true")
    page.wait_for_function("""() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[4];
        const t = c.querySelector('.nbt-chart-panel .js-plotly-plot').data.find(t => t.meta && t.meta[1] === 'line');
        return t.x.length <= 402 && t.x[0] === 0 && t.x[t.x.length - 1] === 19999; }""", timeout=30_000)


def test_x_axis_switches_to_time_since_the_run_started(page: Any) -> None:
    chart = page.locator(cell(1)).locator(".nbt-chart")
    chart.locator('.nbt-chart-xbutton[data-axis="relative"]').click()
    page.wait_for_function("""() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[1];
        const gd = c.querySelector('.nbt-chart-panel .js-plotly-plot');
        return gd.layout.xaxis.title.text === 'time since run start (s)'; }""", timeout=30_000)
    lines = traces(page, 1, "k0")
    # seconds since each run started (30 steps logged within milliseconds share a few x values)
    assert all(t["n"] >= 1 and min(t["x"]) >= 0 and max(t["x"]) < 120 for t in lines), lines
    assert "nbt-active" in (chart.locator('.nbt-chart-xbutton[data-axis="relative"]').get_attribute("class") or "")
    chart.locator('.nbt-chart-xbutton[data-axis="step"]').click()
    page.wait_for_function("""() => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[1];
        return c.querySelector('.nbt-chart-panel .js-plotly-plot').layout.xaxis.title.text === 'step'; }""")
    assert [t["x"] for t in traces(page, 1, "k0")] == [list(range(30))] * 3


def test_log_y_smoothing_and_legend_toggles(page: Any, shot: Any) -> None:
    chart = page.locator(cell(1)).locator(".nbt-chart")
    gd = """(role) => { const c = document.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')[1];
        const gd = c.querySelector('.nbt-chart-panel[data-key="k0"] .js-plotly-plot');
        return {log: gd.layout.yaxis.type, traces: gd.data.filter(t => t.meta[1] === role).map(t => ({
            visible: t.visible, n: t.x.length, opacity: t.opacity}))}; }"""
    chart.locator(".nbt-chart-logy").check()
    page.wait_for_function(f"() => ({gd})('line').log === 'log'")
    chart.locator(".nbt-chart-smoothing").fill("0.8")
    page.wait_for_function(f"() => ({gd})('ema').traces.every(t => t.visible === true && t.n === 30)")
    assert all(t["opacity"] < 1 for t in page.evaluate(f"() => ({gd})('line')")["traces"])  # the raw line fades
    chart.locator(".nbt-chart-legend-item", has_text="third").click()  # a run off in every panel
    page.wait_for_function(f"() => ({gd})('line').traces[2].visible === false")
    chart.scroll_into_view_if_needed()
    shot(chart, "ext-chart-07-log-smoothed-one-off")
    chart.locator(".nbt-chart-legend-item", has_text="third").click()
    chart.locator(".nbt-chart-smoothing").fill("0")
    chart.locator(".nbt-chart-logy").uncheck()
    page.wait_for_function(f"() => {{ const g = ({gd})('line'); return g.log === 'linear' && g.traces[2].visible === true; }}")


def test_no_console_errors(page: Any) -> None:
    real_errors = [e for e in page.errors if "GL Driver" not in e and "favicon" not in e]
    assert not real_errors, real_errors
