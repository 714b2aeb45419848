"""System tags for new runs (MLflow's keys): user, source, git; plus pluggable providers.

The notebook layer registers a provider that adds the notebook path, cell id, kernel and
package versions; this layer cannot import it (it sits above), so it plugs in here.
"""

from __future__ import annotations

import configparser
import getpass
import os
import sys
from collections.abc import Callable

__all__ = ["git_info", "register_provider", "resolve_tags", "user"]

_providers: list[Callable[[], dict[str, str]]] = []


def register_provider(provider: Callable[[], dict[str, str]]) -> None:
    """Add a function returning extra tags for each new run (applied after the defaults)."""
    if provider not in _providers:
        _providers.append(provider)


def unregister_provider(provider: Callable[[], dict[str, str]]) -> None:
    if provider in _providers:
        _providers.remove(provider)


def user() -> str:
    """The user name of this process (``mlflow.user``), "unknown" where the OS has none."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def _source_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    return os.path.abspath(argv0) if argv0 and os.path.exists(argv0) else (argv0 or "<console>")


def git_info(path: str) -> dict[str, str]:
    """commit/branch/repoURL of the git checkout holding ``path``, read from .git without git."""
    directory = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    while True:
        git_dir = os.path.join(directory, ".git")
        if os.path.exists(git_dir):
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            return {}
        directory = parent
    try:
        if os.path.isfile(git_dir):  # worktree or submodule: "gitdir: <path>"
            with open(git_dir) as f:
                git_dir = os.path.join(directory, f.read().split(":", 1)[1].strip())
        with open(os.path.join(git_dir, "HEAD")) as f:
            head = f.read().strip()
        info: dict[str, str] = {}
        commit = head
        if head.startswith("ref: "):
            ref = head[5:]
            info["mlflow.source.git.branch"] = ref.removeprefix("refs/heads/")
            commit = _read_ref(git_dir, ref)
        if commit:
            info["mlflow.source.git.commit"] = commit
        parser = configparser.ConfigParser(strict=False)
        parser.read(os.path.join(git_dir, "config"))
        if parser.has_option('remote "origin"', "url"):
            info["mlflow.source.git.repoURL"] = parser.get('remote "origin"', "url")
        return info
    except (OSError, IndexError, configparser.Error):
        return {}


def _read_ref(git_dir: str, ref: str) -> str:
    path = os.path.join(git_dir, ref)
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    packed = os.path.join(git_dir, "packed-refs")
    if os.path.exists(packed):
        with open(packed) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return ""  # a branch with no commits yet


def resolve_tags(user_tags: dict[str, str] | None = None) -> dict[str, str]:
    """Default context, then registered providers, then the user's tags on top (as MLflow)."""
    source = _source_name()
    tags = {"mlflow.user": user(), "mlflow.source.name": source, "mlflow.source.type": "LOCAL"}
    # In a kernel, argv[0] is ipykernel_launcher.py inside the environment: the code being run
    # is the notebook's, so take git from the working directory instead.
    launcher = os.path.basename(source).startswith(("ipykernel_launcher", "ipython"))
    tags.update(git_info(os.getcwd() if launcher or not os.path.exists(source) else source))
    for provider in _providers:
        try:
            tags.update(provider())
        except Exception as e:  # context is best effort: a provider must not stop a run
            import logging

            logging.getLogger("nbtrack").debug("context provider %r failed: %s", provider, e)
    tags.update(user_tags or {})
    return tags
