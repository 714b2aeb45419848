"""Store commands: ``nbtrack runs``, ``experiments``, ``gc`` and ``quickstart``."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile

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
    click.echo(f"List them:            {_nbtrack_command()} runs --store {store}")
    click.echo(f"Open it in JupyterLab: cd {out_dir} && {_jupyter_lab()} quickstart.ipynb")


def _nbtrack_command() -> str:
    """`nbtrack` if it is on PATH, else the script beside this interpreter (a venv not activated)."""
    beside = os.path.join(os.path.dirname(sys.executable), "nbtrack")
    on_path = shutil.which("nbtrack")
    if on_path and os.path.realpath(on_path) == os.path.realpath(beside):
        return "nbtrack"
    return beside if os.path.exists(beside) else f"{sys.executable} -m nbtrack"


def _jupyter_lab() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "jupyter-lab")
    if os.path.exists(beside):
        return "jupyter lab" if shutil.which("jupyter-lab") == beside else f"{beside}"
    return "jupyter lab" if shutil.which("jupyter-lab") else "pip install jupyterlab && jupyter lab"


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
