"""The web UI's run page (#/runs/<id>) in chromium against a real ``nbtrack server``.

The store: one run with params, stepped metrics, a single-value metric, system metrics, tags, a
note, a notebook source and its %%track cell source, a git commit, a dataset input, a nested
child run, text/JSON/YAML/PNG/CSV/Parquet/HTML artifacts, a file over the preview limit and an
sklearn model logged with a signature; and one run left RUNNING (the live test ends it over
REST). Every test checks what is on the screen, and that the page logged no console error.
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.lab import REPO, new_page
from tests.browser.webui import UI, real_errors, serve_ui

pytestmark = pytest.mark.browser

IDS: dict[str, str] = {}
NOTE = "First try of the ResNet.\nLearning rate from the sweep."
CELL = "%%track\nmodel = train(lr=0.01)\nnbtrack.log_metric('loss', model.loss)\n"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HTML = ("<h1 id='t'>Report heading</h1><img id='px' src='http://127.0.0.1:9/pixel.png'>"
        "<script>document.getElementById('t').textContent = 'script ran'</script>")
BIG_TEXT = "x" * (2 * 1024 * 1024 + 10)


def png(width: int, height: int) -> bytes:
    """A red RGB PNG, written by hand (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\xd6\x27\x28" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = png(40, 20)
NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"display_name": "Python 3", "name": "python3"}},
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": ["# Training\n", "The **first** try."]},
                {"cell_type": "code", "execution_count": 3, "metadata": {}, "source": ["print('hi')\n", "1 + 1"],
                 "outputs": [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]},
                             {"output_type": "execute_result", "execution_count": 3, "metadata": {},
                              "data": {"text/plain": ["2"], "text/html": ["<b onclick='x()'>2</b>"]}}]},
                {"cell_type": "code", "execution_count": 4, "metadata": {}, "source": "plot()",
                 "outputs": [{"output_type": "display_data", "metadata": {},
                              "data": {"image/png": base64.b64encode(PNG).decode(), "text/plain": ["<Figure>"]}},
                             {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}]}]}


def build(uri: str) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import nbtrack
    import nbtrack.sklearn

    nbtrack.set_experiment("run-page")
    frame = pd.DataFrame({"id": range(250), "score": [i / 250 for i in range(250)],
                          "label": [f"c{i % 3}" for i in range(250)]})
    with nbtrack.start_run(run_name="resnet-lr-0.01") as run:
        nbtrack.log_params({"lr": "0.01", "epochs": "30", "optimizer": "adam"})
        for step in range(30):
            nbtrack.log_metrics({"loss": 1 / (step + 1), "acc": 0.5 + step / 60}, step=step)
            nbtrack.log_metrics({"system/cpu_utilization_percentage": 40 + step % 7,
                                 "system/system_memory_usage_megabytes": 1000.0 + step}, step=step)
        nbtrack.log_metric("test_auc", 0.93)
        nbtrack.set_tags({"team": "vision", "stage": "dev", "mlflow.note.content": NOTE,
                          "mlflow.source.name": "notebooks/train.ipynb", "mlflow.source.type": "NOTEBOOK",
                          "mlflow.source.git.commit": COMMIT, "mlflow.source.git.branch": "main",
                          "mlflow.source.git.repoURL": "git@github.com:acme/vision.git"})
        nbtrack.log_text(CELL, "cell/source.py")
        nbtrack.log_text("hello from the run\nsecond line\n", "notes/readme.txt")
        nbtrack.log_dict({"lr": 0.01, "layers": [64, 128]}, "config/params.json")
        nbtrack.log_text("model:\n  depth: 50\n  # the width\n  width: 2\n", "config/model.yaml")
        nbtrack.log_text(HTML, "report.html")
        nbtrack.log_text(json.dumps(NOTEBOOK), "notebooks/train.ipynb")
        nbtrack.log_text(BIG_TEXT, "logs/big.log")
        nbtrack.log_dict({"shape": [2]}, "logs/deep/inner.json")
        client = nbtrack.MlflowClient()
        repo = client.artifact_repository(run.info.run_id)
        repo.write_bytes("plots/red.png", PNG)
        repo.write_bytes("tables/scores.csv", frame.head(8).to_csv(index=False).encode())
        import io
        buf = io.BytesIO()
        frame.to_parquet(buf)
        repo.write_bytes("tables/scores.parquet", buf.getvalue())
        nbtrack.log_input(nbtrack.data.from_pandas(frame, name="scores-train"), context="training")
        x = pd.DataFrame(np.random.default_rng(0).random((20, 3)), columns=["a", "b", "c"])
        y = (x["a"] > 0.5).astype(int)
        info = nbtrack.sklearn.log_model(LogisticRegression().fit(x, y), name="model", input_example=x.head(2))
        nbtrack.register_model(info.model_uri, "run-page-clf")
        with nbtrack.start_run(run_name="fold-1", nested=True) as child:
            nbtrack.log_metric("loss", 0.5)
    IDS.update(run=run.info.run_id, child=child.info.run_id)
    running = client.create_run(run.info.experiment_id, run_name="still-running")
    IDS["running"] = running.info.run_id
    IDS["live-charts"] = client.create_run(run.info.experiment_id, run_name="charts-while-running").info.run_id
    with nbtrack.start_run(run_name="per-layer"):  # many keys: the charts tab draws a few, the filter finds the rest
        for step in range(3):
            nbtrack.log_metrics({f"grad_norm/layer_{i:02d}": i + step for i in range(60)}, step=step)
    IDS["wide"] = nbtrack.last_active_run().info.run_id
    track_a_cell(uri)
    IDS["tracked"] = next(r.info.run_id for r in nbtrack.search_runs(output_format="list", search_all_experiments=True)
                          if r.info.run_name == "tracked-cell")
    empty = client.create_run(run.info.experiment_id, run_name="nothing-logged")
    client.set_terminated(empty.info.run_id, "FAILED")
    IDS["empty"] = empty.info.run_id


