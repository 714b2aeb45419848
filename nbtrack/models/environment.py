"""Environment capture: ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``.

Each flavor names the packages its model needs to load (scikit-learn, numpy, cloudpickle,
...); they are pinned to the versions installed *now*, read from package metadata, so the
files describe the environment the model was trained in. ``pip_requirements`` replaces
that list and ``extra_pip_requirements`` adds to it, both as in MLflow (a list of
requirement strings or the path of a requirements file; ``-c file`` lines become
``constraints.txt``). The files have MLflow's layout, so ``mlflow models serve
--env-manager virtualenv`` can rebuild the environment. Like MLflow, which always adds
``mlflow==x.y.z``, every list gets ``nbtrack==x.y.z`` (the version that can load the model)
unless it already names nbtrack.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable
from typing import Any

from nbtrack.errors import InvalidParameter

REQUIREMENTS_FILE = "requirements.txt"
CONSTRAINTS_FILE = "constraints.txt"
CONDA_FILE = "conda.yaml"
PYTHON_ENV_FILE = "python_env.yaml"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def installed_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def pinned(package: str) -> str:
    """``package==<installed version>`` (local labels like ``+cpu`` dropped), or the bare name."""
    v = installed_version(package)
    return f"{package}=={v.split('+')[0]}" if v else package


def nbtrack_pin() -> str:
    """``nbtrack==<this version>``: the loader every saved model needs, pinned like MLflow pins itself."""
    from nbtrack.models.model import _nbtrack_version

    return f"nbtrack=={(installed_version('nbtrack') or _nbtrack_version()).split('+')[0]}"


def _requirement_name(req: str) -> str | None:
    m = _NAME.match(req)
    return m.group(1).lower().replace("_", "-") if m and not req.lstrip().startswith("-") else None


def _parse(reqs: str | Iterable[str]) -> tuple[list[str], list[str]]:
    """Split requirement strings (or a requirements file path) into (requirements, constraints)."""
    if isinstance(reqs, (str, os.PathLike)):
        path = os.fspath(reqs)
        if not os.path.isfile(path):
            raise InvalidParameter(
                f"pip requirements file '{path}' does not exist. Pass a list of requirement "
                "strings, e.g. ['scikit-learn==1.5.0'], or the path of an existing file."
            )
        with open(path) as f:
            base = os.path.dirname(os.path.abspath(path))
            return _parse_lines(f.read().splitlines(), base)
    if not isinstance(reqs, Iterable) or not all(isinstance(r, str) for r in reqs):
        raise InvalidParameter(
            "`pip_requirements` must be a path to a requirements file or a list of requirement "
            f"strings, but got `{type(reqs).__name__}`"
        )
    return _parse_lines(list(reqs), os.getcwd())


def _parse_lines(lines: list[str], base: str) -> tuple[list[str], list[str]]:
    reqs: list[str] = []
    constraints: list[str] = []
    for raw in lines:
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            nested = os.path.join(base, line.split(maxsplit=1)[1])
            more, more_c = _parse(nested)
            reqs += more
            constraints += more_c
        elif line.startswith(("-c ", "--constraint ")):
            with open(os.path.join(base, line.split(maxsplit=1)[1])) as f:
                constraints += [c.strip() for c in f.read().splitlines() if c.strip() and not c.startswith("#")]
        else:
            reqs.append(line)
    return reqs, constraints


def _dedupe(reqs: list[str]) -> list[str]:
    """Keep the first mention of each package, preferring one that carries a version."""
    out: dict[str, str] = {}
    for req in reqs:
        key = _requirement_name(req) or req
        if key not in out or ("=" not in out[key] and "<" not in out[key] and ">" not in out[key]):
            out[key] = req
    return list(out.values())


def resolve_requirements(
    default: list[str],
    pip_requirements: str | Iterable[str] | None = None,
    extra_pip_requirements: str | Iterable[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
) -> tuple[list[str], list[str], dict[str, Any]]:
    """Return ``(requirements, constraints, conda_env)`` following MLflow's precedence."""
    given = [x is not None for x in (pip_requirements, extra_pip_requirements, conda_env)]
    if sum(given) > 1:
        raise InvalidParameter(
            "Only one of `conda_env`, `pip_requirements`, and `extra_pip_requirements` can be "
            "specified at the same time"
        )
    constraints: list[str] = []
    if conda_env is not None:
        env = _load_conda(conda_env)
        pip: list[str] = next((d["pip"] for d in env.get("dependencies", []) if isinstance(d, dict) and "pip" in d), [])
        reqs, constraints = _parse_lines(list(pip), os.getcwd())
    elif pip_requirements is not None:
        reqs, constraints = _parse(pip_requirements)
    elif extra_pip_requirements is not None:
        extra, constraints = _parse(extra_pip_requirements)
        reqs = list(default) + extra
    else:
        reqs = list(default)
    if not any(_requirement_name(r) == "nbtrack" for r in reqs):
        reqs.insert(0, nbtrack_pin())  # as MLflow pins mlflow==x.y.z: the version that loads the model
    reqs = _dedupe(reqs)
    if constraints:
        reqs.append(f"-c {CONSTRAINTS_FILE}")
    env = _load_conda(conda_env) if conda_env is not None else conda_env_for(reqs)
    if conda_env is not None:
        deps = [d for d in env.get("dependencies", []) if not (isinstance(d, dict) and "pip" in d)]
        env["dependencies"] = [*deps, {"pip": reqs}]
    return reqs, constraints, env


