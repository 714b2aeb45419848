"""A model's pip requirements: inferred from what loading it imports, and edited in place.

``infer_pip_requirements`` loads the model in a fresh Python (so nothing this process imported
counts), scores its input example when it has one, and maps every module that was imported to
the installed distribution that provides it, as MLflow does; distributions that another one on
the list already requires are dropped, and the rest are pinned to the installed versions.
``update_model_requirements`` adds or removes requirements in ``requirements.txt`` and the pip
section of ``conda.yaml`` of a model folder.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["infer_pip_requirements", "update_model_requirements"]

_log = logging.getLogger(__name__)
# setuptools is imported by packages to read metadata; nbtrack (and mlflow) load the model, so neither
# is a requirement of the model itself (the saved files pin nbtrack separately)
_NOT_REQUIREMENTS = {"setuptools", "pip", "wheel", "nbtrack", "mlflow", "mlflow-skinny"}

_CAPTURE = """
import json, os, sys
# nbtrack's own machinery (reading MLmodel, examples, payloads) is not the model's: import it first
import yaml
from nbtrack.models import example, payload, python_model, pyfunc
from nbtrack.models.model import Model
from nbtrack.models.pyfunc import load_model
Model.load(os.path.join(sys.argv[1], "MLmodel"))
before = set(sys.modules)
after_loader = before
model = load_model(sys.argv[1])
example = None
try:
    from nbtrack.models.example import load_input_example
    example = load_input_example(model.metadata, sys.argv[1])
except Exception:
    pass
if example is not None:
    try:
        model.predict(example)
    except Exception:
        pass
print("MODULES" + json.dumps(sorted({m.split(".")[0] for m in set(sys.modules) - (after_loader - before)})))
"""


def infer_pip_requirements(model_uri: Any, flavor: Any, fallback: list[str] | None = None, timeout: Any = None,
                           extra_env_vars: dict[str, str] | None = None, uv_project_dir: Any = None,
                           uv_groups: Any = None, uv_extras: Any = None) -> list[str]:
    """The pinned pip requirements of the model at ``model_uri`` (``["scikit-learn==1.5.0", ...]``),
    found by loading it in a subprocess and listing the packages that imported.

    ``flavor`` is accepted as in MLflow (the model is loaded through its ``python_function``
    flavor). With ``fallback``, a failure returns ``fallback`` (with a warning) instead of raising.
    ``timeout`` bounds the subprocess in seconds. ``uv_project_dir`` / ``uv_groups`` /
    ``uv_extras`` (MLflow's ``uv export`` of a project) are not supported and raise.
    """
    if any(v is not None for v in (uv_project_dir, uv_groups, uv_extras)):
        raise InvalidParameter("Exporting requirements from a uv project (uv_project_dir, uv_groups, uv_extras) is "
                               "not supported by nbtrack; leave them out to infer the requirements from the model.")
    try:
        return _infer(model_uri, timeout, extra_env_vars)
    except Exception as e:  # any failure becomes the fallback, as MLflow's contract says
        if fallback is None:
            raise
        _log.warning("Encountered an unexpected error while inferring pip requirements (model URI: %s, flavor: %s), "
                     "fall back to return %s: %s", model_uri, flavor, fallback, e)
        return fallback


def _infer(model_uri: Any, timeout: Any, extra_env_vars: dict[str, str] | None) -> list[str]:
    from nbtrack.models.uri import resolve_model_uri

    local = resolve_model_uri(model_uri)
    env = {**os.environ, **(extra_env_vars or {})}
    try:
        done = subprocess.run([sys.executable, "-c", _CAPTURE, local], capture_output=True, text=True, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NbtrackError(f"Inferring the requirements of {model_uri} took longer than {timeout} s.") from None
    line = next((x for x in done.stdout.splitlines() if x.startswith("MODULES")), None)
    if done.returncode != 0 or line is None:
        raise NbtrackError(f"Could not load {model_uri} to infer its requirements: {done.stderr.strip()[-1500:]}")
    return requirements_of_modules(json.loads(line[len("MODULES"):]))


def requirements_of_modules(modules: list[str]) -> list[str]:
    """Pinned requirements of the distributions providing ``modules``, minus those another requires."""
    from importlib.metadata import packages_distributions

    from nbtrack.models.environment import pinned

    provided = packages_distributions()
    names = {_norm(d) for m in modules if m not in sys.stdlib_module_names for d in provided.get(m, [])}
    names -= _NOT_REQUIREMENTS
    needed = {dep for n in names for dep in _requires(n)}
    return sorted(pinned(n) for n in names - needed)


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _requires(dist: str) -> set[str]:
    """Every distribution ``dist`` requires, directly or not (extras and markers aside)."""
    from importlib.metadata import PackageNotFoundError, requires

    seen: set[str] = set()
    todo = [dist]
    while todo:
        try:
            reqs = requires(todo.pop()) or []
        except PackageNotFoundError:
            continue
        for req in reqs:
            if "extra ==" in req:
                continue
            name = _norm(_name_of(req))
            if name and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def _name_of(req: str) -> str:
    import re

    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return m.group(1) if m else ""


# -- update_model_requirements --------------------------------------------------------------
def update_model_requirements(model_uri: str, operation: str, requirement_list: list[str]) -> None:
    """Add (``operation="add"``: a new pin of a listed package replaces the old one) or remove
    (``"remove"``: by package name, versions ignored) requirements of a logged or saved model,
    in its ``requirements.txt`` and ``conda.yaml``, as MLflow does. Registered versions
    (``models:/<name>/<version>``) are read-only and refused. A model logged with ``log_model``
    has its files in the run and in the logged model; both copies are updated.
    """
    if operation not in ("add", "remove"):
        raise InvalidParameter(f"operation must be 'add' or 'remove', got {operation!r}.")
    if isinstance(requirement_list, str) or not all(isinstance(r, str) for r in requirement_list or []):
        raise InvalidParameter("requirement_list must be a list of requirement strings, e.g. ['numpy==1.26.4'].")
    wanted = [_parse(r) for r in requirement_list]
    for folder in _model_folders(model_uri):
        _update_requirements_txt(os.path.join(folder, "requirements.txt"), operation, wanted)
        _update_conda(os.path.join(folder, "conda.yaml"), operation, wanted)


def _parse(text: str) -> tuple[str, str]:
    """(normalized name, requirement text) of one requirement, lower-cased as MLflow writes it."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # packaging is nearly always there; the name pattern is the fallback
        name = _name_of(text)
        if not name:
            raise InvalidParameter(f"Found invalid requirements: {text!r}") from None
        return _norm(name), text.strip().lower()
    try:
        req = Requirement(text.strip().lower())
    except InvalidRequirement as e:
        raise InvalidParameter(f"Found invalid requirements: {{{text!r}: {e}}}") from None
    return _norm(req.name), str(req)


def _edit(lines: list[str], operation: str, wanted: list[tuple[str, str]]) -> list[str]:
    names = {n for n, _ in wanted}
    kept, replaced = [], set()
    for line in lines:
        name = _norm(_name_of(line)) if not line.lstrip().startswith("-") else None
        if name in names:
            if operation == "add" and name not in replaced:
                kept.append(next(t for n, t in wanted if n == name))
                replaced.add(name)
            continue
        kept.append(line)
    if operation == "add":
        kept += [t for n, t in wanted if n not in replaced]
    return kept


def _update_requirements_txt(path: str, operation: str, wanted: list[tuple[str, str]]) -> None:
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as f:
        lines = [x.strip() for x in f.read().splitlines() if x.strip()]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(_edit(lines, operation, wanted)))


