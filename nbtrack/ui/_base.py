"""What every view shares: the live widget's MIME bundle plus a static HTML copy."""

from __future__ import annotations

from typing import Any

__all__ = ["with_static"]


def with_static(bundle: Any, html: str) -> Any:
    """Add ``text/html`` to a widget's ``_repr_mimebundle_`` result (a dict or (data, metadata)).

    JupyterLab renders the widget while its kernel lives and falls back to the HTML when the
    saved notebook is reopened without one; GitHub and nbviewer always show the HTML.
    """
    if isinstance(bundle, tuple):
        data, metadata = bundle
        return {**data, "text/html": html}, metadata
    if isinstance(bundle, dict):
        return {**bundle, "text/html": html}
    return bundle
