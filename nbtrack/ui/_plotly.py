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

__all__ = ["TEMPLATE", "FigureWidget", "shared_bundle_available"]

_AXIS = {"gridcolor": "#ebebeb", "zerolinecolor": "#dcdcdc", "linecolor": "#cccccc", "ticks": "",
         "automargin": True, "title": {"standoff": 8}}
#: A small white template: plotly's own templates are large dicts that every figure
#: deep-copies (about 70 ms each), which alone would eat a third of a chart's time budget.
TEMPLATE = go.layout.Template(layout={
    "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "#2a3f5f"},
    "colorway": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"],
    "xaxis": _AXIS, "yaxis": _AXIS, "hoverlabel": {"align": "left"},
})

_GLOBAL = "__nbtrackPlotlyWidget"
_LOADER = """
const KEY = "__KEY__";
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
""".replace("__KEY__", _GLOBAL)

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _bundle_source() -> str | None:
    """plotly's bundle with its final export rewritten to set the global (None if unexpected)."""
    if "source" in _state:
        return _state["source"]
    esm: Any = getattr(go.FigureWidget, "_esm", None)
    text = esm.read_text() if hasattr(esm, "read_text") else str(esm) if esm is not None else ""
    source = None
    matches = list(re.finditer(r"export\s*\{([^{}]*)\}\s*;?", text))
    if matches:
        last = matches[-1]
        names: dict[str, str] = {}
        for part in last.group(1).split(","):
            local, _, exported = part.strip().partition(" as ")
            names[exported or local] = local
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
        layout = kwargs.pop("layout", None) or {}
        if isinstance(layout, dict):
            layout = {"template": TEMPLATE, **layout}
        super().__init__(*args, layout=layout, **kwargs)



if shared_bundle_available():
    FigureWidget._esm = _LOADER
