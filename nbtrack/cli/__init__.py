"""The ``nbtrack`` command (``python -m nbtrack``): a thin shell over the Python API."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="nbtrack")
def main() -> None:
    """nbtrack: experiment tracking that lives in Jupyter."""


def _register() -> None:
    from nbtrack.cli import store_commands

    main.add_command(store_commands.runs)
    main.add_command(store_commands.experiments)
    main.add_command(store_commands.gc)
    main.add_command(store_commands.quickstart)
    try:
        from nbtrack.cli.models import models
    except ImportError:  # the models command lands with nbtrack.models
        return
    main.add_command(models)


_register()
