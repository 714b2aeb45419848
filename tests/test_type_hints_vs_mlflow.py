"""Signatures from ``predict`` type hints, differential against the real MLflow.

``tests/procs/type_hint_cases.py`` runs the same custom models (``list[str]``, ``list[int]``,
``list[dict[str, str]]``, nested lists, pydantic models, ``Any``, unions, ``Optional``, bare
``list``, non-list hints, DataFrame hints, dataclass elements, output hints that do not match,
params, ``TypeFromExample``, a plain function) once on MLflow and once on nbtrack, each in its
own process. For every case the class definition (accepted or refused), the call before
saving, the MLmodel signature with its type-hint flags, the stored input example and what
``predict`` received for every input after loading must be the same; where MLflow refuses an
input nbtrack must refuse it too (the error classes differ by design: NbtrackError subclasses).
MLflow then loads the models nbtrack saved and must predict the same.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from procenv import python_env

for _module in ("mlflow", "pydantic"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f"{_module} is not installed (pip install 'nbtrack[bench]')", allow_module_level=True)

SCRIPT = Path(__file__).parent / "procs" / "type_hint_cases.py"


def _case_names() -> list[str]:
    import ast

    tree = ast.parse(SCRIPT.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CASES":
            return [k.value for k in node.value.keys]  # type: ignore[union-attr]
    raise AssertionError("CASES not found")


def _run(lib: str, out: Path, *extra: str) -> dict:
    out.mkdir()
    done = subprocess.run([sys.executable, str(SCRIPT), lib, str(out), *extra], capture_output=True, text=True,
                          timeout=240, env=python_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[dict, dict, dict]:
    """MLflow's results, nbtrack's, and MLflow loading the models nbtrack saved."""
    base = tmp_path_factory.mktemp("type_hints")
    nbtrack_side = _run("nbtrack", base / "nbtrack")
    mlflow_side = _run("mlflow", base / "mlflow", "--load", str(base / "nbtrack"))
    return mlflow_side, nbtrack_side, {"loaded": mlflow_side.pop("loaded_from_other")}


def _normalised(case: dict) -> dict:
    """Errors compare by "was refused", not by class name."""
    def norm(value):
        if isinstance(value, dict) and set(value) == {"error"}:
            return "refused"
        if isinstance(value, list):
            return [norm(v) for v in value]
        return value

    out = {k: norm(v) for k, v in case.items()}
    if "class_error" in out:
        out["class_error"] = "refused"
    return out


@pytest.mark.parametrize("name", _case_names())
def test_same_signature_and_converted_inputs_as_mlflow(results, name):
    mlflow_side, nbtrack_side = (_normalised(r["cases"][name]) for r in results[:2])
    assert nbtrack_side == mlflow_side


def test_mlflow_loads_the_hinted_models_nbtrack_saved_and_predicts_the_same(results):
    saved = {name: case["loaded"] for name, case in results[1]["cases"].items() if "loaded" in case}
    assert set(results[2]["loaded"]) == set(saved)
    assert _normalised(results[2]["loaded"]) == _normalised(saved)


def test_the_cases_exercise_what_they_claim(results):
    cases = results[1]["cases"]
    assert cases["pydantic"]["flags"] == [True, False]
    assert "object" in cases["pydantic"]["signature"]["inputs"]
    received = cases["pydantic"]["loaded"][0]["ok"][0]
    assert received[0] == "list" and received[1][0][0] == "Person"  # a dict became the pydantic model
    assert cases["list_str"]["loaded"][1]["ok"][0] == ["list", [["str", "p"], ["str", "q"]]]  # DataFrame -> list
    assert set(cases["list_str"]["loaded"][3]) == {"error"}  # [1, 2] is not list[str]
    assert cases["bare_list"] == {"class_error": "InvalidTypeHint"}
    assert cases["not_a_list"]["flags"] == [False, False]  # fell back to the input example
    assert cases["type_from_example"]["flags"] == [False, True]
    assert '"any"' in cases["output_mismatch"]["signature"]["outputs"]


def test_dataclass_signatures_match_mlflow(results):
    assert results[1]["dataclass_signatures"] == results[0]["dataclass_signatures"]
