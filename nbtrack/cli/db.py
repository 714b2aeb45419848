"""``nbtrack db upgrade URI``: bring a PostgreSQL database to this nbtrack's schema (as ``mlflow db upgrade``)."""

from __future__ import annotations

import click

from nbtrack.errors import InvalidStore

__all__ = ["db"]


@click.group()
def db() -> None:
    """Manage the database of a PostgreSQL tracking store."""


@db.command()
@click.argument("uri")
@click.option("--files-root", default=None, metavar="FOLDER",
              help="Record FOLDER as the database's local folder for artifacts and registry copies "
                   "(default: keep the recorded one, or ./nbtrack-files on a new database).")
def upgrade(uri: str, files_root: str | None) -> None:
    """Apply every schema migration URI (postgresql://user:pass@host:port/db) lacks.

    Safe to run while servers use the database and from several processes at once: each
    migration is one transaction under an advisory lock. Servers also upgrade on start."""
    from nbtrack.store import is_postgres_uri

    if not is_postgres_uri(uri):
        raise InvalidStore(f"{uri!r} is not a PostgreSQL URI; `nbtrack db upgrade` takes "
                           "postgresql://user:pass@host:5432/db (embedded stores upgrade themselves on open).")
    from nbtrack.store.postgres._db import display_uri
    from nbtrack.store.postgres.schema import applied, set_files_root
    from nbtrack.store.postgres.schema import upgrade as run_upgrade

    done = run_upgrade(uri)
    root = set_files_root(uri, files_root or "nbtrack-files", replace=files_root is not None)
    names = applied(uri)
    click.echo(f"{display_uri(uri)}: applied {len(done)} migration(s) {done}; schema at {names[-1]} "
               f"({len(names)} migrations); files root {root}")
