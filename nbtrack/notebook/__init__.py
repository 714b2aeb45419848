"""IPython extension: ``%load_ext nbtrack`` adds ``%%track`` and ``%nbtrack``.

Importing this package imports nothing from IPython; the work is done in private
modules loaded when the extension is.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    from nbtrack.notebook._extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from nbtrack.notebook._extension import unload

    unload(ipython)
