"""Static copies of the views for saved notebooks: HTML tables and SVG charts, no JavaScript.

Each view's MIME bundle carries one beside the widget. Wherever the widget cannot render
(a notebook JupyterLab does not trust, so only "safe" renderers run: a copy someone else
opens; nbviewer; GitHub; ``nbconvert --to html``) the copy is shown instead. Charts are
SVG documents inside ``<img src="data:image/svg+xml;base64,...">``: HTML sanitizers strip
inline ``<svg>`` but keep images. Sizes stay small: a page of table rows, a few hundred
points per line, a few hundred lines in parallel coordinates.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

__all__ = ["Axis", "Line", "Panel", "as_img", "html_table", "note", "svg_lines", "svg_parcoords", "viridis"]

_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:12px"
_STATUS_COLORS = {"RUNNING": "#1f77b4", "FINISHED": "#2ca02c", "FAILED": "#d62728", "KILLED": "#7f7f7f"}


def as_img(svg: str, alt: str) -> str:
    """The SVG as an ``<img>`` with a data URI: HTML sanitizers (JupyterLab for notebooks it does
    not trust, GitHub) strip inline ``<svg>`` elements but keep images."""
    import base64

    data = base64.b64encode(svg.encode()).decode()
    return f'<img alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}"/>'


def note(text: str) -> str:
    return f'<div style="{_FONT};color:#666;margin:2px 0">{escape(text)}</div>'


def html_table(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, str]], caption: str = "",
               highlight: Sequence[str] = ()) -> str:
    """A plain HTML table; ``rows`` map column id -> already formatted text."""
    marked = set(highlight)
    head = "".join(f'<th style="text-align:left;padding:3px 8px;border-bottom:2px solid #ccc">'
                   f"{escape(label)}</th>" for _, label in columns)
    body = []
    for row in rows:
        style = "background:#fff3c4" if row.get("run_id") in marked else ""
        cells = []
        for cid, _ in columns:
            text = row.get(cid, "")
            if cid == "attr:status" and text:
                color = _STATUS_COLORS.get(text, "#555")
                text_html = f'<span style="color:{color};font-weight:600">{escape(text)}</span>'
            else:
                text_html = escape(text)
            cells.append(f'<td style="padding:2px 8px;border-bottom:1px solid #eee">{text_html}</td>')
        body.append(f'<tr style="{style}">{"".join(cells)}</tr>')
    cap = f'<caption style="caption-side:bottom;text-align:left;color:#666">{escape(caption)}</caption>' \
        if caption else ""
    return (f'<table style="border-collapse:collapse;{_FONT}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


@dataclass
class Line:
    name: str
    x: np.ndarray
    y: np.ndarray
    color: str = "#1f77b4"
    opacity: float = 1.0
    width: float = 1.5


@dataclass
class Panel:
    title: str
    lines: list[Line] = field(default_factory=list)
    log_y: bool = False
    x_label: str = ""


def _decimate(x: np.ndarray, y: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` points, keeping each chunk's min and max (spikes survive)."""
    n = len(x)
    if n <= limit:
        return x, y
    chunks = max(limit // 2, 1)
    edges = np.linspace(0, n, chunks + 1).astype(int)
    keep = set()
    for a, b in itertools.pairwise(edges):
        if b > a:
            seg = y[a:b]
            keep.add(a + int(np.nanargmin(seg)) if np.isfinite(seg).any() else a)
            keep.add(a + int(np.nanargmax(seg)) if np.isfinite(seg).any() else b - 1)
    keep |= {0, n - 1}
    idx = np.array(sorted(keep))
    return x[idx], y[idx]


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi]."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2g}"
    return f"{value:.4g}"


