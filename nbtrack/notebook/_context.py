"""Who is running: notebook path, cell, kernel, git state and package versions, as run tags.

:func:`provider` is registered with :func:`nbtrack.tracking.context.register_provider`
by ``%load_ext nbtrack``, so every run started in the notebook (``%%track``, a bare
``nbtrack.start_run()``, autolog) carries this context. Every lookup is best effort:
an identity that cannot be found (nbconvert and nbval pass no cell id, plain IPython
has no notebook) leaves its tag out, and nothing here may stop a run from starting.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from nbtrack.tracking.context import git_info

__all__ = ["CellInfo", "cell_started", "current_cell", "notebook_path", "provider"]

log = logging.getLogger("nbtrack.notebook")

#: Packages whose versions are recorded when the notebook has imported them (never imported here).
_PACKAGES = {
    "numpy": "numpy", "pandas": "pandas", "sklearn": "scikit-learn", "scipy": "scipy",
    "torch": "torch", "lightning": "lightning", "tensorflow": "tensorflow", "keras": "keras",
    "jax": "jax", "xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost",
    "transformers": "transformers", "polars": "polars",
}
_KERNEL_FILE = re.compile(r"kernel-([0-9a-fA-F-]{8,})\.json$")
_SERVER_TIMEOUT = 0.5  # seconds per Jupyter server asked for its sessions
_SERVER_CACHE_SECONDS = 30.0


@dataclass
class CellInfo:
    """The cell executing now, as IPython's ``pre_run_cell`` event describes it."""

    raw_cell: str
    cell_id: str | None
    execution_count: int | None
    thread_id: int
    execution: str = field(default_factory=lambda: uuid.uuid4().hex)
    runs_created: int = 0  # runs the provider tagged with this cell
    sourced: set[str] = field(default_factory=set)  # runs whose cell source is logged


_state: dict[str, Any] = {"cell": None, "shell": None, "server": (0.0, None), "git": None}


def cell_started(shell: Any, info: Any) -> CellInfo:
    """Record the cell IPython is about to run (called from the ``pre_run_cell`` hook)."""
    count = getattr(shell, "execution_count", None)
    if isinstance(count, int) and getattr(info, "store_history", False) and _counts_before_run():
        count -= 1  # IPython >= 9.8 increments the counter before the cell runs (ipython#15088)
    cell = CellInfo(
        raw_cell=getattr(info, "raw_cell", "") or "",
        cell_id=getattr(info, "cell_id", None) or None,
        execution_count=count,
        thread_id=threading.get_ident(),
    )
    _state["cell"], _state["shell"] = cell, shell
    if "track" in cell.raw_cell or "start_run" in cell.raw_cell:
        _prefetch_git_dirty(_repo_dir(notebook_path(shell)[0]))  # overlaps `git status` with the cell's start
    return cell


@functools.cache
def _counts_before_run() -> bool:
    import IPython

    return tuple(IPython.version_info[:2]) >= (9, 8)


def cell_number(shell: Any) -> int:
    """The ``In[n]`` number of the running cell."""
    cell = current_cell()
    if cell is not None and cell.execution_count is not None:
        return cell.execution_count
    return int(shell.execution_count)


def cell_finished() -> None:
    _state["cell"] = None
    _state["git"] = None  # a prefetch no run used is stale by the next cell


def current_cell() -> CellInfo | None:
    """The running cell, if the caller is on the thread executing it."""
    cell = _state["cell"]
    if cell is None or cell.thread_id != threading.get_ident():
        return None
    return cell


def attach(shell: Any) -> None:
    _state["shell"] = shell


def detach() -> None:
    _state.update(cell=None, shell=None)


# -- the provider ---------------------------------------------------------------------------
def provider() -> dict[str, str]:
    """Tags for a run being started now (registered with ``register_provider``)."""
    shell = _state["shell"]
    if shell is None:
        return {}
    tags: dict[str, str] = {}
    path, found_by = notebook_path(shell)
    if path:
        tags["mlflow.source.name"] = path
        tags["nbtrack.notebook.found_by"] = found_by
    if path or _in_kernel(shell):
        tags["mlflow.source.type"] = "NOTEBOOK"
    kernel = kernel_id(shell)
    if kernel:
        tags["nbtrack.kernel_id"] = kernel
    cell = current_cell()
    if cell is not None:
        cell.runs_created += 1
        tags["nbtrack.cell_execution"] = cell.execution
        if cell.cell_id:
            tags["nbtrack.cell_id"] = cell.cell_id
        if cell.execution_count is not None:
            tags["nbtrack.execution_count"] = str(cell.execution_count)
    where = _repo_dir(path)
    tags.update(git_info(where))
    dirty = git_dirty(where)
    if dirty is not None:
        tags["nbtrack.git.dirty"] = "true" if dirty else "false"
    tags["nbtrack.python"] = platform.python_version()
    packages = package_versions()
    if packages:
        tags["nbtrack.packages"] = packages
    return tags


def _repo_dir(path: str | None) -> str:
    # A kernel starts in its notebook's folder, so the working directory is the fallback.
    return os.path.dirname(path) if path and os.path.isabs(path) else os.getcwd()


