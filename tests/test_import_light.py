"""``import nbtrack`` stays light: no duckdb, pandas, plotly, IPython or ML framework."""

from __future__ import annotations

import subprocess
import sys

from procenv import python_env

HEAVY = ("duckdb", "pandas", "pyarrow", "numpy", "plotly", "ipywidgets", "IPython", "sklearn", "torch",
         "xgboost", "lightgbm", "matplotlib", "psutil", "pydantic", "psycopg", "psycopg_pool", "boto3")


def test_import_nbtrack_loads_nothing_heavy():
    code = f"import sys, nbtrack; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(),
                         check=True)
    assert out.stdout.strip() == ""


def test_import_time_lists_no_heavy_module():
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import nbtrack"], capture_output=True,
                         text=True, env=python_env(), check=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not imported & set(HEAVY)


def test_mlflow_style_submodules_resolve_lazily():
    code = ("import sys, nbtrack\n"
            "from nbtrack.tracking import MlflowClient\n"
            "from nbtrack.entities import Metric, Param, RunTag, ViewType\n"
            "from nbtrack.exceptions import MlflowException\n"
            "assert nbtrack.data.from_pandas and nbtrack.artifacts.download_artifacts\n"
            "assert 'duckdb' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], env=python_env(), check=True)
