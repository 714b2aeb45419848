"""``nbtrack doctor [STORE] [--repair]``: a store's health, and the safe repairs."""

from __future__ import annotations

import json
import os

import click


@click.command()
@click.argument("store", required=False)
@click.option("--repair", is_flag=True, help="Fold pending segments, clean up, restore quarantined records.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def doctor(store: str | None, repair: bool, output: str) -> None:
    """Report a store's health: schema, pending and quarantined segments, runs by status, disk.

    STORE is the store folder (default: NBTRACK_TRACKING_URI, else ./.nbtrack). Reads only,
    unless --repair is given. Exit code 0: healthy; 1: problems remain (listed); 3: no store there.
    """
    from nbtrack.store import resolve_root
    from nbtrack.store.duckdb import doctor as store_doctor

    uri = store or os.environ.get("NBTRACK_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI") or ".nbtrack"
    root = resolve_root(uri)
    report = store_doctor.repair(root) if repair else store_doctor.diagnose(root)
    if output == "json":
        click.echo(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        click.echo(report.to_text())
    if not report.healthy:
        raise SystemExit(1)
