"""The environment a project's command runs in: local, a cached venv (virtualenv or uv), conda, docker.

Venvs and conda prefixes are cached under ``$XDG_CACHE_HOME/nbtrack/envs`` (``~/.cache`` by
default), keyed by a hash of the environment file (and the files it includes), so a project
builds its environment once. Every tool is looked for before anything is built or run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nbtrack.projects._spec import ExecutionException, InvalidProject, Project

__all__ = ["ENV_MANAGERS", "Environment", "prepare_environment"]

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")
_READY = ".nbtrack-env-ready"


@dataclass
class Environment:
    """How to run a shell command: ``argv(command, env)`` with ``bin_dir`` first on PATH."""

    name: str                                    # the mlflow.project.env tag
    bin_dir: str | None = None
    prefix: list[str] = field(default_factory=list)   # e.g. conda run -p PREFIX --no-capture-output
    docker: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def argv(self, command: str, env_vars: dict[str, str], cwd: str) -> list[str]:
        if self.docker is not None:
            return _docker_argv(self.docker, command, env_vars, cwd)
        return [*self.prefix, "bash", "-c", command]

    def environ(self, env_vars: dict[str, str]) -> dict[str, str]:
        env = {**os.environ, **env_vars}
        if self.bin_dir:
            env["PATH"] = self.bin_dir + os.pathsep + env.get("PATH", "")
            if self.name != "local":
                env["VIRTUAL_ENV"] = os.path.dirname(self.bin_dir)
        return env

    @property
    def python(self) -> str:
        if self.bin_dir and self.name != "local":
            return os.path.join(self.bin_dir, "python")
        return sys.executable


def env_root() -> str:
    # XDG_CACHE_HOME is the desktop standard, not an nbtrack setting, so it is read here.
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nbtrack", "envs")


def _require(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ExecutionException(f"{why} needs the {tool} command, which is not on PATH. Install {tool}, "
                                 "or run with --env-manager local to use the current Python.")
    return path


def resolve_manager(project: Project, env_manager: str | None) -> str:
    """The manager to use: the one asked for, else the project's (python_env -> virtualenv)."""
    if project.env_type == "docker_env":
        if env_manager is not None:
            raise InvalidProject("--env-manager does not apply to a docker_env project: it runs in its image. "
                                 "Leave --env-manager out.")
        return "docker"
    if env_manager is not None and env_manager not in ENV_MANAGERS:
        raise InvalidProject(f"Unknown --env-manager {env_manager!r}; use one of {', '.join(ENV_MANAGERS)}.")
    if env_manager:
        return env_manager
    return {"python_env": "virtualenv", "conda_env": "conda"}.get(project.env_type, "local")


def check_tools(project: Project, manager: str) -> None:
    """Fail, naming the tool, before anything is built or run."""
    if manager == "docker":
        _require("docker", f"The docker_env project {project.directory}")
    elif manager in ("uv", "conda"):
        _require(manager, f"--env-manager {manager}")


def prepare_environment(project: Project, manager: str, build_image: bool = False) -> Environment:
    check_tools(project, manager)
    if manager == "local":
        return Environment("local", os.path.dirname(sys.executable))
    if manager == "docker":
        return _docker_env(project, build_image)
    if manager == "conda":
        return _conda_env(project)
    python, deps = _python_requirements(project)
    return Environment(manager, _venv(project, manager, python, deps))


# -- virtualenv / uv --------------------------------------------------------------------------
def _python_requirements(project: Project) -> tuple[str | None, list[str]]:
    """(python version or None, pip requirements) from python_env.yaml, or a conda.yaml's pip list."""
    if project.env_file is None:
        return None, []
    import yaml

    with open(project.env_file, encoding="utf-8") as f:
        spec = yaml.safe_load(f) or {}
    if project.env_type == "python_env":
        deps = [str(d) for d in (spec.get("build_dependencies") or []) + (spec.get("dependencies") or [])]
        return (str(spec["python"]) if spec.get("python") else None), deps
    python, deps = None, []
    for dep in spec.get("dependencies") or []:
        if isinstance(dep, dict):
            deps += [str(d) for d in dep.get("pip") or []]
        elif isinstance(dep, str) and re.match(r"python\s*[=<>]", dep):
            python = re.sub(r"^python\s*=*", "", dep).strip()
    return python, [d for d in deps if not d.startswith("mlflow")]


def _env_hash(project: Project, manager: str, python: str | None, deps: list[str]) -> str:
    h = hashlib.sha256(f"{manager}\n{python}\n{sys.version}\n".encode())
    if project.env_file:
        with open(project.env_file, "rb") as f:
            h.update(f.read())
    base = os.path.dirname(project.env_file or project.directory)
    for dep in deps:  # an included requirements file changes the environment too
        if dep.startswith(("-r ", "--requirement ")):
            path = os.path.join(base, dep.split(None, 1)[1])
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()[:20]


def _base_python(python: str | None, manager: str) -> str:
    if python is None or manager == "uv":
        return sys.executable
    wanted = ".".join(python.split(".")[:2])
    if wanted == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    found = shutil.which(f"python{wanted}")
    if found is None:
        raise ExecutionException(f"The project's environment asks for Python {python}, but there is no "
                                 f"python{wanted} on PATH (this is Python {sys.version.split()[0]}). Install it, "
                                 "use --env-manager uv (which can fetch it), or --env-manager local.")
    return found


