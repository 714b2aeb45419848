"""JupyterLab drawing nbtrack's views with the extension as the built wheel installs it.

The wheel (``pip wheel .``, no npm: the build is up to date) is installed alone into a fresh prefix,
and JupyterLab is started with that prefix first on ``JUPYTER_PATH``, so the labextension it loads
is the wheel's copy (Jupyter takes the first of two extensions of one name). The page opens a
notebook whose outputs a kernel saved earlier (nothing is re-run): the views draw from their saved
data, the side panel lists the store's runs, and nothing logs an error.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.lab import missing, new_page, run_python_with_nbtrack, start_lab
from tests.test_wheel_extension import BIN, LAB, _copy_project, _env, _section, _wheel

pytestmark = pytest.mark.browser
MIME = "application/vnd.nbtrack.view+json"


def saved_notebook(store: Path) -> dict[str, Any]:
    """A notebook with a run table and a metric chart as a kernel saved them (their bundles)."""
    out = store.parent / "bundles.json"
    run_python_with_nbtrack(str(store), f"""
        import json
        nbtrack.set_experiment("wheel")
        ids = []
        for i in range(3):
            with nbtrack.start_run(run_name=f"w-{{i}}") as run:
                nbtrack.log_param("lr", 0.1 * (i + 1))
                for step in range(20):
                    nbtrack.log_metric("loss", 1 / (step + 1 + i), step=step)
            ids.append(run.info.run_id)
        nbtrack.flush()
        views = [nbtrack.runs_table("wheel"), nbtrack.metric_chart(ids, "loss")]
        json.dump([v._repr_mimebundle_() for v in views], open({str(out)!r}, "w"))
        """)
    cells = [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": i + 1,
              "source": src, "outputs": [{"output_type": "display_data", "metadata": {}, "data": bundle}]}
             for i, (src, bundle) in enumerate(zip(['nbtrack.runs_table("wheel")', 'nbtrack.metric_chart(ids, "loss")'],
                                                   json.loads(out.read_text()), strict=True))]
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}


@pytest.fixture(scope="module")
def wheel_prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = missing()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("wheel")
    src, out, prefix = tmp / "src", tmp / "dist", tmp / "prefix"
    _copy_project(src)
    (tmp / "bin").mkdir()
    env = _env(tmp)
    built = _wheel(src, out, env)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    (wheel,) = out.glob("nbtrack-*.whl")
    # a venv of its own: `pip install --prefix` would first uninstall the nbtrack this test runs on
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=120)
    installed = subprocess.run([str(BIN / "pip"), "--python", str(prefix / "bin" / "python"), "install", "--no-deps",
                                "-q", str(wheel)], capture_output=True, text=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert (prefix / LAB / "package.json").is_file()
    # a file only this copy has: the lab serving it proves the wheel's copy is the one loaded, not
    # the development build linked into the venv the tests run in
    (prefix / LAB / "static" / "from-the-wheel.txt").write_text("wheel")
    return prefix


@pytest.fixture(scope="module")
def page(wheel_prefix: Path, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("lab-wheel")
    root = base / "root"
    root.mkdir()
    (root / "saved.ipynb").write_text(json.dumps(saved_notebook(root / ".nbtrack")))
    data = str(wheel_prefix / "share" / "jupyter")
    listing = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True,
                             env={**_env(base), "JUPYTER_PATH": data}, timeout=120)
    text = listing.stdout + listing.stderr
    assert re.search(r"nbtrack-labextension v[\d.]+ enabled\s+OK", _section(text, f"{data}/labextensions")), text
    with start_lab(base, env_extra={"JUPYTER_PATH": data}) as lab:
        context, page = new_page(browser, 1300, 1000)
        page.lab = lab
        page.goto(lab.page_url("saved.ipynb"))
        yield page
        context.close()


def test_the_extension_jupyterlab_serves_is_the_wheels(page: Any) -> None:
    import urllib.error
    import urllib.request

    def served(name: str) -> tuple[int, str]:
        url = f"{page.lab.url}/lab/extensions/nbtrack-labextension/static/{name}?token={page.lab.token}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""

    assert served("from-the-wheel.txt") == (200, "wheel")
    assert served("not-there.txt")[0] == 404  # what the development copy answers for that file


def test_the_saved_views_draw_with_the_wheels_extension(page: Any, shot: Any) -> None:
    page.wait_for_function("""() => document.querySelectorAll('.nbt-view .nbt-table tbody tr').length >= 3
        && [...document.querySelectorAll('.nbt-view .js-plotly-plot')].some(g => g.data && g.data.length)""")
    rows = page.locator(".nbt-view .nbt-table").first.locator("tbody tr").all_inner_texts()
    assert sorted(name for name in ("w-0", "w-1", "w-2") if any(name in row for row in rows)) == ["w-0", "w-1", "w-2"]
    body = page.inner_text("body")
    assert "Error displaying" not in body and "No renderer" not in body
    shot(page, "wheel-saved-views")


def test_the_side_panel_is_there_and_lists_the_runs(page: Any) -> None:
    page.locator('.jp-SideBar li[data-id="nbtrack-panel"]').click()
    page.wait_for_function("() => document.querySelectorAll('#nbtrack-panel .nbt-run').length === 3")


def test_no_console_errors(page: Any) -> None:
    real = [e for e in page.errors if "GL Driver" not in e and "favicon" not in e]  # type: ignore[attr-defined]
    assert not real, real