TRACKED = "%%track --name tracked-cell --experiment run-page\nfor i in range(3):\n    nbtrack.log_metric('cell_loss', 1 / (i + 1), step=i)\n"


def track_a_cell(uri: str) -> None:
    """Run a real %%track cell on IPython's shell, in a process of its own, as a notebook would."""
    script = (f"from IPython.testing import globalipapp\nglobalipapp.start_ipython()\nip = globalipapp.get_ipython()\n"
              f"ip.run_line_magic('load_ext', 'nbtrack')\nip.user_ns['nbtrack'] = __import__('nbtrack')\n"
              f"assert ip.run_cell({TRACKED!r}, store_history=True, cell_id='cell-7').success\n")
    env = {**os.environ, "NBTRACK_TRACKING_URI": uri, "JPY_SESSION_NAME": "/work/notebooks/train.ipynb"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120, capture_output=True)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: Any) -> Iterator[UI]:
    yield from serve_ui(tmp_path_factory, "webui-run", build)


TOKEN = "run-page-token-123456"


def build_small(uri: str) -> None:
    import nbtrack

    nbtrack.set_experiment("secured")
    with nbtrack.start_run(run_name="behind-a-token") as run:
        nbtrack.log_text(CELL, "cell/source.py")
        nbtrack.MlflowClient().artifact_repository(run.info.run_id).write_bytes("plots/red.png", PNG)
    IDS["secured"] = run.info.run_id


@pytest.fixture(scope="module")
def secured(tmp_path_factory: Any) -> Iterator[UI]:
    """A server started with --auth token: images, downloads and the cell source need the token too."""
    yield from serve_ui(tmp_path_factory, "webui-run-token", build_small, auth="token", env={"NBTRACK_TOKEN": TOKEN})


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context, page = new_page(browser, 1280, 800, timeout=30_000, http_errors=True)
    page.allowed = ()
    yield page
    errors = real_errors(page.errors, page.allowed)
    context.close()
    assert errors == [], errors


def open_run(page: Any, ui: UI, run: str = "run", query: str = "") -> None:
    page.goto(ui.page_url(f"/runs/{IDS[run]}{query}"))
    page.wait_for_selector(".nbt-rp-tabs")