def svg_lines(panels: Sequence[Panel], width: int = 720, panel_height: int = 220,
              points_per_line: int = 300, x_format: Any = None) -> str:
    """Stacked line-chart panels sharing a legend, as one inline SVG."""
    fmt_x = x_format or _fmt
    parts = []
    legend: dict[str, str] = {}
    left, right, top, bottom = 60, 12, 22, 28
    height = panel_height * len(panels)
    for p_index, panel in enumerate(panels):
        y0 = p_index * panel_height
        plot_w, plot_h = width - left - right, panel_height - top - bottom
        xs = [ln.x for ln in panel.lines if len(ln.x)]
        ys = [_transform(ln.y, panel.log_y) for ln in panel.lines if len(ln.y)]
        parts.append(f'<text x="{left}" y="{y0 + 14}" style="{_FONT};font-weight:600">{escape(panel.title)}</text>')
        if not xs:
            parts.append(f'<text x="{left + 10}" y="{y0 + top + 30}" style="{_FONT};fill:#888">no data</text>')
            continue
        x_lo, x_hi = _finite_range(np.concatenate(xs))
        y_lo, y_hi = _finite_range(np.concatenate(ys))
        if y_hi == y_lo:
            y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
        if x_hi == x_lo:
            x_lo, x_hi = x_lo - 0.5, x_hi + 0.5

        def sx(v: Any, lo: float = x_lo, hi: float = x_hi, w: float = plot_w) -> Any:
            return left + (v - lo) / (hi - lo) * w

        def sy(v: Any, lo: float = y_lo, hi: float = y_hi, base: float = y0, h: float = plot_h) -> Any:
            return base + top + h - (v - lo) / (hi - lo) * h

        parts.append(f'<rect x="{left}" y="{y0 + top}" width="{plot_w}" height="{plot_h}" '
                     f'fill="none" stroke="#ccc"/>')
        for t in _ticks(y_lo, y_hi):
            yy = float(sy(np.array(t)))
            label = _fmt(10 ** t) if panel.log_y else _fmt(t)
            parts.append(f'<text x="{left - 4}" y="{yy + 4:.1f}" text-anchor="end" style="{_FONT};fill:#555">'
                         f"{escape(label)}</text>")
        for t in _ticks(x_lo, x_hi):
            xx = float(sx(np.array(t)))
            parts.append(f'<text x="{xx:.1f}" y="{y0 + panel_height - 10}" text-anchor="middle" '
                         f'style="{_FONT};fill:#555">{escape(str(fmt_x(t)))}</text>')
        for line in panel.lines:
            x, y = _decimate(np.asarray(line.x, float), _transform(line.y, panel.log_y), points_per_line)
            ok = np.isfinite(x) & np.isfinite(y)
            if not ok.any():
                continue
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx(x[ok]), sy(y[ok]), strict=True))
            parts.append(f'<polyline fill="none" stroke="{line.color}" stroke-opacity="{line.opacity}" '
                         f'stroke-width="{line.width}" points="{pts}"/>')
            if line.opacity >= 0.5:
                legend.setdefault(line.name, line.color)
    items = list(legend.items())[:12]
    legend_h = 18 * ((len(items) + 3) // 4)
    for i, (name, color) in enumerate(items):
        lx, ly = left + (i % 4) * 170, height + 14 + 18 * (i // 4)
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="4" fill="{color}"/>'
                     f'<text x="{lx + 16}" y="{ly - 4}" style="{_FONT}">{escape(name[:24])}</text>')
    total_h = height + legend_h + 6
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_h}" '
            f'viewBox="0 0 {width} {total_h}">{"".join(parts)}</svg>')


def _transform(y: Any, log: bool) -> np.ndarray:
    arr = np.asarray(y, dtype=float)
    if not log:
        return arr
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(arr > 0, np.log10(np.where(arr > 0, arr, 1.0)), np.nan)


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


@dataclass
class Axis:
    """One parallel-coordinates axis, values already mapped to positions (log10 applied)."""

    label: str
    values: np.ndarray
    tick_values: list[float]
    tick_text: list[str]


_VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
            "#b5de2b", "#fde725"]


def viridis(t: float) -> str:
    """Colour for ``t`` in [0, 1] (viridis, 10 steps)."""
    if not math.isfinite(t):
        return "#bbbbbb"
    return _VIRIDIS[min(max(int(t * len(_VIRIDIS)), 0), len(_VIRIDIS) - 1)]


def svg_parcoords(axes: Sequence[Axis], colors: Sequence[str], width: int = 720, height: int = 300,
                  limit: int = 300, title: str = "") -> str:
    """Parallel coordinates: one polyline per run (at most ``limit``) across vertical axes."""
    if not axes:
        return note("no axes to draw")
    left, right, top, bottom = 40, 40, 36, 24
    plot_h = height - top - bottom
    gap = (width - left - right) / max(len(axes) - 1, 1)
    parts = [f'<text x="4" y="14" style="{_FONT};font-weight:600">{escape(title)}</text>'] if title else []
    n = len(axes[0].values)
    scaled = []
    for axis in axes:
        lo, hi = _finite_range(np.asarray(axis.values, float))
        tick_lo = min([lo, *axis.tick_values]) if axis.tick_values else lo
        tick_hi = max([hi, *axis.tick_values]) if axis.tick_values else hi
        span = (tick_hi - tick_lo) or 1.0
        scaled.append((np.asarray(axis.values, float), tick_lo, span))
    for i in range(min(n, limit)):
        pts = []
        for j, (vals, lo, span) in enumerate(scaled):
            v = vals[i]
            if not math.isfinite(v):
                continue
            pts.append(f"{left + j * gap:.1f},{top + plot_h - (v - lo) / span * plot_h:.1f}")
        if len(pts) > 1:
            parts.append(f'<polyline fill="none" stroke="{colors[i]}" stroke-opacity="0.6" points="{" ".join(pts)}"/>')
    for j, axis in enumerate(axes):
        x = left + j * gap
        _, lo, span = scaled[j]
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" style="{_FONT};font-weight:600">'
                     f"{escape(axis.label[:18])}</text>")
        for tv, tt in list(zip(axis.tick_values, axis.tick_text, strict=True))[:6]:
            y = top + plot_h - (tv - lo) / span * plot_h
            parts.append(f'<text x="{x + 4:.1f}" y="{y + 4:.1f}" style="{_FONT};fill:#555">{escape(tt[:12])}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(parts)}</svg>')
