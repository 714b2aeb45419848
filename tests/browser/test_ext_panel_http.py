"""The side panel and an inline view on a team's tracking server: JupyterLab started with
``MLFLOW_TRACKING_URI=http://...`` (a real ``nbtrack server`` on 127.0.0.1), no kernel running.

The Jupyter server extension forwards the panel's reads to the tracking server; the page never
talks to it directly. A run logged over HTTP by another process shows up live.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import (
    errors_but_one_bad_filter,
    missing,
    new_page,
    run_python_with_nbtrack,
    start_lab,
)
from tests.server_fixtures import nbtrack_server

pytestmark = pytest.mark.browser

PANEL = "#nbtrack-panel"
REPO = Path(__file__).resolve().parents[2]


def log_over_http(url: str, script: str, wait: bool = True) -> subprocess.Popen[bytes]:
    """Run ``script`` in another Python process logging to the tracking server at ``url``."""
    return run_python_with_nbtrack(url, script, wait)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    with nbtrack_server(tmp_path_factory.mktemp("team") / "store") as url:
        log_over_http(url, """
            nbtrack.set_experiment("team-sweep")
            for name, lr in [("http-a", 0.1), ("http-b", 0.01)]:
                with nbtrack.start_run(run_name=name):
                    nbtrack.log_param("lr", lr)
                    for step, v in enumerate([1.0, 0.6, 0.3]):
                        nbtrack.log_metric("loss", v * lr * 10, step=step)
            """)
        yield url


@pytest.fixture(scope="module")
def page(server: str, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("lab-http")
    root = base / "root"
    root.mkdir()
    # a view saved by a kernel that read the same server: it refreshes through the server extension
    (root / "team.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"id": "t-1", "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": "import nbtrack"}]}))
    with start_lab(base, env_extra={"MLFLOW_TRACKING_URI": server}) as lab:
        context, page = new_page(browser, 1400, 1000, 30_000, http_errors=True)
        direct: list[str] = []
        page.on("request", lambda r: direct.append(r.url) if r.url.startswith(server) else None)
        page.direct = direct  # type: ignore[attr-defined]
        # the notebook opens with no kernel: the panel needs none
        page.goto(lab.page_url("team.ipynb"))
        page.wait_for_selector(".jp-NotebookPanel")
        page.locator('.jp-SideBar li[data-id="nbtrack-panel"]').click()
        page.wait_for_selector(f"{PANEL} .nbt-run")
        yield page
        context.close()


def run_names(page: Any) -> list[str]:
    return page.locator(f"{PANEL} .nbt-run .nbt-run-name").all_inner_texts()


def test_the_panel_lists_the_servers_runs(page: Any, server: str) -> None:
    assert server in page.inner_text(f"{PANEL} .nbt-panel-store")
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 2")
    assert run_names(page) == ["http-b", "http-a"]


def test_a_run_card_reads_params_and_metrics_through_the_server(page: Any, shot: Any) -> None:
    page.locator(f'{PANEL} .nbt-run:has-text("http-a")').click()
    card = page.locator(f"{PANEL} .nbt-panel-run")
    card.wait_for()
    params = dict(zip(card.locator(".nbt-panel-params .nbt-k").all_inner_texts(),
                      card.locator(".nbt-panel-params .nbt-v").all_inner_texts(), strict=True))
    assert params == {"lr": "0.1"}
    loss = card.locator('.nbt-panel-metrics tr[data-key="loss"]')
    assert loss.locator(".nbt-spark").get_attribute("data-points") == "3"
    assert (loss.locator(".nbt-spark-min").inner_text(), loss.locator(".nbt-spark-max").inner_text()) == ("0.3", "1")
    shot(page.locator(PANEL), "side_panel_http")


def test_a_run_logged_over_http_elsewhere_appears_live(page: Any, server: str) -> None:
    writer = log_over_http(server, """
        nbtrack.set_experiment("team-sweep")
        with nbtrack.start_run(run_name="http-live"):
            nbtrack.log_metric("loss", 0.1)
        """, wait=False)
    try:
        assert writer.wait(timeout=120) == 0
        page.locator(f'{PANEL} .nbt-run:has-text("http-live")').wait_for(timeout=15_000)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert run_names(page)[0] == "http-live"


def test_a_bad_filter_is_the_servers_error_shown_in_place(page: Any) -> None:
    box = page.locator(f"{PANEL} .nbt-panel-filter")
    box.fill("params.lr = '0.01'")
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 1")
    assert run_names(page) == ["http-b"]
    box.fill("metrics.loss >>> 1")
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelector('{PANEL} .nbt-panel-filter-error')"
                           f" && document.querySelector('{PANEL} .nbt-panel-filter-error').textContent.length > 0")
    assert run_names(page) == ["http-b"]
    box.fill("")
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL} .nbt-run').length === 3")


def test_past_200_runs_the_panel_says_it_lists_the_newest(page: Any, server: str) -> None:
    log_over_http(server, """
        nbtrack.set_experiment("big-sweep")
        client = nbtrack.MlflowClient()
        exp = client.get_experiment_by_name("big-sweep").experiment_id
        for i in range(200):
            client.set_terminated(client.create_run(exp, run_name=f"many-{i}").info.run_id)
        """)
    # a poll while the sweep was still being written may list 200 with older runs among them: wait for the last
    page.wait_for_function(f"""() => {{ const names = [...document.querySelectorAll('{PANEL} .nbt-run .nbt-run-name')]
        .map(e => e.textContent); return names.length === 200 && names.every(n => n.startsWith('many-')); }}""",
                           timeout=30_000)
    note = page.locator(f"{PANEL} .nbt-panel-message")
    note.wait_for()
    assert "newest 200 runs" in note.inner_text()
    # the newest 200: every run of the sweep (created within milliseconds: their order among
    # themselves is a tie), none of the three older runs
    assert sorted(run_names(page)) == sorted(f"many-{i}" for i in range(200))


def test_the_page_never_talks_to_the_tracking_server_and_logs_no_errors(page: Any) -> None:
    assert page.direct == []  # type: ignore[attr-defined]
    real = errors_but_one_bad_filter(page.errors)  # type: ignore[attr-defined]  # the server's 400, forwarded
    assert not real, real
