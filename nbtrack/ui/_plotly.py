"""plotly FigureWidgets that share one copy of plotly's 5 MB widget bundle per kernel.

plotly's ``FigureWidget`` is an anywidget whose ``_esm`` trait holds the whole bundle, so
every chart ships (and the browser parses) 5 MB: six charts in a notebook took over a
minute to appear on a 2-core machine. Here one hidden :class:`_Bundle` model carries the
bundle once, rewritten to publish plotly's widget on ``globalThis``; each chart's ``_esm``
is a 1 KB module that waits for it and delegates. If the bundle's layout is not the one
expected (another plotly version), charts fall back to plain FigureWidgets.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import anywidget
import plotly.graph_objects as go

__all__ = ["FigureWidget", "shared_bundle_available"]

_GLOBAL = "__nbtrackPlotlyWidget"
_LOADER = """
const KEY = "%s";
async function plotlyWidget() {
  for (let i = 0; i < 1200 && !globalThis[KEY]; i++) await new Promise((r) => setTimeout(r, 50));
  if (!globalThis[KEY]) throw new Error("nbtrack: plotly's widget bundle did not load");
  return globalThis[KEY];
}
// plotly's default export is a factory of per-model {initialize, render}; anywidget awaits it
export default async () => {
  const widget = await plotlyWidget();
  return typeof widget === "function" ? widget() : widget;
};
""" % _GLOBAL

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _bundle_source() -> str | None:
    """plotly's bundle with its final export rewritten to set the global (None if unexpected)."""
    if "source" in _state:
        return _state["source"]
    esm = getattr(go.FigureWidget, "_esm", None)
    text = esm.read_text() if hasattr(esm, "read_text") else str(esm) if esm is not None else None
    source = None
    if text:
        matches = list(re.finditer(r"export\s*\{([^{}]*)\}\s*;?", text))
        if matches:
            last = matches[-1]
            names = dict(reversed(part.strip().split(" as ")) if " as " in part else (part.strip(), part.strip())
                         for part in last.group(1).split(","))
            local = names.get("default")
            if local and re.fullmatch(r"[\w$]+", local):
                source = (text[:last.start()] + f"globalThis.{_GLOBAL} = {local};\n"
                          "export default { initialize() {}, render() {} };\n" + text[last.end():])
    _state["source"] = source
    return source


def shared_bundle_available() -> bool:
    return _bundle_source() is not None


class _Bundle(anywidget.AnyWidget):
    """Never displayed: creating it makes the front end load the bundle once."""


def _ensure_bundle() -> None:
    with _lock:
        bundle = _state.get("widget")
        if bundle is None or bundle.comm is None:
            _state["widget"] = _Bundle(_esm=_bundle_source())


class FigureWidget(go.FigureWidget):
    """``go.FigureWidget`` whose front-end code comes from the shared bundle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if shared_bundle_available():
            _ensure_bundle()
        super().__init__(*args, **kwargs)



if shared_bundle_available():
    FigureWidget._esm = _LOADER  # type: ignore[assignment]