def _load_conda(conda_env: str | dict[str, Any]) -> dict[str, Any]:
    import copy

    import yaml

    if isinstance(conda_env, dict):
        return copy.deepcopy(conda_env)
    if isinstance(conda_env, (str, os.PathLike)) and os.path.isfile(conda_env):
        with open(conda_env) as f:
            loaded = yaml.safe_load(f)
        if isinstance(loaded, dict):
            return loaded
    raise InvalidParameter(
        "Expected `conda_env` to be a dict or the path of a conda environment YAML file, "
        f"but got `{conda_env!r}`"
    )


def conda_env_for(pip_reqs: list[str]) -> dict[str, Any]:
    pip_version = installed_version("pip")
    deps: list[Any] = [f"python={platform.python_version()}", f"pip<={pip_version}" if pip_version else "pip"]
    deps.append({"pip": list(pip_reqs)})
    return {"channels": ["conda-forge"], "dependencies": deps, "name": "mlflow-env"}


def python_env() -> dict[str, Any]:
    build = [f"{p}=={v}" if (v := installed_version(p)) else p for p in ("pip", "setuptools", "wheel")]
    return {"python": platform.python_version(), "build_dependencies": build,
            "dependencies": [f"-r {REQUIREMENTS_FILE}"]}


def write_environment(
    path: str,
    default: list[str],
    pip_requirements: str | Iterable[str] | None = None,
    extra_pip_requirements: str | Iterable[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
) -> list[str]:
    """Write the three environment files (and constraints.txt if needed) into ``path``."""
    import yaml

    reqs, constraints, env = resolve_requirements(default, pip_requirements, extra_pip_requirements, conda_env)
    with open(os.path.join(path, CONDA_FILE), "w") as f:
        yaml.safe_dump(env, f, default_flow_style=False)
    with open(os.path.join(path, PYTHON_ENV_FILE), "w") as f:
        yaml.safe_dump(python_env(), f, sort_keys=False, default_flow_style=False)
    with open(os.path.join(path, REQUIREMENTS_FILE), "w") as f:
        f.write("\n".join(reqs))
    if constraints:
        with open(os.path.join(path, CONSTRAINTS_FILE), "w") as f:
            f.write("\n".join(constraints))
    return reqs
