"""nbtrack's Jupyter server extension: the store's REST API inside the Jupyter server.

The JupyterLab extension (``extension/``: the inline views and the side panel) reads runs
through the same REST API a ``nbtrack server`` serves, at ``<base_url>/nbtrack/api/2.0/...``
of the Jupyter server, so it needs no kernel: a reopened notebook's views and the side panel
work with none running. Which store a request reads is named by the ``X-Nbtrack-Store``
header (a tracking URI, as the kernel resolved it) or, for the side panel, resolved from a
notebook's folder. Only reads are served: a writing endpoint answers 403.

Enabled on install by ``jupyter-config/jupyter_server_config.d/nbtrack.json``.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ENV_MARKER", "_jupyter_server_extension_points", "_load_jupyter_server_extension"]

#: Set in the Jupyter server's environment when this extension loads, so kernels it starts
#: know their front end can draw nbtrack's views (see nbtrack.ui._mime).
ENV_MARKER = "NBTRACK_JUPYTER_EXTENSION"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nbtrack.jupyter._handlers import handlers

    base = serverapp.web_app.settings.get("base_url", "/")
    serverapp.web_app.add_handlers(".*$", handlers(base, serverapp.root_dir))
    os.environ[ENV_MARKER] = "1"
    serverapp.log.info("nbtrack: REST API for the views and the side panel at %snbtrack/api/", base)


# the name older jupyter_server versions look for
load_jupyter_server_extension = _load_jupyter_server_extension
