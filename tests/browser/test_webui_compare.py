"""The web UI's compare page (#/compare?runs=...), in Debian's chromium against a real ``nbtrack server``.

The store: an experiment of 54 runs logged with the real nbtrack API (params, metric histories
with steps, tags) of which four were made by ``%%track`` cells on IPython's real test shell (so
they carry the cell source as ``cell/source.py``). Every part of the page is drawn with 0 console
errors, and each interaction is checked on the screen: the differing rows, the "only differences"
toggle, the best value marked, a brush in the parallel coordinates narrowing the runs highlighted
in the table, the scatter's axes, the cell-source diff, the key picker, deep links, unknown ids,
too many runs, and going from 3 runs to 50 and back.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.lab import new_page
from tests.browser.webui import UI, readme_shot, real_errors, serve_ui

pytestmark = pytest.mark.browser

PLAIN = 50
SOURCES = {  # %%track cells: the second one changes the learning rate and adds a line
    "cell-a": """\
        %%track --name cell-a --params lr,depth
        lr = 0.1
        depth = 3
        for step in range(8):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_metric("acc", 0.8)
        """,
    "cell-b": """\
        %%track --name cell-b --params lr,depth
        lr = 0.05
        depth = 3
        for step in range(8):
            nbtrack.log_metric("loss", 0.5 / (step + 1), step=step)
            nbtrack.log_metric("grad_norm", 1.0 + step, step=step)
        nbtrack.log_metric("acc", 0.85)
        """,
}


def build(uri: str) -> None:
    import nbtrack

    nbtrack.set_experiment("sweep")
    for i in range(PLAIN):
        with nbtrack.start_run(run_name=f"trial-{i:02d}"):
            nbtrack.log_params({"lr": 0.001 * (i + 1), "depth": 2 + i % 4, "optimizer": "adam" if i % 2 else "sgd",
                                "seed": 7})
            nbtrack.set_tags({"team": "cv", "variant": f"v{i % 3}"})
            for step in range(20):
                nbtrack.log_metrics({"loss": 2.0 / (step + 1) + 0.01 * i, "acc": 0.5 + 0.02 * step - 0.001 * i}, step=step)
            nbtrack.log_metric("val_loss", 0.3 + 0.01 * ((i * 7) % 11))
    _track_cells()
    nbtrack.flush()


def _track_cells() -> None:
    """Runs made by %%track cells on IPython's real test shell: each logs its cell source."""
    from IPython.testing import globalipapp
    from IPython.utils.capture import capture_output

    import nbtrack

    globalipapp.start_ipython()
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "nbtrack")
    shell.user_ns["nbtrack"] = nbtrack
    try:
        for name, code in SOURCES.items():
            with capture_output():
                result = shell.run_cell(textwrap.dedent(code), store_history=True, cell_id=name)
            assert result.success, result.error_in_exec
    finally:
        shell.run_line_magic("unload_ext", "nbtrack")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-compare", build)


@pytest.fixture(scope="module")
def runs(ui: UI) -> dict[str, str]:
    """Run name -> id."""
    import nbtrack

    before = nbtrack.get_tracking_uri()
    nbtrack.set_tracking_uri(ui.url)  # the server holds the store
    try:
        found = nbtrack.search_runs(experiment_names=["sweep"], output_format="list", max_results=1000)
        return {r.info.run_name: r.info.run_id for r in found}
    finally:
        nbtrack.set_tracking_uri(before)


def compare_url(ui: UI, ids: list[str], **query: str) -> str:
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    return ui.page_url(f"/compare?runs={','.join(ids)}{extra}")


def open_compare(browser: Any, url: str, width: int = 1280, height: int = 800) -> tuple[Any, Any]:
    context, page = new_page(browser, width, height, http_errors=True)
    page.goto(url)
    page.wait_for_selector(".nbt-compare-table")
    return context, page


