"""The nbtrack side panel, the %%track toolbar button and the live run card in a real JupyterLab.

The test writes a notebook and its store (``panel/.nbtrack``) into the lab's root, with runs
whose tags name the cell that made them, then drives the page. The tests share one page (module
scope) and run in file order: the panel's tests run with the notebook's kernel shut down (the
panel reads through the Jupyter server), the last one starts a kernel and trains in a cell.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import errors_but_one_bad_filter, new_page, run_python_with_nbtrack

pytestmark = pytest.mark.browser

FOLDER = "panel"
NOTEBOOK = f"{FOLDER}/runs.ipynb"
OTHER = f"{FOLDER}/other.ipynb"
CELL_IDS = ["c-intro", "c-setup", "c-train", "c-spare"]
TRAIN_SOURCE = "%%track --name fit-a\nfor step in range(3):\n    nbtrack.log_metric('loss', 1 / (step + 1), step=step)"
PANEL = "#nbtrack-panel"
REPO = Path(__file__).resolve().parents[2]

CURRENT = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    return w && w.content && w.content.widgets ? w : null; }"""


def notebook_json(cells: list[tuple[str, str, str]]) -> str:
    return json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"id": cid, "cell_type": kind, "metadata": {}, "source": src,
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for cid, kind, src in cells]})


def log_runs(store: Path, script: str, wait: bool = True) -> subprocess.Popen[bytes]:
    """Run ``script`` in another Python process with nbtrack writing to ``store``."""
    return run_python_with_nbtrack(str(store), script, wait)


@pytest.fixture(scope="module")
def setup(lab: Any) -> dict[str, Any]:
    folder = lab.root / FOLDER
    folder.mkdir()
    (folder / "runs.ipynb").write_text(notebook_json([
        ("c-intro", "markdown", "# Runs"), ("c-setup", "code", "%load_ext nbtrack\nimport nbtrack"),
        ("c-train", "code", TRAIN_SOURCE), ("c-spare", "code", "x = 1")]))
    (folder / "other.ipynb").write_text(notebook_json([("o-1", "code", "a = 1"), ("o-2", "code", "b = 2")]))
    store = folder / ".nbtrack"
    ids = {}
    for name, notebook, cell, source, losses, acc in [
            ("fit-a", folder / "runs.ipynb", "c-train", TRAIN_SOURCE, [1.0, 0.5, 0.25], [0.9995, 1.0]),
            ("fit-b", folder / "other.ipynb", "o-2", "b = 2", [2.0, 1.5], [0.25, 0.25])]:
        out = folder / f"{name}.id"
        log_runs(store, f"""
            with nbtrack.start_run(run_name={name!r}, tags={{"mlflow.source.name": {str(notebook)!r},
                                   "nbtrack.cell_id": {cell!r}, "team": "vision"}}) as run:
                nbtrack.log_params({{"lr": 0.01, "optimizer": "adam"}})
                for step, v in enumerate({losses!r}):
                    nbtrack.log_metric("loss", v, step=step)
                for step, v in enumerate({acc!r}):
                    nbtrack.log_metric("acc", v, step=step)
                nbtrack.log_text({source!r}, "cell/source.py")
                nbtrack.log_dict({{"k": 1}}, "reports/summary.json")
            open({str(out)!r}, "w").write(run.info.run_id)
            """)
        ids[name] = out.read_text()
    return {"store": store, "ids": ids}


KERNEL_IDLE = f"""() => {{ const w = ({CURRENT})(); const k = w && w.sessionContext.session
    && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }}"""


def shutdown(page: Any) -> None:
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    page.wait_for_timeout(1000)
    page.evaluate(f"async () => {{ await ({CURRENT})().sessionContext.shutdown(); }}")