def rest(ui: UI, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(f"{ui.url}/api/2.0/mlflow/{path}", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


# -- overview ------------------------------------------------------------------------------------
def test_overview_shows_the_run(ui: UI, page: Any, shot: Any) -> None:
    open_run(page, ui)
    page.wait_for_selector(".nbt-rp-cell-source")
    page.wait_for_selector(".nbt-rp-children-list")
    page.wait_for_selector(".nbt-rp-models")
    page.wait_for_selector(".nbt-rp-registered a")
    shot(page, "webui-run-overview")
    shot(page.locator(".nbt-app-main"), "webui-run-overview-full")
    assert page.inner_text(".nbt-rp-name") == "resnet-lr-0.01"
    assert page.get_attribute(".nbt-rp-head .nbt-rp-status", "data-status") == "FINISHED"
    assert page.inner_text(".nbt-rp-exp-link") == "run-page"
    about = page.inner_text(".nbt-rp-about")
    assert IDS["run"] in about and "notebooks/train.ipynb" in about and COMMIT[:12] in about and "on main" in about
    assert re.search(r"Duration\s+[\d.]+ (ms|s)", about), about
    assert page.get_attribute(".nbt-rp-commit-link", "href") == f"https://github.com/acme/vision/commit/{COMMIT}"
    params = page.inner_text(".nbt-rp-params")
    assert "lr" in params and "0.01" in params and "optimizer" in params
    metrics = page.inner_text(".nbt-rp-metrics")
    assert "loss" in metrics and "0.0333333" in metrics and "test_auc" in metrics
    assert "system/" not in metrics  # system metrics are apart, folded
    page.click(".nbt-rp-system-metrics summary")
    assert "system/cpu_utilization_percentage" in page.inner_text(".nbt-rp-system-metrics-table")
    tags = page.inner_text(".nbt-rp-user-tags")
    assert "team" in tags and "vision" in tags and "mlflow." not in tags
    page.click(".nbt-rp-system-tags summary")
    system_tags = page.inner_text(".nbt-rp-system-tags-table")
    assert "mlflow.source.git.commit" in system_tags and "mlflow.note.content" not in system_tags
    assert page.inner_text(".nbt-rp-description-text") == NOTE
    assert page.inner_text(".nbt-rp-children-list").startswith("fold-1")
    assert page.get_attribute(".nbt-rp-compare-children", "href") == f"#/compare?runs={IDS['run']}%2C{IDS['child']}"
    assert page.inner_text(".nbt-rp-cell-source").strip() == CELL.strip()
    assert "scores-train" in page.inner_text(".nbt-rp-datasets") and "training" in page.inner_text(".nbt-rp-datasets")
    assert "model" in page.inner_text(".nbt-rp-models") and "ready" in page.inner_text(".nbt-rp-models")
    assert page.inner_text(".nbt-rp-registered") == "run-page-clf version 1"
    assert page.get_attribute(".nbt-rp-registered a", "href") == "#/models/run-page-clf/versions/1"
    # the child links back to its parent
    page.click(".nbt-rp-children-list a")
    page.wait_for_selector(".nbt-rp-parent")
    assert page.inner_text(".nbt-rp-name") == "fold-1"
    page.click(".nbt-rp-parent")
    page.wait_for_function("document.querySelector('.nbt-rp-name')?.textContent === 'resnet-lr-0.01'")


def test_a_tracked_cell_shows_its_notebook_and_source(ui: UI, page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_run(page, ui, "tracked")
    page.wait_for_selector(".nbt-rp-cell-source")
    page.click(".nbt-rp-code-box .nbt-rp-copy")
    page.wait_for_function("document.querySelector('.nbt-rp-code-box .nbt-rp-copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()").strip() == TRACKED.strip()
    assert page.inner_text(".nbt-rp-name") == "tracked-cell"
    assert "/work/notebooks/train.ipynb (notebook), cell [1]" in page.inner_text(".nbt-rp-about")
    assert page.inner_text(".nbt-rp-cell-source").strip() == TRACKED.strip()  # what the cell held, magic line too
    assert "cell_loss" in page.inner_text(".nbt-rp-metrics")
    page.click(".nbt-rp-system-tags summary")
    assert "nbtrack.cell_id" in page.inner_text(".nbt-rp-system-tags-table")


def test_rename_is_saved(ui: UI, page: Any) -> None:
    open_run(page, ui, "child")
    page.click(".nbt-rp-rename")
    page.fill(".nbt-rp-rename-input", "fold-1-renamed")
    page.press(".nbt-rp-rename-input", "Enter")
    page.wait_for_function("document.querySelector('.nbt-rp-name')?.textContent === 'fold-1-renamed'")
    assert page.title().startswith("Run fold-1-renamed")
    page.reload()
    page.wait_for_selector(".nbt-rp-name")
    assert page.inner_text(".nbt-rp-name") == "fold-1-renamed"
    # an empty name is refused in place, the form stays
    page.click(".nbt-rp-rename")
    page.fill(".nbt-rp-rename-input", "  ")
    page.press(".nbt-rp-rename-input", "Enter")
    assert "cannot be empty" in page.inner_text(".nbt-rp-head-error")
    page.press(".nbt-rp-rename-input", "Escape")
    assert page.inner_text(".nbt-rp-name") == "fold-1-renamed"


def test_description_edit_is_saved(ui: UI, page: Any) -> None:
    open_run(page, ui)
    page.click(".nbt-rp-description-edit")
    assert page.input_value(".nbt-rp-description-input") == NOTE
    page.fill(".nbt-rp-description-input", "Reviewed: **good** run.\nShip it.\n\n- checked <b>x</b>")
    page.click(".nbt-rp-description-save")
    page.wait_for_selector(".nbt-rp-description-text")
    assert page.inner_text(".nbt-rp-description-text p") == "Reviewed: good run.\nShip it."
    page.reload()
    page.wait_for_selector(".nbt-rp-description-text")
    assert page.inner_text(".nbt-rp-description-text strong") == "good"  # markdown, drawn as nodes
    assert page.inner_text(".nbt-rp-description-text li") == "checked <b>x</b>"  # not as HTML
    with urllib.request.urlopen(f"{ui.url}/api/2.0/mlflow/runs/get?run_id={IDS['run']}") as r:
        tags = {t["key"]: t["value"] for t in json.loads(r.read())["run"]["data"]["tags"]}
    assert tags["mlflow.note.content"] == "Reviewed: **good** run.\nShip it.\n\n- checked <b>x</b>"


def test_tags_are_set_and_deleted(ui: UI, page: Any) -> None:
    open_run(page, ui)
    page.fill(".nbt-rp-tag-key", "reviewed")
    page.fill(".nbt-rp-tag-value-input", "yes, by ana")
    page.click(".nbt-rp-tag-add")
    page.wait_for_selector(".nbt-rp-user-tags tr[data-key='reviewed']")
    assert "yes, by ana" in page.inner_text(".nbt-rp-user-tags tr[data-key='reviewed']")
    assert page.input_value(".nbt-rp-tag-key") == ""
    page.click(".nbt-rp-user-tags tr[data-key='stage'] .nbt-rp-tag-delete")
    page.wait_for_selector(".nbt-rp-user-tags tr[data-key='stage']", state="detached")
    # ✎ puts a tag in the form: a new value replaces the old one
    page.click(".nbt-rp-user-tags tr[data-key='team'] .nbt-rp-tag-edit")
    assert page.input_value(".nbt-rp-tag-key") == "team" and page.input_value(".nbt-rp-tag-value-input") == "vision"
    page.fill(".nbt-rp-tag-value-input", "vision-2")
    page.press(".nbt-rp-tag-value-input", "Enter")
    page.wait_for_function("document.querySelector(\".nbt-rp-user-tags tr[data-key='team'] .nbt-rp-wrap\").textContent === 'vision-2'")
    page.reload()
    page.wait_for_selector(".nbt-rp-user-tags tr[data-key='reviewed']")
    assert page.query_selector(".nbt-rp-user-tags tr[data-key='stage']") is None
    assert page.inner_text(".nbt-rp-user-tags tr[data-key='team'] .nbt-rp-wrap") == "vision-2"


def test_status_is_live_while_running(ui: UI, page: Any) -> None:
    open_run(page, ui, "running")
    assert page.get_attribute(".nbt-rp-head .nbt-rp-status", "data-status") == "RUNNING"
    assert "still running" in page.inner_text(".nbt-rp-about")
    assert "No metrics logged." in page.inner_text(".nbt-rp-metrics-section")
    now = int(time.time() * 1000)
    rest(ui, "runs/log-metric", {"run_id": IDS["running"], "key": "live_loss", "value": 0.25, "timestamp": now, "step": 1})
    page.wait_for_selector(".nbt-rp-metrics tr[data-key='live_loss']", timeout=10_000)  # the poll brought it
    assert "0.25" in page.inner_text(".nbt-rp-metrics tr[data-key='live_loss']")
    rest(ui, "runs/update", {"run_id": IDS["running"], "status": "FINISHED", "end_time": int(time.time() * 1000)})
    page.wait_for_selector(".nbt-rp-head .nbt-rp-status[data-status='FINISHED']", timeout=10_000)
    page.wait_for_function("!document.querySelector('.nbt-rp-about').textContent.includes('still running')")


def test_charts_draw_keys_and_points_as_they_arrive(ui: UI, page: Any) -> None:
    run_id = IDS["live-charts"]
    open_run(page, ui, "live-charts", "?tab=charts")
    page.wait_for_selector(".nbt-rp-chart-groups .nbt-app-empty")
    assert "draws it as it arrives" in page.inner_text(".nbt-rp-chart-groups")
    now = int(time.time() * 1000)
    points = [{"key": "live", "value": 1 / (i + 1), "timestamp": now + i, "step": i} for i in range(3)]
    rest(ui, "runs/log-batch", {"run_id": run_id, "metrics": points})
    page.wait_for_selector(".nbt-chart-panel[data-key='live'] .js-plotly-plot", timeout=15_000)  # a new key: drawn
    line = "() => document.querySelector(\".nbt-chart-panel[data-key='live'] .js-plotly-plot\").data.find(t => t.meta[1] === 'line').x.length"
    page.wait_for_function(f"({line})() === 3")
    more = [{"key": "live", "value": 0.1, "timestamp": now + 10 + i, "step": 3 + i} for i in range(2)]
    rest(ui, "runs/log-batch", {"run_id": run_id, "metrics": more})
    page.wait_for_function(f"({line})() === 5", timeout=15_000)  # the chart's own live poll appended them
    rest(ui, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    page.wait_for_selector(".nbt-rp-head .nbt-rp-status[data-status='FINISHED']", timeout=10_000)


# -- tabs are deep links -------------------------------------------------------------------------
def test_tab_deep_link_survives_reload(ui: UI, page: Any) -> None:
    open_run(page, ui, query="?tab=charts")
    page.wait_for_selector(".nbt-rp-tab-charts")
    assert page.get_attribute(".nbt-rp-tab[data-tab='charts']", "aria-selected") == "true"
    page.click(".nbt-rp-tab[data-tab='artifacts']")
    page.wait_for_selector(".nbt-rp-tree-item")
    assert "tab=artifacts" in page.url
    page.reload()
    page.wait_for_selector(".nbt-rp-tree-item")
    assert page.get_attribute(".nbt-rp-tab[data-tab='artifacts']", "aria-selected") == "true"
    # arrow keys move between tabs
    page.focus(".nbt-rp-tab[data-tab='artifacts']")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(".nbt-rp-tab-charts")
    assert "tab=charts" in page.url


# -- charts --------------------------------------------------------------------------------------
def layout(page: Any, key: str, what: str) -> Any:
    return page.evaluate(f"""() => {{
        const p = document.querySelector(".nbt-chart-panel[data-key='{key}'] .js-plotly-plot");
        return p && p._fullLayout.{what};
    }}""")


def test_charts(ui: UI, page: Any, shot: Any) -> None:
    open_run(page, ui, query="?tab=charts")
    page.wait_for_selector(".nbt-rp-chart-lines .nbt-chart-panel[data-key='loss'] .js-plotly-plot")
    lines = page.eval_on_selector_all(".nbt-rp-chart-lines .nbt-chart-panel", "ps => ps.map(p => p.dataset.key)")
    assert lines == ["acc", "loss"]
    page.wait_for_selector(".nbt-rp-bar[data-key='test_auc'] .js-plotly-plot")
    bar = page.evaluate("() => document.querySelector(\".nbt-rp-bar[data-key='test_auc'] .js-plotly-plot\").data[0]")
    assert bar["type"] == "bar" and bar["y"] == [0.93]
    system = page.eval_on_selector_all(".nbt-rp-chart-system .nbt-chart-panel", "ps => ps.map(p => p.dataset.key)")
    assert system == ["system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"]
    points = page.evaluate("""() => document.querySelector(".nbt-chart-panel[data-key='loss'] .js-plotly-plot")
                              .data.find(t => t.meta[1] === 'line').x.length""")
    assert points == 30
    shot(page, "webui-run-charts")
    shot(page.locator(".nbt-app-main"), "webui-run-charts-full")
    assert layout(page, "loss", "xaxis.title.text") == "step"
    page.click(".nbt-rp-chart-lines .nbt-chart-xbutton[data-axis='relative']")
    page.wait_for_function("""() => document.querySelector(".nbt-chart-panel[data-key='loss'] .js-plotly-plot")
                              ._fullLayout.xaxis.title.text === 'time since run start (s)'""")
    assert "x=relative" in page.url
    assert layout(page, "loss", "yaxis.type") == "linear"
    page.check(".nbt-rp-chart-lines .nbt-chart-logy")
    page.wait_for_function("""() => document.querySelector(".nbt-chart-panel[data-key='loss'] .js-plotly-plot")
                              ._fullLayout.yaxis.type === 'log'""")
    assert "logy=1" in page.url
    page.reload()  # the axis and log y come back from the URL
    page.wait_for_selector(".nbt-rp-chart-lines .nbt-chart-panel[data-key='loss'] .js-plotly-plot")
    page.wait_for_function("""() => document.querySelector(".nbt-chart-panel[data-key='loss'] .js-plotly-plot")
                              ._fullLayout.yaxis.type === 'log'""")
    assert layout(page, "loss", "xaxis.title.text") == "time since run start (s)"
    # zooming fetches the detail of the visible range from the server
    with page.expect_request(lambda r: "views/metric-buckets" in r.url and "x_range" in (r.post_data or "")) as asked:
        page.evaluate("""() => {  // what a drag-zoom emits (plotly.js is not a global of the app)
            const p = document.querySelector(".nbt-chart-panel[data-key='loss'] .js-plotly-plot");
            const [a, b] = p._fullLayout.xaxis.range;
            p.emit("plotly_relayout", {"xaxis.range[0]": a, "xaxis.range[1]": a + (b - a) / 4});
        }""")
    body = json.loads(asked.value.post_data)
    assert body["keys"] == ["loss"] and body["x_axis"] == "relative" and len(body["x_range"]) == 2
    # the key filter hides panels, and a group with none left
    page.fill(".nbt-rp-chart-filter", "cpu")
    page.wait_for_selector(".nbt-chart-panel[data-key='loss']", state="detached")
    page.wait_for_selector(".nbt-chart-panel[data-key='system/cpu_utilization_percentage'] .js-plotly-plot")
    assert page.query_selector(".nbt-rp-chart-lines") is None and page.query_selector(".nbt-rp-chart-bars") is None
    assert page.inner_text(".nbt-rp-chart-count") == "1 of 5 metrics"
    assert "filter=cpu" in page.url
    page.fill(".nbt-rp-chart-filter", "no such key")
    page.wait_for_selector(".nbt-rp-chart-groups .nbt-app-empty")
    assert "No metric matches the filter" in page.inner_text(".nbt-rp-chart-groups")


# -- artifacts -----------------------------------------------------------------------------------
def select(page: Any, path: str) -> None:
    page.click(f".nbt-rp-tree-item[data-path='{path}']")
    page.wait_for_function(f"""() => document.querySelector('.nbt-rp-preview-path')?.textContent === '{path}'
                               && !document.querySelector('.nbt-rp-preview-body .nbt-app-loading')""")


def expand(page: Any, folder: str) -> None:
    page.click(f".nbt-rp-tree-item[data-path='{folder}']")
    page.wait_for_selector(f"li[aria-expanded='true'] > .nbt-rp-tree-item[data-path='{folder}']")


def test_artifact_tree_and_previews(ui: UI, page: Any, shot: Any) -> None:
    open_run(page, ui, query="?tab=artifacts")
    page.wait_for_selector(".nbt-rp-tree-item")
    top = page.eval_on_selector_all(".nbt-rp-tree > li > .nbt-rp-tree-item", "bs => bs.map(b => b.dataset.path)")
    assert top == ["cell", "config", "logs", "model", "notebooks", "notes", "plots", "tables", "report.html"]
    assert page.query_selector(".nbt-rp-tree-item[data-path='config/params.json']") is None  # lazily listed
    page.dblclick(".nbt-rp-tree-item[data-path='cell']")  # two quick clicks list the folder once
    page.wait_for_selector(".nbt-rp-tree-item[data-path='cell/source.py']")
    assert page.eval_on_selector_all(".nbt-rp-tree-item[data-path='cell/source.py']", "bs => bs.length") == 1
    expand(page, "config")
    select(page, "config/params.json")
    assert json.loads(page.inner_text(".nbt-rp-json")) == {"lr": 0.01, "layers": [64, 128]}
    assert '\n  "lr": 0.01' in page.inner_text(".nbt-rp-json")  # pretty
    select(page, "config/model.yaml")
    assert page.eval_on_selector_all(".nbt-rp-yaml-key", "ks => ks.map(k => k.textContent)") == ["model", "depth", "width"]
    expand(page, "notes")
    select(page, "notes/readme.txt")
    assert page.inner_text(".nbt-rp-text") == "hello from the run\nsecond line\n"
    expand(page, "plots")
    select(page, "plots/red.png")
    page.wait_for_function("document.querySelector('.nbt-rp-image-img').naturalWidth === 40")
    expand(page, "tables")
    select(page, "tables/scores.csv")
    assert page.eval_on_selector_all(".nbt-rp-preview-table th", "ts => ts.map(t => t.textContent)") == ["id", "score", "label"]
    assert page.eval_on_selector_all(".nbt-rp-preview-table tbody tr", "rs => rs.length") == 8
    select(page, "tables/scores.parquet")
    assert "first 100 of 250 rows" in page.inner_text(".nbt-rp-table-note")
    assert page.inner_text(".nbt-rp-preview-table tbody tr:nth-child(3)").split("\t") == ["2", "0.008", "c2"]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    select(page, "report.html")
    frame = page.frame_locator("iframe.nbt-rp-html")
    assert frame.locator("#t").inner_text() == "Report heading"  # drawn; its script was dropped (and the sandbox runs none)
    assert frame.locator("script").count() == 0
    assert page.get_attribute("iframe.nbt-rp-html", "sandbox") == ""
    assert frame.locator("#px").count() == 1 and not [u for u in asked if "pixel.png" in u]  # nothing fetched
    shot(page, "webui-run-html-preview")
    expand(page, "notebooks")
    select(page, "notebooks/train.ipynb")
    assert "Notebook · 3 cells · Python 3" in page.inner_text(".nbt-rp-notebook")
    assert page.inner_text(".nbt-rp-nb-markdown h3") == "Training" and page.inner_text(".nbt-rp-nb-markdown strong") == "first"
    assert page.eval_on_selector_all(".nbt-rp-nb-prompt", "ps => ps.map(p => p.textContent)") == ["[3]", "[4]"]
    assert page.eval_on_selector_all(".nbt-rp-nb-output", "os => os.map(o => o.textContent)") == ["hi\n", "2", "ValueError: bad"]
    page.wait_for_function("document.querySelector('.nbt-rp-nb-image').naturalWidth === 40")
    assert page.query_selector(".nbt-rp-notebook b") is None  # an HTML output shows its text form
    expand(page, "model")
    select(page, "model/MLmodel")
    inputs = page.eval_on_selector_all(".nbt-rp-signature-inputs tbody tr", "rs => rs.map(r => r.innerText.split('\\t'))")
    assert inputs == [["a", "double", "yes"], ["b", "double", "yes"], ["c", "double", "yes"]]
    assert page.inner_text(".nbt-rp-signature-outputs tbody") .split("\t")[1] == "long"
    assert "sklearn" in page.inner_text(".nbt-rp-mlmodel")
    shot(page, "webui-run-artifacts")
    expand(page, "logs")
    select(page, "logs/big.log")
    assert "Too large to preview" in page.inner_text(".nbt-rp-preview-body")
    href = page.get_attribute(".nbt-rp-download", "href")
    assert page.request.get(ui.url + href).body() == BIG_TEXT.encode()
    expand(page, "logs/deep")
    select(page, "logs/deep/inner.json")
    # arrow keys walk the tree
    page.focus(".nbt-rp-tree-item[data-path='logs/deep/inner.json']")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.dataset.path") == "logs/deep"
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("li[aria-expanded='false'] > .nbt-rp-tree-item[data-path='logs/deep']")
    page.keyboard.press("ArrowLeft")  # a closed folder's left goes to its parent
    assert page.evaluate("document.activeElement.dataset.path") == "logs"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.path") == "report.html"
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.dataset.path") == "cell"


def test_download_links_return_the_bytes(ui: UI, page: Any) -> None:
    open_run(page, ui, query="?tab=artifacts&path=plots/red.png")
    page.wait_for_selector(".nbt-rp-image-img")
    href = page.get_attribute(".nbt-rp-download", "href")
    assert page.get_attribute(".nbt-rp-download", "download") == "red.png"
    assert page.request.get(ui.url + href).body() == PNG


def test_selected_artifact_is_a_deep_link(ui: UI, page: Any) -> None:
    open_run(page, ui, query="?tab=artifacts")
    page.wait_for_selector(".nbt-rp-tree-item")
    expand(page, "logs")
    expand(page, "logs/deep")
    select(page, "logs/deep/inner.json")
    assert "path=logs%2Fdeep%2Finner.json" in page.url
    page.reload()
    page.wait_for_selector(".nbt-rp-json")
    assert json.loads(page.inner_text(".nbt-rp-json")) == {"shape": [2]}
    assert page.get_attribute(".nbt-rp-tree-item[data-path='logs/deep/inner.json']", "aria-selected") is None
    assert page.get_attribute("li:has(> .nbt-rp-tree-item[data-path='logs/deep/inner.json'])", "aria-selected") == "true"
    # a folder's link opens the folder; a path that is no artifact says so in place
    open_run(page, ui, query="?tab=artifacts&path=config")
    page.wait_for_selector("li[aria-expanded='true'] > .nbt-rp-tree-item[data-path='config']")
    assert "Select a file" in page.inner_text(".nbt-rp-preview")
    page.goto(ui.page_url(f"/runs/{IDS['run']}?tab=artifacts&path=config/nothing.txt"))
    page.reload()
    page.wait_for_selector(".nbt-rp-preview .nbt-app-error")
    assert "No artifact config/nothing.txt" in page.inner_text(".nbt-rp-preview")


def test_metric_links_open_its_chart(ui: UI, page: Any) -> None:
    open_run(page, ui)
    page.hover(".nbt-rp-metrics tr[data-key='loss']")
    page.click(".nbt-rp-metrics tr[data-key='loss'] .nbt-rp-chart-link")
    page.wait_for_selector(".nbt-chart-panel[data-key='loss'] .js-plotly-plot")
    assert "tab=charts" in page.url and "filter=loss" in page.url
    assert page.input_value(".nbt-rp-chart-filter") == "loss"
    assert page.query_selector(".nbt-chart-panel[data-key='acc']") is None
    assert page.is_visible(".nbt-chart-panel[data-key='loss']")


def test_many_metrics_draw_a_few_charts_and_the_filter_finds_the_rest(ui: UI, page: Any) -> None:
    open_run(page, ui, "wide", "?tab=charts")
    page.wait_for_selector(".nbt-rp-chart-lines .nbt-chart-panel .js-plotly-plot")
    assert page.eval_on_selector_all(".nbt-rp-chart-lines .nbt-chart-panel", "ps => ps.length") == 24
    assert "24 of 60 charts drawn" in page.inner_text(".nbt-rp-chart-capped")
    page.fill(".nbt-rp-chart-filter", "layer_59")
    page.wait_for_selector(".nbt-chart-panel[data-key='grad_norm/layer_59'] .js-plotly-plot")
    assert page.eval_on_selector_all(".nbt-rp-chart-lines .nbt-chart-panel", "ps => ps.map(p => p.dataset.key)") == ["grad_norm/layer_59"]
    assert page.query_selector(".nbt-rp-chart-capped") is None


def test_many_keys_get_a_filter_on_the_overview(ui: UI, page: Any) -> None:
    open_run(page, ui, "wide")
    page.fill(".nbt-rp-key-filter", "layer_07")
    shown = page.eval_on_selector_all(".nbt-rp-metrics tbody tr:not([hidden])", "rs => rs.map(r => r.dataset.key)")
    assert shown == ["grad_norm/layer_07"]


def test_a_deleted_run_says_so_and_can_be_restored(ui: UI, page: Any) -> None:
    rest(ui, "runs/delete", {"run_id": IDS["empty"]})
    open_run(page, ui, "empty")
    assert page.is_visible(".nbt-rp-deleted") and "This run is deleted" in page.inner_text(".nbt-rp-deleted")
    page.click(".nbt-rp-restore")
    page.wait_for_selector(".nbt-rp-deleted", state="hidden")
    with urllib.request.urlopen(f"{ui.url}/api/2.0/mlflow/runs/get?run_id={IDS['empty']}") as r:
        assert json.loads(r.read())["run"]["info"]["lifecycle_stage"] == "active"


def test_empty_run_says_what_to_do(ui: UI, page: Any) -> None:
    open_run(page, ui, "empty")
    page.wait_for_selector(".nbt-rp-children-list, .nbt-rp-children .nbt-rp-muted:not(:has-text('Looking'))")
    assert page.get_attribute(".nbt-rp-head .nbt-rp-status", "data-status") == "FAILED"
    assert "No params logged." in page.inner_text(".nbt-rp-params-section")
    assert "No metrics logged." in page.inner_text(".nbt-rp-metrics-section")
    assert "No description yet" in page.inner_text(".nbt-rp-description")
    page.click(".nbt-rp-tab[data-tab='charts']")
    page.wait_for_selector(".nbt-app-empty")
    assert "No metrics to chart" in page.inner_text(".nbt-rp-body") and "log_metric" in page.inner_text(".nbt-rp-body")
    page.click(".nbt-rp-tab[data-tab='artifacts']")
    page.wait_for_selector(".nbt-rp-tab-artifacts .nbt-app-empty")
    assert "No artifacts" in page.inner_text(".nbt-rp-body") and "log_artifact" in page.inner_text(".nbt-rp-body")


def test_dark_theme_follows_the_system(ui: UI, page: Any, shot: Any) -> None:
    page.emulate_media(color_scheme="dark")
    open_run(page, ui, query="?tab=artifacts&path=tables/scores.parquet")
    page.wait_for_selector(".nbt-rp-preview-table")
    luminance = "c => { const [r, g, b] = c.match(/\\d+/g).map(Number); return (r + g + b) / 3; }"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.querySelector('.nbt-rp-preview-table td')).color")
    assert page.evaluate(f"({luminance})('{background}')") < 60 and page.evaluate(f"({luminance})('{text}')") > 180
    shot(page, "webui-run-artifacts-dark")
    # the line charts (views/chart.ts, shared with JupyterLab) take the theme's text and grid colours too
    open_run(page, ui, query="?tab=charts")
    page.wait_for_selector(".nbt-rp-chart-lines .nbt-chart-panel[data-key='loss'] .js-plotly-plot")
    var = "v => getComputedStyle(document.documentElement).getPropertyValue(v).trim()"
    dark = (page.evaluate(var, "--jp-ui-font-color1"), page.evaluate(var, "--jp-border-color2"))
    assert dark == ("#e6edf3", "#30363d")  # style/app.css's dark theme
    assert (layout(page, "loss", "font.color"), layout(page, "loss", "yaxis.gridcolor")) == dark


def test_load_times(ui: UI, page: Any) -> None:
    """Each tab from a cold page load until its content is drawn (median of 3), kept for the notes."""
    ready = {
        "overview": ("", ".nbt-rp-cell-source"),
        "charts": ("?tab=charts", ".nbt-rp-chart-system .js-plotly-plot"),
        "artifacts (parquet preview)": ("?tab=artifacts&path=tables/scores.parquet", ".nbt-rp-preview-table"),
        "artifacts (MLmodel)": ("?tab=artifacts&path=model/MLmodel", ".nbt-rp-signature-inputs"),
    }
    out: dict[str, float] = {}
    for name, (query, selector) in ready.items():
        times = []
        for _ in range(3):
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(ui.page_url(f"/runs/{IDS['run']}{query}"))
            page.wait_for_selector(selector)
            times.append(time.perf_counter() - started)
        out[name] = round(sorted(times)[1] * 1000)
    (REPO / "test-artifacts" / "browser").mkdir(parents=True, exist_ok=True)
    (REPO / "test-artifacts" / "browser" / "webui-run-timing.json").write_text(json.dumps(out, indent=1) + "\n")
    print("run page load (ms, median of 3):", out)
    assert all(ms < 5000 for ms in out.values()), out


def test_artifacts_behind_a_token(secured: UI, page: Any) -> None:
    page.add_init_script(f"sessionStorage.setItem('nbtrack.token', {TOKEN!r})")  # as the sign-in leaves it
    page.goto(secured.page_url(f"/runs/{IDS['secured']}"))
    page.wait_for_selector(".nbt-rp-cell-source")
    assert page.inner_text(".nbt-rp-cell-source").strip() == CELL.strip()
    page.goto(secured.page_url(f"/runs/{IDS['secured']}?tab=artifacts&path=plots/red.png"))
    page.wait_for_function("document.querySelector('.nbt-rp-image-img')?.naturalWidth === 40")
    assert page.get_attribute(".nbt-rp-image-img", "src").startswith("blob:")
    assert page.request.get(secured.url + page.get_attribute(".nbt-rp-download", "href")).status == 401  # a plain link would fail
    with page.expect_download() as download:
        page.click(".nbt-rp-download")
    assert download.value.suggested_filename == "red.png"
    assert open(download.value.path(), "rb").read() == PNG


def test_a_missing_run_says_so_in_place(ui: UI, browser: Any) -> None:
    context, page = new_page(browser, 1280, 800, timeout=30_000)
    page.goto(ui.page_url("/runs/" + "0" * 32))
    page.wait_for_selector(".nbt-app-error")
    assert "0" * 32 in page.inner_text(".nbt-app-page")
    assert page.query_selector("a[href='#/experiments']") is not None
    # the browser logs the 404 answer itself; the page adds nothing else
    assert [e for e in real_errors(page.errors) if "404" not in e] == []
    context.close()


def test_screenshots_for_the_readme(ui: UI) -> None:
    """The README's pictures are copies of what the tests above took."""
    shots = REPO / "test-artifacts" / "browser"
    for name in ("webui-run-overview", "webui-run-artifacts"):
        assert (shots / f"{name}.png").stat().st_size > 10_000