def _venv(project: Project, manager: str, python: str | None, deps: list[str]) -> str:
    target = os.path.join(env_root(), f"{manager}-{_env_hash(project, manager, python, deps)}")
    bin_dir = os.path.join(target, "Scripts" if os.name == "nt" else "bin")
    if os.path.exists(os.path.join(target, _READY)):
        return bin_dir
    base = _base_python(python, manager)
    cwd = os.path.dirname(project.env_file or project.directory)
    with _build_lock(target):
        if os.path.exists(os.path.join(target, _READY)):  # another process built it meanwhile
            return bin_dir
        shutil.rmtree(target, ignore_errors=True)  # a half-built one from a killed build
        if manager == "uv":
            _build_step(["uv", "venv", "--quiet", "--python", python or base, target], cwd, target)
            if deps:
                _build_step(["uv", "pip", "install", "--quiet", "--python", os.path.join(bin_dir, "python"),
                             *_pip_args(deps)], cwd, target)
        else:
            _build_step([base, "-m", "venv", *([] if deps else ["--without-pip"]), target], cwd, target)
            if deps:
                _build_step([os.path.join(bin_dir, "python"), "-m", "pip", "install", "--quiet",
                             "--disable-pip-version-check", *_pip_args(deps)], cwd, target)
        _keep_nbtrack_importable(os.path.join(bin_dir, "python"), cwd, target)
        with open(os.path.join(target, _READY), "w") as f:
            f.write(" ".join(deps))
    return bin_dir


def _keep_nbtrack_importable(python: str, cwd: str, target: str) -> None:
    """Let the project's code ``import nbtrack`` (or ``mlflow`` through it) to log into its run.

    MLflow installs itself into a project's environment; nbtrack appends the site folders of the
    interpreter running it instead, *after* the environment's own, so the project's pinned
    packages win and nothing is downloaded. A ``.pth`` line runs ``site.addsitedir``, which also
    reads the ``.pth`` files there (an editable install of nbtrack included)."""
    import site
    import sysconfig

    ours = [p for p in dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]]) if os.path.isdir(p)]
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # holds nbtrack/
    found = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           cwd=cwd, capture_output=True, text=True)
    if found.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise ExecutionException(f"The project's environment {target} has no working Python: {found.stderr[-500:]}")
    lines = [f"import site; site.addsitedir({path!r})" for path in ours] + [here]
    with open(os.path.join(found.stdout.strip(), "_nbtrack_parent.pth"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def _pip_args(deps: list[str]) -> list[str]:
    return [part for dep in deps for part in (shlex.split(dep) if dep.startswith("-") else [dep])]


def _build_step(argv: list[str], cwd: str, target: str) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise ExecutionException(f"Building the project's environment failed: {' '.join(argv)} exited with "
                                 f"{done.returncode}:\n{(done.stderr or done.stdout).strip()[-2000:]}")


@contextlib.contextmanager
def _build_lock(target: str) -> Iterator[None]:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target + ".lock", "w") as f:
        if os.name == "posix":
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        yield


# -- conda ------------------------------------------------------------------------------------
def _conda_env(project: Project) -> Environment:
    if project.env_type != "conda_env" or project.env_file is None:
        raise InvalidProject("--env-manager conda needs a conda.yaml (conda_env in MLproject) in "
                             f"{project.directory}; use --env-manager virtualenv for a python_env.yaml.")
    target = os.path.join(env_root(), f"conda-{_env_hash(project, 'conda', None, [])}")
    if not os.path.exists(os.path.join(target, _READY)):
        with _build_lock(target):
            if not os.path.exists(os.path.join(target, _READY)):
                shutil.rmtree(target, ignore_errors=True)
                _build_step(["conda", "env", "create", "--quiet", "--prefix", target, "--file", project.env_file],
                            project.directory, target)
                open(os.path.join(target, _READY), "w").close()
    return Environment("conda", os.path.join(target, "bin"),
                       prefix=["conda", "run", "--no-capture-output", "--prefix", target])


# -- docker -----------------------------------------------------------------------------------
_CODE_DIR = "/mlflow/projects/code"


def _docker_env(project: Project, build_image: bool) -> Environment:
    spec = dict(project.docker or {})
    image = str(spec["image"])
    tags = {"mlflow.docker.image.uri": image}
    if build_image:
        tag = f"{re.sub(r'[^a-z0-9_.-]', '-', project.name.lower())}:nbtrack"
        dockerfile = f"FROM {image}\nCOPY . {_CODE_DIR}/\nWORKDIR {_CODE_DIR}\n"
        done = subprocess.run(["docker", "build", "-t", tag, "-f", "-", project.directory], input=dockerfile,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ExecutionException(f"docker build of {tag} from {image} failed:\n{done.stderr.strip()[-2000:]}")
        spec["image"], spec["built"] = tag, True
        tags["mlflow.docker.image.uri"] = tag
    return Environment("docker", docker=spec, tags=tags)


def _docker_argv(spec: dict[str, Any], command: str, env_vars: dict[str, str], cwd: str) -> list[str]:
    argv = ["docker", "run", "--rm"]
    if not spec.get("built"):
        argv += ["-v", f"{cwd}:{_CODE_DIR}", "-w", _CODE_DIR]
    store = env_vars.get("NBTRACK_TRACKING_URI", "")
    if store and os.path.isabs(store):  # the same path inside, so runs:/ and artifact URIs agree
        argv += ["-v", f"{store}:{store}"]
    for volume in spec.get("volumes") or []:
        argv += ["-v", str(volume)]
    for item in spec.get("environment") or []:
        if isinstance(item, list):
            argv += ["-e", f"{item[0]}={item[1]}"]
        else:
            argv += ["-e", str(item)]  # copied from this environment
    for key, value in env_vars.items():
        argv += ["-e", f"{key}={value}"]
    for key, value in (spec.get("docker_args") or {}).items():
        argv += [f"--{key}"] if value is True else [f"--{key}", str(value)]
    return [*argv, str(spec["image"]), "bash", "-c", command]