def kernels(lab: Any) -> list[Any]:
    with urllib.request.urlopen(f"{lab.url}/api/kernels?token={lab.token}", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def page(lab: Any, browser: Any, setup: dict[str, Any]) -> Iterator[Any]:
    context, page = new_page(browser, 1400, 1000, 30_000, http_errors=True)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/nbtrack/" in r.url else None)
    page.nbt_requests = requests  # type: ignore[attr-defined]
    page.goto(lab.page_url(NOTEBOOK))
    page.wait_for_function(f"() => {{ const w = ({CURRENT})(); return w && w.context.path === '{NOTEBOOK}' "
                           "&& w.sessionContext.session && w.sessionContext.session.kernel; }", timeout=120_000)
    # the panel needs no kernel: shut it down (once JupyterLab is done talking to it) before the panel opens
    shutdown(page)
    deadline = time.monotonic() + 30
    while kernels(lab) and time.monotonic() < deadline:
        time.sleep(0.3)
    page.locator('.jp-SideBar li[data-id="nbtrack-panel"]').click()
    page.wait_for_selector(f"{PANEL} .nbt-run")
    yield page
    context.close()


def run_names(page: Any) -> list[str]:
    return page.locator(f"{PANEL} .nbt-run .nbt-run-name").all_inner_texts()


def test_panel_lists_the_store_runs_and_shows_new_ones_live_with_no_kernel(page: Any, lab: Any,
                                                                            setup: dict[str, Any]) -> None:
    assert kernels(lab) == []
    assert "/panel/.nbtrack" in page.inner_text(f"{PANEL} .nbt-panel-store")
    assert run_names(page) == ["fit-b", "fit-a"]  # newest first
    assert page.locator(f"{PANEL} .nbt-run .nbt-status").all_inner_texts() == ["FINISHED", "FINISHED"]
    started = time.monotonic()
    writer = log_runs(setup["store"], """
        import time
        with nbtrack.start_run(run_name="live-run"):
            for step in range(30):
                nbtrack.log_metric("loss", 1 / (step + 1), step=step)
                time.sleep(0.2)
        """, wait=False)
    try:
        row = page.locator(f'{PANEL} .nbt-run:has-text("live-run")')
        row.wait_for(timeout=15_000)
        seen = time.monotonic() - started
        assert row.locator(".nbt-status").inner_text() == "RUNNING"
        first = row.locator(".nbt-run-time").inner_text()
        page.wait_for_timeout(1500)
        assert row.locator(".nbt-run-time").inner_text() != first  # a RUNNING run's time ticks
        assert writer.wait(timeout=60) == 0
        page.wait_for_function(f"""() => {{ const r = [...document.querySelectorAll('{PANEL} .nbt-run')]
            .find(e => e.textContent.includes('live-run')); return r && r.querySelector('.nbt-status').textContent === 'FINISHED'; }}""",
                               timeout=10_000)
        final = row.locator(".nbt-run-time").inner_text()
        page.wait_for_timeout(1200)
        assert row.locator(".nbt-run-time").inner_text() == final  # a finished run shows its duration
        assert final.endswith(" s") and 5.0 <= float(final.split()[0]) < 30
    finally:
        if writer.poll() is None:
            writer.kill()
    print(f"new run shown {seen:.1f} s after its process started (python start included)")
    assert kernels(lab) == []


def test_filter_narrows_the_list_and_a_bad_filter_says_why_in_place(page: Any) -> None:
    box = page.locator(f"{PANEL} .nbt-panel-filter")
    box.fill("params.optimizer = 'adam' and metrics.acc > 0.5")
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 1")
    assert run_names(page) == ["fit-a"]
    box.fill("metrics.acc >>> 1")
    box.press("Enter")
    error = page.locator(f"{PANEL} .nbt-panel-filter-error")
    error.wait_for()
    page.wait_for_function(f"() => document.querySelector('{PANEL} .nbt-panel-filter-error').textContent.length > 0")
    assert error.inner_text().strip()
    assert run_names(page) == ["fit-a"]  # the list stays
    page.wait_for_timeout(2500)  # polls go on with the last good filter; the bad one is not sent again
    assert error.inner_text().strip() and run_names(page) == ["fit-a"]
    box.fill("")
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 3")
    assert page.locator(f"{PANEL} .nbt-panel-filter-error").inner_text() == ""


def test_a_clicked_run_shows_its_card_with_scaled_sparklines(page: Any, shot: Any) -> None:
    page.locator(f'{PANEL} .nbt-run:has-text("fit-a")').click()
    card = page.locator(f"{PANEL} .nbt-panel-run")
    card.wait_for()
    params = dict(zip(card.locator(".nbt-panel-params .nbt-k").all_inner_texts(),
                      card.locator(".nbt-panel-params .nbt-v").all_inner_texts(), strict=True))
    assert params == {"lr": "0.01", "optimizer": "adam"}
    loss = card.locator('.nbt-panel-metrics tr[data-key="loss"]')
    assert loss.locator(".nbt-spark-max").inner_text() == "1"
    assert loss.locator(".nbt-spark-min").inner_text() == "0.25"
    assert loss.locator(".nbt-spark").get_attribute("data-points") == "3"
    acc = card.locator('.nbt-panel-metrics tr[data-key="acc"]')  # a 0.0005 change, with its scale
    assert (acc.locator(".nbt-spark-min").inner_text(), acc.locator(".nbt-spark-max").inner_text()) == ("0.9995", "1")
    assert "team" in card.locator(".nbt-panel-tags").first.inner_text()
    card.locator(".nbt-artifact-toggle", has_text="cell/").click()
    card.locator('.nbt-artifact[title="cell/source.py"]').wait_for()
    assert "reports/" in card.locator(".nbt-panel-artifacts").inner_text()
    shot(page.locator(PANEL), "side_panel")
    shot(page, "jupyterlab_side_panel")  # the whole window: the README's picture (docs/images/)


def active_cell(page: Any) -> dict[str, Any]:
    return page.evaluate(f"""() => {{ const w = ({CURRENT})(); const c = w.content.activeCell;
        return {{path: w.context.path, index: w.content.activeCellIndex, id: c.model.id,
                 source: c.model.sharedModel.getSource(), n: w.content.widgets.length}}; }}""")


def select_cell(page: Any, index: int) -> None:
    page.evaluate(f"() => {{ const w = ({CURRENT})(); w.content.activeCellIndex = {index}; }}")


def test_jump_to_cell_selects_the_cell_that_made_the_run(page: Any) -> None:
    select_cell(page, 0)
    page.locator(f"{PANEL} .nbt-panel-run .nbt-jump").click()
    page.wait_for_function(f"() => ({CURRENT})().content.activeCell.model.id === 'c-train'")
    cell = active_cell(page)
    assert (cell["path"], cell["index"], cell["source"]) == (NOTEBOOK, 2, TRAIN_SOURCE)


def test_restore_source_inserts_the_recorded_source_below_the_active_cell(page: Any) -> None:
    select_cell(page, 3)
    before = active_cell(page)["n"]
    page.locator(f"{PANEL} .nbt-panel-run .nbt-restore").click()
    page.wait_for_function(f"() => ({CURRENT})().content.widgets.length === {before + 1}")
    cell = active_cell(page)
    assert (cell["index"], cell["source"]) == (4, TRAIN_SOURCE)


def test_ticked_runs_insert_a_compare_cell(page: Any, setup: dict[str, Any]) -> None:
    for name in ("fit-a", "fit-b"):
        page.locator(f'{PANEL} .nbt-run:has-text("{name}") .nbt-run-tick').check()
    assert "2 ticked" in page.inner_text(f"{PANEL} .nbt-panel-actions")
    before = active_cell(page)["n"]
    page.locator(f"{PANEL} .nbt-insert-compare").click()
    page.wait_for_function(f"() => ({CURRENT})().content.widgets.length === {before + 1}")
    ticked = [setup["ids"]["fit-b"], setup["ids"]["fit-a"]]
    source = active_cell(page)["source"]
    assert source.startswith("import nbtrack\n\nnbtrack.compare([")
    assert sorted(json.loads(source.split("compare(")[1].rstrip(")"))) == sorted(ticked)


def test_jump_opens_the_notebook_when_it_is_not_open(page: Any, setup: dict[str, Any]) -> None:
    page.locator(f'{PANEL} .nbt-run:has-text("fit-b")').click()
    page.locator(f'{PANEL} .nbt-panel-run[data-run-id="{setup["ids"]["fit-b"]}"] .nbt-jump').click()
    page.wait_for_function(f"() => {{ const w = ({CURRENT})(); return w && w.context.path === '{OTHER}' "
                           "&& w.content.activeCell && w.content.activeCell.model.id === 'o-2'; }")
    assert active_cell(page)["index"] == 1
    # the same store: the panel keeps its list for the other notebook
    assert set(run_names(page)) == {"fit-a", "fit-b", "live-run"}
    shutdown(page)
    page.evaluate(f"() => window.jupyterapp.commands.execute('docmanager:open', {{path: '{NOTEBOOK}'}})")
    page.wait_for_function(f"() => ({CURRENT})().context.path === '{NOTEBOOK}'")


def test_a_notebook_with_no_store_yet_says_what_to_do_then_shows_its_first_run(page: Any, lab: Any) -> None:
    folder = lab.root / "fresh"
    folder.mkdir()
    (folder / "new.ipynb").write_text(notebook_json([("n-1", "code", "1")]))
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:open', {path: 'fresh/new.ipynb'})")
    page.wait_for_function(f"() => ({CURRENT})() && ({CURRENT})().context.path === 'fresh/new.ipynb'")
    empty = page.locator(f"{PANEL} .nbt-panel-empty")
    empty.wait_for()
    text = empty.inner_text()
    assert "No store yet" in text and "%%track" in text and str(folder / ".nbtrack") in text
    assert page.locator(f"{PANEL} .nbt-run").count() == 0
    log_runs(folder / ".nbtrack", 'with nbtrack.start_run(run_name="first-ever"):\n    nbtrack.log_metric("m", 1)\n')
    page.wait_for_function(f"() => [...document.querySelectorAll('{PANEL} .nbt-run-name')].map(e => e.textContent).join() === 'first-ever'",
                           timeout=15_000)
    assert page.locator(f"{PANEL} .nbt-panel-empty").count() == 0
    shutdown(page)
    page.evaluate(f"() => window.jupyterapp.commands.execute('docmanager:open', {{path: '{NOTEBOOK}'}})")
    page.wait_for_function(f"() => ({CURRENT})().context.path === '{NOTEBOOK}'")
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 3")  # its own store again


def test_toolbar_button_adds_then_removes_track(page: Any) -> None:
    select_cell(page, 1)
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .nbt-toggle-track").first
    button.click()
    assert active_cell(page)["source"] == "%%track\n%load_ext nbtrack\nimport nbtrack"
    button.click()
    assert active_cell(page)["source"] == "%load_ext nbtrack\nimport nbtrack"


CELL_TRACK = (".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-cell-toolbar "
              ".jp-CommandToolbarButton:has([data-command='nbtrack:toggle-track'])")


def select_cell_by_id(page: Any, cell_id: str) -> None:
    page.evaluate(f"""() => {{ const nb = ({CURRENT})().content;
        nb.activeCellIndex = nb.widgets.findIndex(c => c.model.id === {cell_id!r}); }}""")
    page.wait_for_function(f"() => ({CURRENT})().content.activeCell.model.id === {cell_id!r}")


def test_cell_toolbar_button_toggles_track_on_its_cell(page: Any, shot: Any) -> None:
    """JupyterLab's per-cell toolbar (schema/panel.json) carries the toggle, on the active cell only."""
    select_cell_by_id(page, "c-spare")
    button = page.locator(CELL_TRACK)
    button.wait_for()
    assert button.count() == 1  # one cell toolbar: the active cell's
    in_cell = f"({CURRENT})().content.activeCell.node.contains(document.querySelector(\"{CELL_TRACK}\"))"
    assert page.evaluate(f"() => {in_cell}")
    assert button.locator("svg").count() == 1  # drawn with the nbtrack icon, no label
    assert button.inner_text().strip() == ""
    assert "toggled" not in (button.get_attribute("class") or "")
    # focus outside the notebook (the side panel): the click still acts on the cell it sits on
    page.locator(f"{PANEL} input.nbt-panel-filter").focus()
    button.click()
    page.wait_for_function(f"() => ({CURRENT})().content.activeCell.model.sharedModel.getSource() === '%%track\\nx = 1'")
    cell = active_cell(page)
    assert (cell["id"], cell["source"].split("\n")[0]) == ("c-spare", "%%track")
    button = page.locator(CELL_TRACK)
    page.wait_for_function(f"() => document.querySelector(\"{CELL_TRACK}\").classList.contains('lm-mod-toggled')")
    shot(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active"), "cell_toolbar_track")
    button.click()
    page.wait_for_function(f"() => ({CURRENT})().content.activeCell.model.sharedModel.getSource() === 'x = 1'")
    assert active_cell(page)["id"] == "c-spare"
    page.wait_for_function(f"() => !document.querySelector(\"{CELL_TRACK}\").classList.contains('lm-mod-toggled')")
    # typing %%track (not the button) shows the button pressed too
    page.evaluate(f"() => ({CURRENT})().content.activeCell.model.sharedModel.setSource('%%track\\nx = 1')")
    page.wait_for_function(f"() => document.querySelector(\"{CELL_TRACK}\").classList.contains('lm-mod-toggled')")
    page.evaluate(f"() => ({CURRENT})().content.activeCell.model.sharedModel.setSource('x = 1')")
    page.wait_for_function(f"() => !document.querySelector(\"{CELL_TRACK}\").classList.contains('lm-mod-toggled')")


def test_cell_toolbar_offers_no_track_on_a_markdown_cell(page: Any) -> None:
    select_cell_by_id(page, "c-intro")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell.jp-mod-active .jp-cell-toolbar").wait_for()
    button = page.locator(CELL_TRACK)
    assert button.count() == 1 and not button.is_visible()  # hidden, as JupyterLab hides per-type buttons
    notebook_button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .nbt-toggle-track button").first
    assert notebook_button.is_disabled()  # the notebook toolbar's stays in place, disabled
    page.evaluate("() => window.jupyterapp.commands.execute('nbtrack:toggle-track', {cellToolbar: true})")
    assert active_cell(page)["source"] == "# Runs"
    select_cell_by_id(page, "c-spare")
    page.locator(CELL_TRACK).wait_for()  # offered again on a code cell


def test_track_cell_card_updates_while_the_cell_still_runs(page: Any, shot: Any) -> None:
    page.evaluate(f"""async () => {{ const w = ({CURRENT})();
        await w.sessionContext.changeKernel({{name: 'python3'}}); }}""")
    page.wait_for_function(KERNEL_IDLE, timeout=120_000)
    code = ("%%track --name trained\nimport time\nfor step in range(40):\n"
            "    nbtrack.log_metric('loss', 1 / (step + 1), step=step)\n    time.sleep(0.15)")
    page.evaluate(f"""async () => {{ const w = ({CURRENT})(); const nb = w.content;
        nb.activeCellIndex = 1; await window.jupyterapp.commands.execute('notebook:run-cell');
        nb.activeCellIndex = 3; nb.activeCell.model.sharedModel.setSource({json.dumps(code)});
        window.__nbtDone = false;
        window.jupyterapp.commands.execute('notebook:run-cell').then(() => {{ window.__nbtDone = true; }}); }}""")
    card = ".jp-Notebook .nbt-run-card"
    try:
        page.wait_for_selector(f"{card} .nbt-card", timeout=90_000)
    except Exception:
        outputs = page.evaluate(f"() => [...({CURRENT})().content.widgets].map(c => c.node.innerText)")
        raise AssertionError(f"no run card; the cells show: {outputs}") from None
    counts = []
    while True:
        done = page.evaluate("() => window.__nbtDone")
        status = page.evaluate(f"() => {{ const c = document.querySelector('{card} .nbt-card'); return c && c.querySelector('.nbt-status').textContent; }}")
        if done:
            break
        n = page.evaluate(f"() => {{ const s = document.querySelector('{card} .nbt-spark'); return s ? Number(s.dataset.points) : 0; }}")
        if status and "RUNNING" in status:
            counts.append(n)
        page.wait_for_timeout(250)
    grown = sorted({c for c in counts if c})
    assert len(grown) >= 3, counts  # the card redrew with more points while the kernel was busy
    page.wait_for_function(f"() => document.querySelector('{card} .nbt-status').textContent.includes('FINISHED')")
    final = page.locator(f"{card} .nbt-card")
    assert final.locator(".nbt-card-name").inner_text() == "trained"
    assert final.locator(".nbt-spark-max").first.inner_text() == "1"
    assert final.locator(".nbt-spark-min").first.inner_text() == "0.025"
    assert final.locator(".nbt-card-step").first.inner_text() == "step 39"
    shot(final, "run_card")
    seen = len(page.nbt_requests)
    page.wait_for_timeout(2000)
    later = [u for u in page.nbt_requests[seen:] if "run-summaries" in u or "thin-history" in u]
    assert later == []  # the card stopped polling once the run finished
    print(f"points seen while the cell ran: {counts}")


def test_the_panel_stops_polling_while_it_is_hidden(page: Any) -> None:
    tab = page.locator('.jp-SideBar li[data-id="nbtrack-panel"]')
    tab.click()  # collapses the left area
    page.wait_for_function("() => document.getElementById('nbtrack-panel').classList.contains('lm-mod-hidden')")
    seen = len(page.nbt_requests)
    page.wait_for_timeout(2500)
    assert [u for u in page.nbt_requests[seen:] if "runs/search" in u] == []
    tab.click()
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 4")  # and `trained`
    assert "trained" in run_names(page)


def test_a_run_tracked_in_jupyterlab_jumps_back_to_its_cell_and_restores_its_source(page: Any) -> None:
    """The tags the kernel records (notebook path, cell id) and the cell's source, end to end."""
    ran = page.evaluate(f"() => ({CURRENT})().content.widgets[3].model.id")
    select_cell(page, 0)
    page.locator(f'{PANEL} .nbt-run:has-text("trained")').click()
    card = page.locator(f'{PANEL} .nbt-panel-run:has-text("trained")')
    card.wait_for()
    card.locator(".nbt-jump").click()
    page.wait_for_function(f"() => ({CURRENT})().content.activeCellIndex === 3")
    assert active_cell(page)["id"] == ran
    before = active_cell(page)["n"]
    card.locator(".nbt-restore").click()
    page.wait_for_function(f"() => ({CURRENT})().content.widgets.length === {before + 1}")
    assert active_cell(page)["source"].startswith("%%track --name trained\nimport time\nfor step in range(40):")


def test_no_console_errors(page: Any) -> None:
    body = page.inner_text("body")
    assert "Error displaying widget" not in body
    real = errors_but_one_bad_filter(page.errors)  # test_filter_...'s bad filter
    assert not real, real
