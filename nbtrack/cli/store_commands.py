"""Store commands: ``nbtrack runs``, ``experiments``, ``gc`` and ``quickstart``."""

from __future__ import annotations

import os
import subprocess
import sys

import click


def _use_store(store: str | None) -> None:
    if store:
        import nbtrack

        nbtrack.set_tracking_uri(store)


store_option = click.option("--store", "-s", default=None, envvar="NBTRACK_TRACKING_URI",
                            help="Store folder or URI (default ./.nbtrack).")


@click.command()
@store_option
@click.option("--experiment", "-e", default=None, help="Experiment name (default: all).")
@click.option("--filter", "filter_string", default="", help="MLflow filter, e.g. \"metrics.acc > 0.9\".")
@click.option("--order-by", multiple=True, help="e.g. \"metrics.acc DESC\" (repeatable).")
@click.option("--max-results", default=50, show_default=True)
def runs(store: str | None, experiment: str | None, filter_string: str, order_by: tuple[str, ...],
         max_results: int) -> None:
    """List runs as a table."""
    import nbtrack

    _use_store(store)
    kwargs = {"experiment_names": [experiment]} if experiment else {"search_all_experiments": True}
    df = nbtrack.search_runs(filter_string=filter_string, order_by=list(order_by) or None,
                             max_results=max_results, **kwargs)
    if df.empty:
        click.echo("no runs")
        return
    cols = ["run_id", "status"] + [c for c in df.columns if c.startswith(("metrics.", "params."))]
    cols += ["tags.mlflow.runName"] if "tags.mlflow.runName" in df.columns else []
    click.echo(df[cols].to_string(index=False, max_colwidth=40))


@click.command()
@store_option
def experiments(store: str | None) -> None:
    """List experiments."""
    import nbtrack

    _use_store(store)
    for exp in nbtrack.search_experiments():
        click.echo(f"{exp.experiment_id:>4}  {exp.name}  ({exp.artifact_location})")


@click.command()
@store_option
def gc(store: str | None) -> None:
    """Fold pending segments into the store and mark runs of dead processes KILLED."""
    import nbtrack

    _use_store(store)
    nbtrack.flush()
    click.echo(f"store {nbtrack.get_tracking_uri()} is compacted")


@click.command()
@click.option("--dir", "directory", default=".", show_default=True, help="Where to write the executed notebook.")
def quickstart(directory: str) -> None:
    """Execute the quickstart notebook headless on the default store and say where results are."""
    from importlib import resources

    source = resources.files("nbtrack") / "quickstart.ipynb"
    if not source.is_file():
        repo_copy = os.path.join(os.path.dirname(__file__), "..", "..", "notebooks", "quickstart.ipynb")
        source = resources.as_file(source) if False else repo_copy  # type: ignore[assignment]
    out_dir = os.path.abspath(directory)
    out = os.path.join(out_dir, "quickstart.ipynb")
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.timeout=600", f"--output-dir={out_dir}", str(source)]
    click.echo("Running the quickstart notebook headless ...")
    subprocess.run(cmd, check=True, cwd=out_dir)
    store = os.path.join(out_dir, ".nbtrack")
    click.echo(f"\nDone. The executed notebook is {out}\nIts runs are in the store {store}\n")
    click.echo(f"See them here:   nbtrack runs --store {store}")
    click.echo(f"Open in JupyterLab:   jupyter lab {out}")
