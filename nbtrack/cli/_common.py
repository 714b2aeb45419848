"""What every command shares: the store option, opening a store without creating one, output.

Read commands never create a store: a path with no ``nbtrack.duckdb`` in it is an error that
names the path (a typo in ``--store`` used to create an empty store and print "no runs").
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from nbtrack.errors import NotFound

__all__ = ["StoreNotFound", "emit", "open_client", "output_option", "store_option", "table"]

F = Callable[..., Any]


class StoreNotFound(NotFound):
    """The ``--store`` (or NBTRACK_TRACKING_URI, or ./.nbtrack) folder holds no nbtrack store."""

    def __init__(self, uri: str, root: str, default: bool) -> None:
        self.uri, self.root = uri, root
        where = ("the default store ./.nbtrack of the current folder" if default
                 else f"{uri!r}" + (f" ({root})" if root != uri else ""))
        super().__init__(
            f"No nbtrack store at {where}: {os.path.join(root, 'nbtrack.duckdb')} does not exist. "
            "Pass --store PATH (or set NBTRACK_TRACKING_URI) to the folder your runs were logged to; "
            "logging a run creates the store.")


def store_option(f: F) -> F:
    return click.option("--store", "-s", default=None, envvar="NBTRACK_TRACKING_URI", metavar="PATH",
                        help="Store folder or URI [env NBTRACK_TRACKING_URI; default ./.nbtrack].")(f)


def output_option(f: F) -> F:
    return click.option("--output", "-o", "output", type=click.Choice(["table", "json"]), default="table",
                        show_default=True, help="A table for people or JSON for scripts.")(f)


def store_uri(store: str | None) -> str:
    import nbtrack

    if store:
        nbtrack.set_tracking_uri(store)
    return nbtrack.get_tracking_uri()


def open_client(store: str | None, create: bool = False) -> Any:
    """A Client on ``store``; unless ``create``, a missing store is StoreNotFound (exit code 3)."""
    import nbtrack
    from nbtrack.store import resolve_root

    uri = store_uri(store)
    if not create and "://" not in uri.replace("file://", "").replace("duckdb://", ""):
        root = resolve_root(uri)
        if not os.path.isfile(os.path.join(root, "nbtrack.duckdb")):
            raise StoreNotFound(uri, root, default=not store and not nbtrack.is_tracking_uri_set())
    return nbtrack.MlflowClient(uri)


def experiment_ids(client: Any, ids: Sequence[str], names: Sequence[str]) -> list[str]:
    """Ids for ``-x`` ids and ``-e`` names; an unknown one is NotFound naming the store."""
    found = []
    for exp_id in ids:
        found.append(client.get_experiment(exp_id).experiment_id)
    for name in names:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise NotFound(f"Experiment '{name}' does not exist in the store {client.tracking_uri}. "
                           f"List them with: nbtrack experiments search --store {client.tracking_uri}")
        found.append(exp.experiment_id)
    return found


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 40) -> str:
    """Columns aligned with two spaces; long cells cut with an ellipsis."""
    def cell(v: Any) -> str:
        text = "" if v is None else str(v)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(h) for h in headers]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def emit(output: str, data: Any, render: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or what ``render`` makes of it for people."""
    click.echo(json.dumps(data, indent=2, default=str) if output == "json" else render())


class DefaultGroup(click.Group):
    """A group that runs ``default`` when no subcommand is named: ``nbtrack runs --store S`` is
    ``nbtrack runs list --store S`` (the form the command had before it grew subcommands)."""

    def __init__(self, *args: Any, default: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if self.default and (not args or (args[0] not in self.commands and args[0] not in ("--help", "-h"))):
            args = [self.default, *args]
        return super().parse_args(ctx, args)
