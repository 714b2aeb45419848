"""Run a notebook headless as a project's entry point (papermill-style parameters).

Run as a script, ``python _notebook.py IN.ipynb OUT.ipynb [name value]...``, by the project's
Python, so it imports nothing of nbtrack (the project's environment may not have it) and the
kernel it starts is that Python's. Parameters go into a new cell tagged
``injected-parameters`` after the cell tagged ``parameters`` (or first, if there is none). The
executed notebook, outputs and errors included, is written to OUT even when a cell fails.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import tempfile
from typing import Any


def parameter_source(values: dict[str, str], types: dict[str, str]) -> str:
    """``name = value`` lines: declared floats and ints as numbers, undeclared values guessed."""
    lines = ["# Parameters injected by nbtrack run"]
    for name, text in values.items():
        lines.append(f"{name} = {_literal(text, types.get(name))!r}")
    return "\n".join(lines) + "\n"


def _literal(text: str, kind: str | None) -> Any:
    if kind == "float":
        return float(text)
    if kind == "int":
        return int(text)
    if kind is None:  # as papermill's -p: numbers and booleans are guessed
        for convert in (int, float):
            try:
                return convert(text)
            except ValueError:
                pass
        if text in ("True", "False"):
            return ast.literal_eval(text)
    return text


def inject(nb: Any, source: str) -> None:
    import nbformat

    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    nb.cells = [*cells[:at], cell, *cells[at:]]


def execute(src: str, out: str, values: dict[str, str], types: dict[str, str]) -> int:
    """Execute ``src`` with ``values`` into ``out``; 0 if every cell ran, 1 if one failed."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(src, as_version=4)
    inject(nb, parameter_source(values, types))
    status = 0
    with tempfile.TemporaryDirectory() as kernels:
        spec_dir = os.path.join(kernels, "project-python")
        os.makedirs(spec_dir)
        with open(os.path.join(spec_dir, "kernel.json"), "w") as f:  # this Python, not a "python3" on PATH
            json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                       "display_name": "Python 3", "language": "python"}, f)
        km = KernelManager(kernel_name="project-python", kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        if os.name == "posix":
            km.transport, km.ip = "ipc", os.path.join(kernels, "ipc")
        client = NotebookClient(nb, km=km, timeout=None, resources={"metadata": {"path": os.getcwd()}})
        try:
            client.execute()
        except CellExecutionError as e:
            print(f"A cell of {src} failed:\n{e}", file=sys.stderr)
            status = 1
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=False)  # a graceful exit flushes what the kernel logged
            nbformat.write(nb, out)
    return status


def main(argv: list[str]) -> int:
    if len(argv) < 3 or len(argv) % 2 == 0:
        print("usage: _notebook.py IN.ipynb OUT.ipynb TYPES_JSON [name value]...", file=sys.stderr)
        return 2
    src, out, types = argv[0], argv[1], json.loads(argv[2])
    pairs = argv[3:]
    values = {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}
    return execute(src, out, values, types)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
