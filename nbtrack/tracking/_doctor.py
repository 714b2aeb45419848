"""``nbtrack.doctor()`` (MLflow's ``mlflow.doctor``): what to paste into a bug report.

For a store's health (segments, quarantine, locks) use ``nbtrack doctor`` on the command line.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from importlib import metadata

__all__ = ["doctor", "report"]


def report(mask_envs: bool = False) -> list[tuple[str, str]]:
    """The (label, value) lines :func:`doctor` prints."""
    from nbtrack import config
    from nbtrack.tracking import fluent

    package = sys.modules["nbtrack"]  # imported already: this module is reached through it
    items = [
        ("System information", f"{platform.system()} {platform.version()}"),
        ("Python version", platform.python_version()),
        ("nbtrack version", package.__version__),
        ("nbtrack module location", os.path.abspath(package.__file__ or "")),
        ("Tracking URI", fluent.get_tracking_uri()),
        ("Registry URI", fluent.get_registry_uri()),
    ]
    active = fluent.active_run()
    if active is not None:
        items += [("Active experiment ID", active.info.experiment_id), ("Active run ID", active.info.run_id),
                  ("Active run artifact URI", active.info.artifact_uri)]
    variables = {name: "***" if mask_envs else value for name in config.VARIABLES
                 if (value := os.environ.get(name))}
    if variables:
        items.append(("Environment variables", "".join(f"\n  {k}: {v}" for k, v in variables.items())))
    items.append(("nbtrack dependencies", "".join(f"\n  {name}: {version}" for name, version in _dependencies())))
    return items


def _dependencies() -> list[tuple[str, str]]:
    try:
        requires = metadata.requires("nbtrack") or []
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return []
    found = []
    for line in requires:
        if "extra ==" in line:
            continue
        name = re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0]
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return sorted(found, key=lambda item: item[0].lower())


def doctor(mask_envs: bool = False) -> None:
    """Print the system, Python and nbtrack versions, the tracking and registry URIs, the active
    run, the nbtrack/MLflow environment variables that are set (values ``***`` with
    ``mask_envs=True``) and the versions of nbtrack's dependencies.

    Examples
    --------
    >>> nbtrack.doctor(mask_envs=True)
    System information: Linux #1 SMP ...
    Python version: 3.11.9
    ...
    """
    for label, value in report(mask_envs):
        print(f"{label}:{'' if value.startswith(chr(10)) else ' '}{value}")