def _in_kernel(shell: Any) -> bool:
    try:
        return bool(shell.has_trait("kernel"))
    except AttributeError:
        return False


# -- notebook path --------------------------------------------------------------------------
def notebook_path(shell: Any) -> tuple[str | None, str]:
    """The notebook's path and how it was found, or ``(None, "")``.

    Tried in order: ``JPY_SESSION_NAME`` (JupyterLab/Notebook 7 set it per kernel),
    ``__session__`` in the user namespace (the same value, set by ipykernel), VS Code's
    ``__vsc_ipynb_file__``, then the sessions API of a running Jupyter server that owns
    this kernel.
    """
    # JPY_SESSION_NAME is set by Jupyter for the kernel, not an nbtrack setting, so it is
    # read here rather than through nbtrack.config.
    candidates = (
        (os.environ.get("JPY_SESSION_NAME"), "JPY_SESSION_NAME"),
        (_user_ns(shell).get("__session__"), "__session__"),
        (_user_ns(shell).get("__vsc_ipynb_file__"), "__vsc_ipynb_file__"),
    )
    for value, found_by in candidates:
        if isinstance(value, str) and value.strip():
            return _absolute(value.strip()), found_by
    kernel = kernel_id(shell)
    if kernel:
        path = _path_from_servers(kernel)
        if path:
            return path, "jupyter-server"
    return None, ""


def _user_ns(shell: Any) -> dict[str, Any]:
    ns = getattr(shell, "user_ns", None)
    return ns if isinstance(ns, dict) else {}


def _absolute(path: str) -> str:
    """Absolute when it can be resolved; Jupyter may give a path relative to its root."""
    if path.startswith("file://"):
        path = path[len("file://"):]
    if os.path.isabs(path):
        return path
    if os.path.exists(path):
        return os.path.abspath(path)
    local = os.path.join(os.getcwd(), os.path.basename(path))  # the kernel starts beside the notebook
    return local if os.path.exists(local) else path


def kernel_id(shell: Any) -> str | None:
    """The Jupyter kernel id, read from the connection file name (``kernel-<id>.json``)."""
    connection_file = None
    app = sys.modules.get("ipykernel.kernelapp")
    if app is not None and app.IPKernelApp.initialized():
        connection_file = app.IPKernelApp.instance().connection_file
    if not connection_file:
        argv = sys.argv
        for i, arg in enumerate(argv[:-1]):
            if arg == "-f":
                connection_file = argv[i + 1]
    match = _KERNEL_FILE.search(os.path.basename(connection_file or ""))
    return match.group(1) if match else None


def _path_from_servers(kernel: str) -> str | None:
    checked_at, cached = _state["server"]
    if time.monotonic() - checked_at < _SERVER_CACHE_SECONDS:
        return cached
    path = None
    try:
        path = _ask_servers(kernel)
    except Exception as e:  # any failure only means "unknown"
        log.debug("nbtrack could not ask the Jupyter server for the notebook path: %s", e)
    _state["server"] = (time.monotonic(), path)
    return path


def _ask_servers(kernel: str) -> str | None:
    import glob
    import urllib.request

    from jupyter_core.paths import jupyter_runtime_dir

    for info_file in sorted(glob.glob(os.path.join(jupyter_runtime_dir(), "jpserver-*.json"))):
        with open(info_file) as f:
            server = json.load(f)
        if not _alive(server.get("pid")):
            continue
        request = urllib.request.Request(server["url"].rstrip("/") + "/api/sessions")
        if server.get("token"):
            request.add_header("Authorization", f"token {server['token']}")
        with urllib.request.urlopen(request, timeout=_SERVER_TIMEOUT) as response:
            sessions = json.load(response)
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel and session.get("path"):
                root = server.get("root_dir") or server.get("notebook_dir") or ""
                return os.path.join(root, session["path"]) if root else session["path"]
    return None


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


# -- git and packages -----------------------------------------------------------------------
def _prefetch_git_dirty(where: str) -> None:
    result: dict[str, bool | None] = {}
    thread = threading.Thread(target=lambda: result.update(value=_run_git_status(where)),
                              name="nbtrack-git-status", daemon=True)
    _state["git"] = (where, thread, result)
    thread.start()


def git_dirty(where: str) -> bool | None:
    """Whether tracked files differ from HEAD (None outside git or without git)."""
    prefetched = _state["git"]
    if prefetched is not None:
        _state["git"] = None
        prefetched_where, thread, result = prefetched
        if prefetched_where == where:
            thread.join(timeout=2.0)
            if "value" in result:
                return result["value"]
    return _run_git_status(where)


def _run_git_status(where: str) -> bool | None:
    if not git_info(where):
        return None
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def package_versions() -> str:
    """``name==version`` of the key ML packages this process has imported."""
    found = []
    for module_name, dist in _PACKAGES.items():
        module = sys.modules.get(module_name)
        version = getattr(module, "__version__", None) if module is not None else None
        if isinstance(version, str):
            found.append(f"{dist}=={version}")
    found.append(f"nbtrack=={_nbtrack_version()}")
    return " ".join(found)


@functools.cache
def _nbtrack_version() -> str:
    import nbtrack

    return nbtrack.__version__
