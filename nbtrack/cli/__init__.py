"""The ``nbtrack`` command (``python -m nbtrack``): a thin shell over the Python API."""

from __future__ import annotations

from typing import Any

import click

from nbtrack.errors import NbtrackError


class _Group(click.Group):
    """Shows an NbtrackError as one clear line (its message says what to do), not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NbtrackError as e:
            raise click.ClickException(f"{type(e).__name__}: {e}") from None


@click.group(cls=_Group)
@click.version_option(package_name="nbtrack")
def main() -> None:
    """nbtrack: experiment tracking that lives in Jupyter."""


def _register() -> None:
    from nbtrack.cli import store_commands

    main.add_command(store_commands.runs)
    main.add_command(store_commands.experiments)
    main.add_command(store_commands.gc)
    main.add_command(store_commands.quickstart)
    from nbtrack.cli.doctor import doctor

    main.add_command(doctor)
    try:
        from nbtrack.cli.models import models
    except ImportError:  # the models command lands with nbtrack.models
        return
    main.add_command(models)


_register()
