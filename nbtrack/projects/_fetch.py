"""Where a project's files come from: a local folder, run in place, or a git repository, cloned.

Unlike MLflow, a ``--version`` of a local git checkout is cloned into a temporary folder: the
user's working tree is never checked out to another commit behind their back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from nbtrack.projects._spec import ExecutionException, InvalidProject

__all__ = ["FetchedProject", "fetch_project"]

_REMOTE_SCHEMES = ("file://", "https://", "http://", "ssh://", "git://", "git@", "git+")


@dataclass
class FetchedProject:
    directory: str                      # where the command runs (the subdirectory, if one was given)
    source_name: str                    # mlflow.source.name
    git_tags: dict[str, str] = field(default_factory=dict)
    temp_dir: str | None = None         # a clone to remove when the run is over

    def cleanup(self) -> None:
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None


def split_subdirectory(uri: str) -> tuple[str, str]:
    """``repo#sub/dir`` -> (``repo``, ``sub/dir``); the subdirectory may not leave the project."""
    base, _, sub = uri.partition("#")
    sub = sub.strip("/")
    if sub and (os.path.isabs(sub) or ".." in sub.split("/")):
        raise InvalidProject(f"The subdirectory {sub!r} in {uri!r} must be a relative path inside the project.")
    return base, sub


def fetch_project(uri: str, version: str | None = None) -> FetchedProject:
    """Find or clone the project at ``uri`` (``path``, ``path#subdir``, ``file:///repo``, a git URL)."""
    base, sub = split_subdirectory(uri)
    remote = base.startswith(_REMOTE_SCHEMES)
    local = None if remote else os.path.abspath(os.path.expanduser(base))
    if local is not None and not os.path.isdir(local):
        raise InvalidProject(f"No project at {base!r}: {local} is not a folder. Give a project folder or a git URL.")
    if local is not None and version is None:
        from nbtrack.tracking.context import git_info

        return FetchedProject(_inside(local, sub, uri), local, git_info(local))
    if local is not None and not _is_git_repo(local):
        raise InvalidProject(f"--version {version} needs a git repository, but {local} is not one. "
                             "Leave out --version to run the folder as it is.")
    url = local or base
    clone = tempfile.mkdtemp(prefix="nbtrack-project-")
    try:
        commit = _clone(url, version, clone)
    except BaseException:
        shutil.rmtree(clone, ignore_errors=True)
        raise
    tags = {"mlflow.source.git.commit": commit, "mlflow.source.git.repoURL": url}
    if version and _git_ok(["show-ref", "--verify", "--quiet", f"refs/remotes/origin/{version}"], clone):
        tags["mlflow.source.git.branch"] = version
    elif version is None:
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], clone)
        if branch and branch != "HEAD":
            tags["mlflow.source.git.branch"] = branch
    return FetchedProject(_inside(clone, sub, uri), url, tags, clone)


def _inside(root: str, sub: str, uri: str) -> str:
    directory = os.path.join(root, sub) if sub else root
    if not os.path.isdir(directory):
        raise InvalidProject(f"The subdirectory {sub!r} of {uri!r} does not exist.")
    return directory


def _is_git_repo(path: str) -> bool:
    return bool(shutil.which("git")) and _git_ok(["rev-parse", "--git-dir"], path)


def _clone(url: str, version: str | None, dst: str) -> str:
    if shutil.which("git") is None:
        raise ExecutionException(f"Running the git project {url} needs the git command, which is not on PATH. "
                                 "Install git, or run a local folder.")
    _git(["clone", "--quiet", url, dst], None)
    if version and not _git_ok(["-c", "advice.detachedHead=false", "checkout", "--quiet", version], dst):
        raise InvalidProject(f"Unable to checkout version {version!r} of git repo {url}: no such commit, "
                             "branch or tag. List them with git log / git branch -a / git tag.")
    return _git(["rev-parse", "HEAD"], dst)


def _run_git(args: list[str], cwd: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})


def _git_ok(args: list[str], cwd: str | None) -> bool:
    return _run_git(args, cwd).returncode == 0


def _git(args: list[str], cwd: str | None) -> str:
    """git's stdout, stripped; ExecutionException with git's message if it fails."""
    done = _run_git(args, cwd)
    if done.returncode != 0:
        raise ExecutionException(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()
