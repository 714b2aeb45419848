"""``nbtrack gc`` and ``nbtrack quickstart``."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from datetime import timedelta

import click

from nbtrack.cli._common import open_client, store_option

_DURATION = re.compile(r"^(?:(?P<days>[\d.]+)d)?(?:(?P<hours>[\d.]+)h)?(?:(?P<minutes>[\d.]+)m)?"
                       r"(?:(?P<seconds>[\d.]+)s)?$")


def parse_duration_ms(text: str) -> int:
    """``1d2h3m4s`` (each part optional, decimals allowed: ``1.5d``) -> milliseconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise click.BadParameter(f"cannot read {text!r} as a duration; write it like 30d, 8h, 2d8h5m20s or 1.5d.",
                                 param_hint="--older-than")
    try:
        parts = {k: float(v) for k, v in match.groupdict().items() if v}
    except ValueError:
        raise click.BadParameter(f"cannot read {text!r} as a duration.", param_hint="--older-than") from None
    return int(timedelta(**parts).total_seconds() * 1000)


@click.command()
@store_option
@click.option("--older-than", default=None, metavar="DURATION",
              help="Only runs deleted longer ago than this, e.g. 30d, 8h, 1d2h3m4s.")
@click.option("--run-ids", default=None, help="Comma-separated ids of deleted runs (default: every deleted run).")
@click.option("--experiment-ids", default=None,
              help="Comma-separated ids of deleted experiments to remove with all their runs.")
def gc(store: str | None, older_than: str | None, run_ids: str | None, experiment_ids: str | None) -> None:
    """Permanently remove deleted runs (and deleted experiments) with their artifacts.

    Also folds pending segments into the store and marks runs of dead processes KILLED.
    Only runs in the deleted lifecycle stage are removed (`nbtrack runs delete` first).
    """
    from nbtrack.store.duckdb.gc import collect_garbage

    client = open_client(store)
    older = parse_duration_ms(older_than) if older_than is not None else None
    result = collect_garbage(client.store, _ids(run_ids), _ids(experiment_ids), older)
    for run_id in result.run_ids:
        click.echo(f"Run with ID {run_id} has been permanently deleted.")
    for exp_id in result.experiment_ids:
        click.echo(f"Experiment with ID {exp_id} has been permanently deleted.")
    if not result.run_ids and not result.experiment_ids:
        click.echo(f"Nothing to remove: no deleted runs{' that old' if older_than else ''} in {client.tracking_uri}.")
    click.echo(f"The store {client.tracking_uri} is compacted.")


def _ids(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


@click.command()
@click.option("--dir", "directory", default="quickstart-output", show_default=True,
              help="Folder for the executed notebook and its store (created if missing).")
@click.option("--store", "-s", default=None,
              help="Store the notebook logs to (default: .nbtrack inside --dir).")
def quickstart(directory: str, store: str | None) -> None:
    """Run the quickstart notebook headless, then say where its runs are and how to open it."""
    out_dir = os.path.abspath(directory)
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "quickstart.ipynb")
    # The kernel runs beside this copy, so the notebook's default store is <dir>/.nbtrack.
    shutil.copyfile(_example("quickstart.ipynb"), out)
    store = os.path.abspath(store) if store and "://" not in store else store or os.path.join(out_dir, ".nbtrack")
    click.echo(f"Running {out} headless (a minute at most) ...")
    _execute_notebook(out, {"NBTRACK_TRACKING_URI": store})
    click.echo(f"\nDone. The executed notebook is {out}\nIts runs are in the store {store}\n")
    for line in _next_steps(out_dir, store):
        click.echo(line)


def _next_steps(out_dir: str, store: str) -> list[str]:
    """What to type next, with this interpreter's environment: activating it, or full paths."""
    lines = []
    in_venv = sys.prefix != sys.base_prefix
    active = os.path.realpath(os.environ.get("VIRTUAL_ENV") or "") == os.path.realpath(sys.prefix)
    if in_venv and not active:
        activate = os.path.join(sys.prefix, "bin", "activate")
        lines.append(f"Activate its environment:  source {activate}")
        lines.append("  (or type the full paths below, which work without activating)")
    lines.append(f"List the runs:             {_nbtrack_command()} runs list --store {store}")
    lines.append(f"Open it in JupyterLab:     cd {out_dir} && {_jupyter_lab()} quickstart.ipynb")
    lines.append(f"Or in the web UI:          {_nbtrack_command()} ui --backend-store-uri {store}")
    return lines


def _nbtrack_command() -> str:
    """`nbtrack` if it is on PATH, else the script beside this interpreter (a venv not activated)."""
    beside = os.path.join(os.path.dirname(sys.executable), "nbtrack")
    on_path = shutil.which("nbtrack")
    if on_path and os.path.realpath(on_path) == os.path.realpath(beside):
        return "nbtrack"
    return beside if os.path.exists(beside) else f"{sys.executable} -m nbtrack"


def _jupyter_lab() -> str:
    """JupyterLab of this interpreter: a bare `pip install jupyterlab` could be another Python's."""
    beside = os.path.join(os.path.dirname(sys.executable), "jupyter-lab")
    if os.path.exists(beside):
        on_path = shutil.which("jupyter-lab")
        return "jupyter lab" if on_path and os.path.realpath(on_path) == os.path.realpath(beside) else beside
    return f"{sys.executable} -m pip install jupyterlab && {sys.executable} -m jupyterlab"


def _example(name: str) -> str:
    """An example notebook: packaged in the wheel, or in the checkout's notebooks/ folder."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../nbtrack
    for path in (os.path.join(here, "notebook", "examples", name),
                 os.path.join(os.path.dirname(here), "notebooks", name)):
        if os.path.isfile(path):
            return path
    raise click.ClickException(f"The example notebook {name} is missing from this installation of nbtrack.")


def _execute_notebook(path: str, env: dict[str, str]) -> None:
    """Execute ``path`` in place with this Python's kernel; say which cell failed if one does."""
    try:
        import nbformat
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as e:
        raise click.ClickException(
            f"The quickstart needs Jupyter ({e.name} is missing): pip install 'nbtrack[notebook]' nbclient") from None
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as kernels:
        # A kernelspec of our own: a "python3" spec on the path may belong to another Python.
        spec_dir = os.path.join(kernels, "nbtrack-python")
        os.makedirs(spec_dir)
        with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
            json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                       "display_name": "Python 3 (ipykernel)", "language": "python"}, f)
        km = KernelManager(kernel_name="nbtrack-python", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        if os.name == "posix":  # local sockets: nothing listens on the network
            km.transport, km.ip = "ipc", os.path.join(kernels, "ipc")
        client = NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": os.path.dirname(path)}})
        kernelspec = nb.metadata.get("kernelspec")
        try:
            client.execute(env={**os.environ, **env})
        except CellExecutionError as e:
            raise click.ClickException(f"A cell of {path} failed:\n{e}") from None
        finally:
            if km.has_kernel:  # the client leaves a kernel it did not create running
                km.shutdown_kernel(now=False)
            if kernelspec is not None:
                nb.metadata["kernelspec"] = kernelspec  # open it later with the usual Python kernel
            nbformat.write(nb, path)
