"""The ``MLproject`` file: entry points, typed parameters, the environment, and the command line.

A folder without an ``MLproject`` is a project too: its ``.py``, ``.sh`` and ``.ipynb`` files are
entry points, and a ``python_env.yaml`` (else ``conda.yaml``) beside them is its environment.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["EntryPoint", "ExecutionException", "Parameter", "Project", "load_project"]

PARAM_TYPES = ("string", "float", "int", "path", "uri")
SCRIPT_EXTENSIONS = (".py", ".sh", ".ipynb")
_ENV_KEYS = ("python_env", "conda_env", "docker_env")


class ExecutionException(NbtrackError):
    """A project could not be run (MLflow's ``mlflow.projects.ExecutionException``)."""

    error_code = "INVALID_PARAMETER_VALUE"


class InvalidProject(ExecutionException, InvalidParameter):
    """The ``MLproject`` file, an entry point or a parameter value is wrong; nothing was run."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    default: str | None = None

    def check(self, value: str, storage_dir: str | None = None) -> str:
        """The value to put on the command line, or InvalidProject saying what is wrong with it."""
        if self.type == "float":
            try:
                float(value)
            except ValueError:
                raise InvalidProject(f"Parameter '{self.name}' is a float, but got {value!r}. "
                                     f"Pass a number, e.g. -P {self.name}=0.1.") from None
        elif self.type == "int":
            try:
                int(value)
            except ValueError:
                raise InvalidProject(f"Parameter '{self.name}' is an int, but got {value!r}. "
                                     f"Pass a whole number, e.g. -P {self.name}=10.") from None
        elif self.type == "uri" and not urlparse(value).scheme:
            raise InvalidProject(f"Expected a URI for parameter '{self.name}' but got {value!r}. "
                                 "Give a scheme, e.g. file:///data/train.csv or runs:/<run_id>/data.")
        elif self.type == "path":
            return _resolve_path(self.name, value, storage_dir)
        return value


def _resolve_path(name: str, value: str, storage_dir: str | None) -> str:
    """A local path must exist (relative to the current directory) and becomes absolute; a
    ``runs:/`` URI is downloaded into ``storage_dir``, as MLflow does for remote paths."""
    parsed = urlparse(value)
    if parsed.scheme == "runs":
        import tempfile

        from nbtrack.tracking.artifacts import download_artifacts

        return str(download_artifacts(artifact_uri=value, dst_path=storage_dir or tempfile.mkdtemp()))
    if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:
        raise InvalidProject(f"Parameter '{name}' is a path, but {value!r} is a {parsed.scheme}: URI. "
                             "Pass a local path or a runs:/<run_id>/<path> URI.")
    path = os.path.abspath(os.path.expanduser(parsed.path if parsed.scheme == "file" else value))
    if not os.path.exists(path):
        raise InvalidProject(f"Got value {value!r} for parameter '{name}', but no such file or "
                             f"directory was found ({path}; relative paths are resolved from {os.getcwd()}).")
    return path


@dataclass(frozen=True)
class EntryPoint:
    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    notebook: str | None = None  # a notebook entry point: this .ipynb, relative to the project

    def resolve(self, given: dict[str, Any], storage_dir: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """(declared values, extra values), checked; raises before anything has run."""
        values = {k: str(v) for k, v in given.items()}
        missing = [n for n, p in self.parameters.items() if p.default is None and n not in values]
        if missing:
            raise InvalidProject("No value given for missing parameters: "
                                 + ", ".join(f"'{n}'" for n in missing)
                                 + ". Pass them with -P name=value.")
        declared = {n: values.get(n, p.default) or "" for n, p in self.parameters.items()}
        checked = {n: self.parameters[n].check(v, storage_dir) for n, v in declared.items()}
        extra = {k: v for k, v in values.items() if k not in self.parameters}
        return checked, extra

    def command_line(self, checked: dict[str, str], extra: dict[str, str]) -> str:
        quoted = {k: shlex.quote(v) for k, v in checked.items()}
        try:
            command = self.command.format(**quoted)
        except (KeyError, IndexError) as e:
            raise InvalidProject(f"The command of entry point '{self.name}' uses {{{e.args[0]}}}, which is "
                                 "not one of its parameters. Declare it under parameters.") from None
        for key, value in extra.items():
            command += f" --{key} {shlex.quote(value)}"
        return command


@dataclass(frozen=True)
class Project:
    directory: str
    name: str
    entry_points: dict[str, EntryPoint]
    env_type: str = "local"          # local, python_env, conda_env, docker_env
    env_file: str | None = None      # absolute path of python_env.yaml / conda.yaml
    docker: dict[str, Any] | None = None

    def entry_point(self, name: str) -> EntryPoint:
        if name in self.entry_points:
            return self.entry_points[name]
        if name.endswith(SCRIPT_EXTENSIONS):
            path = os.path.join(self.directory, name)
            if not os.path.isfile(path):
                raise InvalidProject(f"The entry point {name} is not a file in {self.directory}.")
            if name.endswith(".py"):
                return EntryPoint(name, f"python {shlex.quote(name)}")
            if name.endswith(".sh"):
                return EntryPoint(name, f"{os.environ.get('SHELL') or 'bash'} {shlex.quote(name)}")
            return EntryPoint(name, "", notebook=name)
        known = ", ".join(sorted(self.entry_points)) or "none"
        raise InvalidProject(f"Could not find {name} among the entry points ({known}) of {self.directory}, "
                             f"nor run it as a script. Scripts may end in {', '.join(SCRIPT_EXTENSIONS)}.")


def load_project(directory: str) -> Project:
    """Read ``directory``'s MLproject (any capitalisation), or describe the folder as a project."""
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise InvalidProject(f"The project folder {directory} does not exist.")
    names = [n for n in os.listdir(directory) if n.lower() == "mlproject"]
    if not names:
        env_type, env_file = _default_env(directory)
        return Project(directory, os.path.basename(directory), {}, env_type, env_file)
    path = os.path.join(directory, names[0])
    spec = _read_yaml(path)
    envs = [k for k in _ENV_KEYS if k in spec]
    if len(envs) > 1:
        raise InvalidProject(f"Project cannot contain multiple environment fields ({', '.join(envs)} in "
                             f"{path}). Keep one.")
    entry_points = {str(n): _entry_point(str(n), ep, path) for n, ep in (spec.get("entry_points") or {}).items()}
    name = str(spec.get("name") or os.path.basename(directory))
    if not envs:
        env_type, env_file = _default_env(directory)
        return Project(directory, name, entry_points, env_type, env_file)
    kind = envs[0]
    if kind == "docker_env":
        docker = spec[kind]
        if not isinstance(docker, dict) or not docker.get("image"):
            raise InvalidProject(f"docker_env in {path} needs an image, e.g. docker_env: {{image: python:3.11}}.")
        return Project(directory, name, entry_points, kind, None, docker)
    env_file = os.path.join(directory, str(spec[kind]))
    if not os.path.isfile(env_file):
        raise InvalidProject(f"{kind} in {path} names {spec[kind]}, which is not a file in {directory}.")
    return Project(directory, name, entry_points, kind, env_file)


def _default_env(directory: str) -> tuple[str, str | None]:
    for kind, file in (("python_env", "python_env.yaml"), ("conda_env", "conda.yaml")):
        if os.path.isfile(os.path.join(directory, file)):
            return kind, os.path.join(directory, file)
    return "local", None


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            spec = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise InvalidProject(f"{path} is not valid YAML: {e}") from None
    if not isinstance(spec, dict):
        raise InvalidProject(f"{path} must be a YAML mapping with name and entry_points.")
    return spec


def _entry_point(name: str, spec: Any, path: str) -> EntryPoint:
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        raise InvalidProject(f"Entry point '{name}' in {path} needs a command, e.g. command: \"python train.py\".")
    params = {}
    for pname, pspec in (spec.get("parameters") or {}).items():
        if isinstance(pspec, str):  # `alpha: float`: a type and no default, so it is required
            ptype, default = pspec, None
        elif isinstance(pspec, dict):
            ptype, default = str(pspec.get("type", "string")), pspec.get("default")
        else:
            raise InvalidProject(f"Parameter '{pname}' of entry point '{name}' in {path} must be a type "
                                 "or {type: ..., default: ...}.")
        if ptype not in PARAM_TYPES:
            raise InvalidProject(f"Parameter '{pname}' of entry point '{name}' in {path} has the unknown type "
                                 f"{ptype!r}; use one of {', '.join(PARAM_TYPES)}.")
        params[str(pname)] = Parameter(str(pname), ptype, None if default is None else str(default))
    command = spec["command"].strip()
    notebook = command if command.endswith(".ipynb") and " " not in command else None
    return EntryPoint(name, command, params, notebook)
