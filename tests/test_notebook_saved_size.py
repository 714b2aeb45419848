"""The dashboards notebook executed headless as `jupyter nbconvert --execute` does (nbclient with
``store_widget_state`` on) saves data, not JavaScript, and stays under 1 MB; its HTML export shows
the static copies, with no widget placeholder waiting for a CDN.

``notebooks/dashboards.ipynb`` logs 48 runs x 3 metrics x 300 steps and a 200,000-point history
(more than the 50 x 3 x 100 the size target names) and shows a run table, two metric charts,
parallel coordinates, a compare and a dashboard.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
import nbformat  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MIME = "application/vnd.nbtrack.view+json"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("saved")
    shutil.copy(REPO / "notebooks" / "dashboards.ipynb", folder / "dashboards.ipynb")
    nb = nbformat.read(folder / "dashboards.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                                     resources={"metadata": {"path": str(folder)}})
    with pytest.MonkeyPatch.context() as mp:  # the kernel inherits this environment: the store beside it
        for name in [k for k in os.environ if k.startswith(("NBTRACK_", "MLFLOW_"))]:
            mp.delenv(name)
        client.execute()
    out = folder / "executed.ipynb"
    nbformat.write(nb, out)
    return out


def test_the_executed_notebook_carries_view_data_and_stays_under_1_mb(executed: Path) -> None:
    size = executed.stat().st_size
    print(f"dashboards notebook executed with widget state stored: {size:,} bytes")
    assert size < 1_000_000, size
    nb = json.loads(executed.read_text())
    views = [o["data"][MIME]["view"] for c in nb["cells"] if c["cell_type"] == "code"
             for o in c.get("outputs", []) if MIME in o.get("data", {})]
    assert {"runs_table", "metric_chart", "parallel_coordinates", "compare", "dashboard"} <= set(views), views
    text = executed.read_text()
    assert "_esm" not in text and "plotly.min.js" not in text  # no JavaScript in the saved state
    widgets = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert len(json.dumps(widgets)) < 50_000  # the widget state stored is (nearly) empty


def test_its_html_export_shows_the_static_copies(executed: Path) -> None:
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_filename(str(executed))
    assert html.count("data:image/svg+xml") >= 6  # the charts and parallel coordinates, as images
    assert "nbtrack dashboard" in html and "<table" in html
    assert "application/vnd.jupyter.widget-view+json" not in html
    assert "Loading widget" not in html