def _update_conda(path: str, operation: str, wanted: list[tuple[str, str]]) -> None:
    if not os.path.isfile(path):
        return
    import yaml

    with open(path, encoding="utf-8") as f:
        spec = yaml.safe_load(f) or {}
    deps = spec.get("dependencies") or []
    for dep in deps:
        if isinstance(dep, dict) and "pip" in dep:
            dep["pip"] = _edit([str(x) for x in dep["pip"]], operation, wanted)
            break
    else:
        deps.append({"pip": _edit([], operation, wanted)})
    spec["dependencies"] = deps
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(spec, f, default_flow_style=False)


def _model_folders(model_uri: str) -> list[str]:
    """The folders holding the model's files, to edit in place (both copies of a logged model)."""
    from urllib.parse import urlparse

    scheme = urlparse(str(model_uri)).scheme.lower()
    if scheme in ("", "file"):
        from nbtrack.models.uri import resolve_model_uri

        return [resolve_model_uri(model_uri)]
    from nbtrack.tracking.client import Client
    from nbtrack.tracking.logged_models import logged_model_id

    client = Client()
    if scheme == "models":
        model_id = logged_model_id(model_uri)
        if model_id is None:
            raise InvalidParameter(f'Failed to set requirements on "{model_uri}". Model URIs with the `models:/` '
                                   "scheme are not supported (registered versions are read-only).")
        model = client.get_logged_model(model_id)
        run_id, name = model.source_run_id, model.name
    elif scheme == "runs":
        from nbtrack.tracking.artifacts import parse_runs_uri

        run_id, name = parse_runs_uri(model_uri)
        model = None
        logged = getattr(client.store, "logged_models", None)
        if logged is not None and name:
            model = logged.by_run(run_id, name)
    else:
        raise InvalidParameter(f"Cannot update the requirements of {model_uri}: pass a local path, a runs:/ URI "
                               "or a models:/<model_id> URI.")
    from nbtrack.store.artifacts import local_path_of

    folders = []
    if model is not None:
        folders.append(local_path_of(model.artifact_location))
    root = getattr(client.artifact_repository(run_id), "root", None) if run_id and name else None  # None: a server's
    if root is not None and name:
        run_copy = os.path.join(root, *name.split("/"))
        if os.path.isfile(os.path.join(run_copy, "MLmodel")):
            folders.append(run_copy)
    if not folders:
        raise NbtrackError(f"No model files found for {model_uri}.", error_code="NOT_FOUND")
    return folders
