"""The ``nbtrack`` command (``python -m nbtrack``): a thin shell over the Python API.

Exit codes scripts can rely on:

- 0: done.
- 1: an error nbtrack explains in one line (a bad value, a conflict, a store problem), or a
  project run by ``nbtrack run`` that failed.
- 2: bad usage: an unknown command or option, or a bad option value (click's code).
- 3: not found: no store at the path given, or no such experiment, run, artifact or model.
- 130: interrupted: ``nbtrack run`` was stopped (Ctrl-C or SIGTERM); its run is KILLED.
"""

from __future__ import annotations

from typing import Any

import click

from nbtrack.errors import NbtrackError, NotFound

EXIT_ERROR = 1
EXIT_NOT_FOUND = 3


class _NbtrackFailure(click.ClickException):
    exit_code = EXIT_ERROR

    def __init__(self, error: NbtrackError) -> None:
        super().__init__(f"{type(error).__name__}: {error}")


class _NotFoundFailure(_NbtrackFailure):
    exit_code = EXIT_NOT_FOUND


class _Group(click.Group):
    """Shows an NbtrackError as one clear line (its message says what to do), not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NbtrackError as e:
            raise (_NotFoundFailure if isinstance(e, NotFound) else _NbtrackFailure)(e) from None


@click.group(cls=_Group)
@click.version_option(package_name="nbtrack")
def main() -> None:
    """nbtrack: experiment tracking that lives in Jupyter.

    Every command that reads or writes a store takes --store PATH (or NBTRACK_TRACKING_URI);
    commands that only read never create one. Exit codes: 0 done, 1 error, 2 bad usage,
    3 not found, 130 interrupted.
    """


def _register() -> None:
    from nbtrack.cli import (
        artifacts,
        db,
        doctor,
        experiments,
        migrate,
        models,
        project,
        runs,
        server,
        store_commands,
    )

    main.add_command(runs.runs)
    main.add_command(experiments.experiments)
    main.add_command(artifacts.artifacts)
    main.add_command(models.models)
    main.add_command(project.run)
    main.add_command(store_commands.gc)
    main.add_command(store_commands.quickstart)
    main.add_command(doctor.doctor)
    main.add_command(server.server)
    main.add_command(server.ui)
    main.add_command(migrate.import_)
    main.add_command(migrate.export)
    main.add_command(db.db)


_register()