def wait_drawn(page: Any) -> None:
    """Every part on the screen: chart panels plotted, parallel coordinates' lines, the scatter, the source."""
    page.wait_for_function("document.querySelectorAll('.nbt-cmp-charts .nbt-chart-plot.js-plotly-plot').length > 0")
    page.wait_for_function("document.querySelector('.nbt-parcoords')?.nbtParcoords?.lines() > 0")
    page.wait_for_selector(".nbt-cmp-scatter-plot .main-svg")
    page.wait_for_selector(".nbt-cmp-source-diff, .nbt-cmp-source-none")


def row(page: Any, key: str) -> Any:
    return page.locator(f".nbt-compare-table tr[data-key='{key}']")


def test_every_part_renders_with_no_console_error(browser: Any, ui: UI, runs: dict[str, str], shot: Any) -> None:
    ids = [runs["cell-a"], runs["cell-b"], runs["trial-03"], runs["trial-10"]]
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        wait_drawn(page)
        assert page.locator("h1").inner_text() == "Compare 4 runs"
        heads = page.locator(".nbt-compare-table thead th.nbt-compare-run")
        assert heads.count() == 4
        assert heads.nth(0).locator("a").get_attribute("href") == f"#/runs/{ids[0]}"
        # one chart per common metric key, every run's line in its colour
        panels = page.locator(".nbt-cmp-charts .nbt-chart-panel")
        assert sorted(panels.evaluate_all("ps => ps.map(p => p.dataset.key)")) == ["acc", "loss"]
        assert page.locator(".nbt-cmp-charts .nbt-chart-legend-item").count() == 4
        for section in ("diff", "charts", "parcoords", "scatter", "source"):
            assert page.locator(f"section[data-section='{section}']").is_visible()
        page.locator("section[data-section='diff']").scroll_into_view_if_needed()
        shot(page, "webui-compare")
        readme_shot(page, "webui-compare", full_page=True)
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_differences_highlighted_toggle_hides_equal_rows_and_best_marked(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = [runs["trial-01"], runs["trial-02"], runs["trial-05"]]
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        assert "nbt-differs" in (row(page, "lr").get_attribute("class") or "")
        assert "nbt-differs" not in (row(page, "seed").get_attribute("class") or "")
        assert "nbt-differs" in (row(page, "variant").get_attribute("class") or "")  # tags are compared
        assert "nbt-differs" not in (row(page, "team").get_attribute("class") or "")
        # best: loss lower (trial-01: 2/20 + 0.01), acc higher (trial-01 too), val_loss lower
        loss = row(page, "loss")
        assert loss.locator("th").inner_text().endswith("\u2193")
        best = loss.locator("td.nbt-best")
        assert best.count() == 1 and best.get_attribute("data-run") == ids[0] and "\u2605" in best.inner_text()
        assert row(page, "acc").locator("th").inner_text().endswith("\u2191")
        assert row(page, "acc").locator("td.nbt-best").get_attribute("data-run") == ids[0]
        # val_loss: 0.3 + 0.01 * ((7 i) % 11): i=1 -> 0.37, i=2 -> 0.33, i=5 -> 0.32
        assert row(page, "val_loss").locator("td.nbt-best").get_attribute("data-run") == ids[2]
        assert row(page, "seed").count() == 1 and row(page, "team").count() == 1
        before = page.locator(".nbt-compare-table tr.nbt-compare-row").count()
        page.locator(".nbt-cmp-only").check()
        assert row(page, "seed").count() == 0 and row(page, "team").count() == 0
        after = page.locator(".nbt-compare-table tr.nbt-compare-row").count()
        assert page.locator(".nbt-cmp-hidden-count").inner_text() == f"{before - after} equal rows hidden"
        assert row(page, "lr").count() == 1 and row(page, "loss").count() == 1
        assert "only=1" in page.url
        page.reload()
        page.wait_for_selector(".nbt-compare-table")
        assert page.locator(".nbt-cmp-only").is_checked() and row(page, "seed").count() == 0
        assert page.locator(".nbt-cmp-hidden-count").inner_text() == f"{before - after} equal rows hidden"
        page.locator(".nbt-cmp-only").uncheck()
        assert row(page, "seed").count() == 1 and page.locator(".nbt-cmp-hidden-count").inner_text() == ""
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_brush_in_parallel_coordinates_narrows_the_highlighted_runs(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = [runs[f"trial-{i:02d}"] for i in (0, 4, 8, 12, 16, 20)]
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        page.wait_for_function("document.querySelector('.nbt-parcoords')?.nbtParcoords?.lines() > 0")
        dims = page.evaluate("document.querySelector('.nbt-parcoords').nbtParcoords.dims.map(d => d.column)")
        lr = dims.index("param:lr")
        assert page.locator(".nbt-cmp-in").count() == 0
        # lr of trial i is 0.001 (i + 1): [0.004, 0.014] holds trials 4, 8 and 12
        axis = page.evaluate(f"document.querySelector('.nbt-parcoords').nbtParcoords.dims[{lr}]")
        lo, hi = (0.004, 0.014) if axis["kind"] != "log" else (-2.4, -1.85)
        page.evaluate(f"document.querySelector('.nbt-parcoords').nbtParcoords.brush({lr}, [{lo}, {hi}])")
        page.wait_for_selector(".nbt-cmp-brushed:not([hidden])")
        picked = page.locator("thead th.nbt-cmp-in").evaluate_all("ts => ts.map(t => t.dataset.run)")
        assert picked == ids[1:4]
        assert page.locator("thead th.nbt-cmp-out").count() == 3
        assert page.locator(".nbt-cmp-brushed").inner_text().startswith("3 of 6 runs")
        # the scatter fades the runs outside the brush
        page.wait_for_function("""() => { const p = document.querySelector('.nbt-cmp-scatter-plot');
            return p && p.data && p.data[0].marker.opacity.filter(o => o < 0.5).length === 3; }""")
        page.locator(".nbt-cmp-clear").click()
        page.wait_for_selector(".nbt-cmp-brushed[hidden]", state="attached")
        assert page.locator(".nbt-cmp-in").count() == 0 and page.locator(".nbt-cmp-out").count() == 0
        assert page.evaluate("document.querySelector('.nbt-parcoords').nbtParcoords.brushed()") is None
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_scatter_axes_switch_and_are_kept_in_the_url(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = [runs[f"trial-{i:02d}"] for i in (1, 2, 3, 9)]
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        page.wait_for_selector(".nbt-cmp-scatter-plot .main-svg")
        xtitle = page.locator(".nbt-cmp-scatter-plot .xtitle")
        page.locator(".nbt-cmp-x").select_option("param:depth")
        page.wait_for_function("document.querySelector('.nbt-cmp-scatter-plot .xtitle')?.textContent === 'depth (param)'")
        page.locator(".nbt-cmp-y").select_option("metric:val_loss")
        page.wait_for_function("document.querySelector('.nbt-cmp-scatter-plot .ytitle')?.textContent === 'val_loss (metric)'")
        xs = page.evaluate("document.querySelector('.nbt-cmp-scatter-plot').data[0].x")
        assert xs == [3, 4, 5, 3]  # depth = 2 + i % 4 for trials 1, 2, 3, 9
        assert "x=param%3Adepth" in page.url and "y=metric%3Aval_loss" in page.url
        page.locator(".nbt-cmp-x").select_option("param:optimizer")  # text: a categorical axis
        page.wait_for_function("document.querySelector('.nbt-cmp-scatter-plot .xtitle')?.textContent === 'optimizer (param)'")
        assert page.evaluate("document.querySelector('.nbt-cmp-scatter-plot')._fullLayout.xaxis.type") == "category"
        page.locator(".nbt-cmp-scatter .nbt-cmp-swap").click()
        page.wait_for_function("document.querySelector('.nbt-cmp-scatter-plot .xtitle')?.textContent === 'val_loss (metric)'")
        page.reload()
        page.wait_for_selector(".nbt-cmp-scatter-plot .main-svg")
        assert xtitle.text_content() == "val_loss (metric)"
        assert page.locator(".nbt-cmp-y").input_value() == "param:optimizer"
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_cell_source_diff_marks_added_and_removed_lines(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = [runs["cell-a"], runs["cell-b"], runs["trial-00"]]
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        page.wait_for_selector(".nbt-cmp-source-diff")
        removed = page.locator(".nbt-cmp-source-table tr.nbt-cmp-del .nbt-cmp-code").all_inner_texts()
        added = page.locator(".nbt-cmp-source-table tr.nbt-cmp-add .nbt-cmp-code").all_inner_texts()
        assert [t.strip() for t in removed] == ["%%track --name cell-a --params lr,depth", "lr = 0.1",
                                                "nbtrack.log_metric(\"loss\", 1.0 / (step + 1), step=step)",
                                                "nbtrack.log_metric(\"acc\", 0.8)"]
        assert "lr = 0.05" in [t.strip() for t in added]
        assert "nbtrack.log_metric(\"grad_norm\", 1.0 + step, step=step)" in [t.strip() for t in added]
        same = page.locator(".nbt-cmp-source-table tr.nbt-cmp-same .nbt-cmp-code").all_inner_texts()
        assert "depth = 3" in [t.strip() for t in same]
        assert page.locator(".nbt-cmp-source-table tr.nbt-cmp-del .nbt-cmp-op").first.inner_text() == "-"
        assert "4 lines removed, 5 added" in page.locator(".nbt-cmp-source-count").inner_text()
        # the third run has no cell source: said in place, with what to do
        page.locator(".nbt-cmp-source-pick").nth(1).select_option(ids[2])
        page.wait_for_selector(".nbt-cmp-source-none")
        assert "%%track" in page.locator(".nbt-cmp-source-none").inner_text()
        assert f"b={ids[2]}" in page.url
        page.locator(".nbt-cmp-source-pick").nth(1).select_option(ids[1])
        page.locator(".nbt-cmp-source .nbt-cmp-swap").click()
        page.wait_for_function("document.querySelector('.nbt-cmp-source-count')?.textContent === '5 lines removed, 4 added'")
        # listed after runs made outside a cell, the two runs made by cells are still the pair shown first
        page.goto(compare_url(ui, [runs["trial-00"], runs["trial-01"], ids[0], ids[1]]))
        page.wait_for_selector(".nbt-cmp-source-diff")
        assert page.locator(".nbt-cmp-source-pick").nth(0).input_value() == ids[0]
        assert page.locator(".nbt-cmp-source-pick").nth(1).input_value() == ids[1]
        assert "4 lines removed, 5 added" in page.locator(".nbt-cmp-source-count").inner_text()
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_metric_key_picker_and_single_values_as_bars(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = [runs["cell-a"], runs["cell-b"]]
    lines = "document.querySelectorAll('.nbt-cmp-charts .nbt-chart-plot.js-plotly-plot').length"
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        # acc was logged once per run: a bar per run in the run's colour; loss has a history: lines
        page.wait_for_selector(".nbt-cmp-bars[data-key='acc'] .js-plotly-plot")
        page.wait_for_function(f"{lines} === 1")
        bars = page.evaluate("document.querySelector(\".nbt-cmp-bars[data-key='acc'] .js-plotly-plot\").data[0]")
        assert bars["type"] == "bar" and bars["x"] == ["cell-a", "cell-b"] and bars["y"] == [0.8, 0.85]
        legend = page.locator(".nbt-chart-legend-item .nbt-chart-swatch").evaluate_all("s => s.map(e => e.style.background)")
        colours = page.evaluate("document.querySelector(\".nbt-cmp-bars[data-key='acc'] .js-plotly-plot\")._fullData[0].marker.color")
        assert [page.evaluate(f"(() => {{ const d = document.createElement('div'); d.style.background = '{c}'; return d.style.background; }})()")
                for c in colours] == legend  # the same colour per run in bars and lines
        page.locator(".nbt-cmp-keys summary").click()
        assert page.locator(".nbt-cmp-keys summary").inner_text() == "Metrics: 2 of 3 charted"
        page.locator(".nbt-cmp-key[value='grad_norm']").check()
        page.wait_for_function(f"{lines} === 2")
        assert "keys=acc%2Cgrad_norm%2Closs" in page.url or "keys=acc,grad_norm,loss" in page.url
        page.locator(".nbt-cmp-key[value='acc']").uncheck()
        page.wait_for_function("document.querySelectorAll('.nbt-cmp-bars').length === 0")
        assert page.locator(".nbt-cmp-keys").evaluate("d => d.open")
        page.keyboard.press("Escape")  # the list closes as a menu does
        assert not page.locator(".nbt-cmp-keys").evaluate("d => d.open")
        page.reload()
        page.wait_for_function(f"{lines} === 2")
        keys = page.locator(".nbt-cmp-charts .nbt-chart-panel").evaluate_all("ps => ps.map(p => p.dataset.key)")
        assert keys == ["grad_norm", "loss"] and page.locator(".nbt-cmp-bars").count() == 0
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_unknown_id_shown_in_place_the_rest_compared(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = [runs["trial-01"], "0" * 32, runs["trial-02"]]
    context, page = open_compare(browser, compare_url(ui, ids))
    try:
        notice = page.locator(".nbt-cmp-missing")
        assert "0" * 32 in notice.inner_text() and "no such run" in notice.inner_text()
        assert page.locator("thead th.nbt-compare-run").count() == 2
        wait_drawn(page)
        assert real_errors(page.errors, allowed=("404",)) == []  # runs/get of the unknown id
    finally:
        context.close()


def test_too_many_and_too_few_runs_say_what_to_do(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    ids = list(runs.values())[:51]
    context, page = new_page(browser, 1280, 800, http_errors=True)
    try:
        page.goto(compare_url(ui, ids))
        page.wait_for_selector(".nbt-app-empty")
        assert "51 runs are too many to compare" in page.locator(".nbt-app-empty-title").inner_text()
        page.locator(".nbt-cmp-first").click()
        page.wait_for_selector(".nbt-compare-table")
        assert page.locator("thead th.nbt-compare-run").count() == 50
        page.goto(compare_url(ui, ids[:1]))
        page.wait_for_selector(".nbt-app-empty-title:text('One run is not a comparison')")
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_three_to_fifty_runs_and_back_does_not_crash(browser: Any, ui: UI, runs: dict[str, str]) -> None:
    """MLflow's compare view crashed after going from 3 runs to 66: here the URL changes in place."""
    ordered = [runs[f"trial-{i:02d}"] for i in range(PLAIN)]
    context, page = open_compare(browser, compare_url(ui, ordered[:3]))
    try:
        wait_drawn(page)
        for n in (50, 3, 50, 3):
            page.evaluate(f"location.hash = '#/compare?runs={','.join(ordered[:n])}'")
            page.wait_for_function(f"document.querySelectorAll('thead th.nbt-compare-run').length === {n}")
            wait_drawn(page)
            assert page.locator("h1").inner_text() == f"Compare {n} runs"
            assert page.locator(".nbt-cmp-charts .nbt-chart-legend-item").count() == n
            assert page.evaluate("document.querySelector('.nbt-parcoords').nbtParcoords.lines()") == n
            assert page.evaluate("document.querySelector('.nbt-cmp-scatter-plot').data[0].x.length") == n
        page.go_back()
        page.wait_for_function("document.querySelectorAll('thead th.nbt-compare-run').length === 50")
        wait_drawn(page)
        assert page.locator(".nbt-app-error").count() == 0
        assert real_errors(page.errors) == []
    finally:
        context.close()


def test_dark_theme_keeps_the_page_readable(browser: Any, ui: UI, runs: dict[str, str], shot: Any) -> None:
    ids = [runs["cell-a"], runs["cell-b"], runs["trial-07"]]
    context, page = new_page(browser, 1280, 800, http_errors=True)
    try:
        page.emulate_media(color_scheme="dark")
        page.goto(compare_url(ui, ids))
        page.wait_for_selector(".nbt-compare-table")
        wait_drawn(page)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        differs = page.locator(".nbt-compare-row.nbt-differs").first.evaluate("r => getComputedStyle(r).backgroundColor")
        assert differs not in ("rgb(255, 243, 196)", "rgba(0, 0, 0, 0)")  # the theme's highlight, not the lab's
        shot(page, "webui-compare-dark")
        assert real_errors(page.errors) == []
    finally:
        context.close()

