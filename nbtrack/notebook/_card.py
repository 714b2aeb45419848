"""The inline run card: a compact HTML + text summary of one run, live while its cell runs.

The card is plain ``text/html`` (inline CSS and SVG, no script, no widget state) with a
``text/plain`` twin, so a saved notebook shows it without a kernel, on GitHub and in
nbviewer, and ten cards weigh a few tens of kilobytes. While the cell runs, a daemon
thread re-reads the run at most a few times a second and updates the display in place.
"""

from __future__ import annotations

import contextvars
import html
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack.ui._mime import MIME, View

__all__ = ["CardData", "CardReader", "LiveCard", "RunCardView", "mime_bundle", "render_html", "render_text"]

log = logging.getLogger("nbtrack.notebook")

MAX_PARAMS = 12
MAX_METRICS = 8
SPARK_POINTS = 60
_COLORS = {"RUNNING": "#0969da", "FINISHED": "#1a7f37", "FAILED": "#cf222e", "KILLED": "#9a6700",
           "SCHEDULED": "#6e7781"}


def card_keys(metrics: dict[str, float]) -> list[str]:
    """The metrics a card shows: the run's own first, then ``system/*`` ones (system metrics
    logging adds eight or more, which would otherwise push ``val_loss`` into "+N more")."""
    return sorted(metrics, key=lambda k: (k.startswith("system/"), k))[:MAX_METRICS]


@dataclass
class CardData:
    """What a card shows; read from the store by :class:`CardReader`."""

    run_id: str
    name: str
    status: str
    experiment: str = ""
    start_time: int | None = None
    end_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    #: MLflow 3 logged models the run produced: (name, model_id, status), as ``run.outputs`` lists them
    models: list[tuple[str, str, str]] = field(default_factory=list)


class CardReader:
    """Reads one run for its card: the run, then its metric history thinned in the store
    (``Store.thin_history``), so a long training loop costs the card a fixed ``SPARK_POINTS``
    rows per key and refresh, on the embedded store and over HTTP alike.
    """

    def __init__(self, client: Any, run_id: str, experiment: str = "") -> None:
        self.client, self.run_id, self.experiment = client, run_id, experiment
        self._models: dict[str, tuple[str, str, str]] = {}  # model_id -> (name, id, status) once final

    def __call__(self, error: str | None = None) -> CardData:
        local = getattr(self.client.store, "local_run", None)
        run = local(self.run_id) if local is not None else None
        if run is None or run.data.metrics:  # sparklines need the stored history
            run = self.client.get_run(self.run_id)
        data = CardData(self.run_id, run.info.run_name or self.run_id[:8], run.info.status, self.experiment,
                        run.info.start_time, run.info.end_time, dict(run.data.params),
                        dict(run.data.metrics), error=error)
        if data.metrics:
            keys = card_keys(data.metrics)
            frame = self.client.store.thin_history(self.run_id, keys, SPARK_POINTS)  # thinned in the store
            for key, group in frame.groupby("key", sort=False):
                data.history[str(key)] = _downsample(group["value"].tolist(), SPARK_POINTS)
                data.steps[str(key)] = int(group["step"].iloc[-1])
        outputs = getattr(getattr(run, "outputs", None), "model_outputs", None) or []
        data.models = [self._model(o.model_id) for o in outputs]
        return data

    def _model(self, model_id: str) -> tuple[str, str, str]:
        """A model's name and status, read once it is final (READY or FAILED), every refresh before."""
        known = self._models.get(model_id)
        if known is None:
            model = self.client.get_logged_model(model_id)
            status = str(getattr(model.status, "name", model.status)).rsplit(".", 1)[-1]
            known = (model.name or model_id, model_id, status)
            if status in ("READY", "FAILED"):
                self._models[model_id] = known
        return known


def _downsample(values: Sequence[float], n: int) -> list[float]:
    """At most ``n`` points, keeping the first and the last."""
    if len(values) <= n:
        return list(values)
    stride = (len(values) - 1) / (n - 1)
    return [values[round(i * stride)] for i in range(n)]


# -- rendering ------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def _duration(data: CardData) -> str:
    if data.start_time is None:
        return ""
    end = data.end_time if data.end_time else time.time() * 1000
    seconds = max(0.0, (end - data.start_time) / 1000)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def scale_labels(lo: float, hi: float) -> tuple[str, str]:
    """The ends of a sparkline's scale, with enough digits that a small change reads as one."""
    for digits in range(4, 13):
        low, high = f"{lo:.{digits}g}", f"{hi:.{digits}g}"
        if low != high or lo == hi:
            return low, high
    return repr(lo), repr(hi)


def sparkline(values: Sequence[float], width: int = 120, height: int = 22) -> str:
    """An SVG sparkline and its scale: max above min at its right; a flat series is a level line."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(finite) < 2:
        return ""
    lo, hi = min(finite), max(finite)
    step = (width - 2) / (len(finite) - 1)
    if hi == lo:
        ys = [height / 2] * len(finite)
    else:
        ys = [height - 2 - (v - lo) / (hi - lo) * (height - 4) for v in finite]
    points = " ".join(f"{1 + i * step:.1f},{y:.1f}" for i, y in enumerate(ys))
    low, high = scale_labels(lo, hi)
    scale = (f"flat {html.escape(high)}" if hi == lo
             else f'<span title="max">{html.escape(high)}</span><br><span title="min">{html.escape(low)}</span>')
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'style="vertical-align:middle"><polyline fill="none" stroke="#0969da" '
            f'stroke-width="1.5" points="{points}"/></svg>'
            f'<span class="nbtrack-spark-scale" style="display:inline-block;vertical-align:middle;'
            f'font-size:9px;line-height:10px;color:#57606a;margin-left:3px">{scale}</span>')


def render_html(data: CardData) -> str:
    e = html.escape
    color = _COLORS.get(data.status, "#6e7781")
    head = [f"<b>{e(data.name)}</b>",
            f'<span style="color:{color};font-weight:600">&#9679; {e(data.status)}</span>']
    if data.start_time is not None:
        head.append(e(_duration(data)))
    if data.experiment:
        head.append(f"experiment {e(data.experiment)}")
    head.append(f'<code style="font-size:11px;color:#57606a">{e(data.run_id)}</code>')
    parts = [
        '<div class="nbtrack-card" style="font:12px/1.45 system-ui,-apple-system,sans-serif;'
        f'border:1px solid #d0d7de;border-left:4px solid {color};border-radius:4px;'
        'padding:5px 10px;margin:2px 0;max-width:760px">',
        f"<div>{' &middot; '.join(head)}</div>",
    ]
    if data.error:
        parts.append(f'<div style="color:#cf222e">{e(data.error)}</div>')
    if data.params:
        items = list(data.params.items())
        shown = " ".join(f'<code>{e(k)}={e(_short(v))}</code>' for k, v in items[:MAX_PARAMS])
        extra = f" &hellip; +{len(items) - MAX_PARAMS}" if len(items) > MAX_PARAMS else ""
        parts.append(f'<div style="color:#57606a">params {shown}{extra}</div>')
    if data.metrics:
        rows = []
        for key in card_keys(data.metrics):
            step = data.steps.get(key)
            step_text = f"step {step}" if step is not None and len(data.history.get(key, ())) > 1 else ""
            rows.append(
                f'<tr><td style="padding:0 8px 0 0;text-align:left">{e(key)}</td>'
                f'<td style="padding:0 8px 0 0;text-align:right"><b>{e(_fmt(data.metrics[key]))}</b></td>'
                f"<td style=\"padding:0\">{sparkline(data.history.get(key, []))}</td>"
                f'<td style="padding:0 0 0 8px;color:#57606a;text-align:left">{step_text}</td></tr>')
        more = len(data.metrics) - MAX_METRICS
        if more > 0:
            rows.append(f'<tr><td colspan="4" style="color:#57606a;text-align:left">+{more} more metrics</td></tr>')
        parts.append(f'<table style="border-collapse:collapse;margin:2px 0;font:inherit">{"".join(rows)}</table>')
    if data.models:
        shown = " ".join(f'<code title="models:/{e(mid)}">{e(name)}</code> <span style="color:#57606a">'
                         f'{e(status.lower())}</span>' for name, mid, status in data.models[:MAX_PARAMS])
        extra = f" &hellip; +{len(data.models) - MAX_PARAMS}" if len(data.models) > MAX_PARAMS else ""
        parts.append(f'<div style="color:#57606a">models {shown}{extra}</div>')
    parts.append("</div>")
    return "".join(parts)


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def render_text(data: CardData) -> str:
    lines = [f"nbtrack run '{data.name}' {data.status}"
             + (f" ({_duration(data)})" if data.start_time is not None else "")
             + f" id {data.run_id}"]
    if data.error:
        lines.append(f"  {data.error}")
    if data.params:
        lines.append("  params: " + ", ".join(f"{k}={_short(v)}" for k, v in list(data.params.items())[:MAX_PARAMS]))
    if data.metrics:
        lines.append("  metrics: " + ", ".join(f"{k}={_fmt(data.metrics[k])}" for k in card_keys(data.metrics)))
    if data.models:
        lines.append("  models: " + ", ".join(f"{name} (models:/{mid}, {status.lower()})" for name, mid, status in data.models))
    return "\n".join(lines)


def bundle(data: CardData) -> dict[str, Any]:
    return {"text/html": render_html(data), "text/plain": render_text(data)}


def _number(value: float) -> float | str:
    """JSON has no NaN or infinity: spelled as nbtrack's wire frames spell them."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def card_json(data: CardData) -> dict[str, Any]:
    """The card as the ``run_card`` view's data (strict JSON)."""
    return {"run_id": data.run_id, "name": data.name, "status": data.status, "experiment": data.experiment,
            "start_time": data.start_time, "end_time": data.end_time, "params": dict(data.params),
            "metrics": {k: _number(v) for k, v in data.metrics.items()}, "steps": dict(data.steps),
            "history": {k: [_number(v) for v in vs] for k, vs in data.history.items()},
            "error": data.error, "models": [list(m) for m in data.models]}


class RunCardView(View):
    """The card as data for nbtrack's JupyterLab extension (``extension/src/views/card.ts``), which
    keeps it live from the Jupyter server while the kernel is busy running the cell."""

    view = "run_card"

    def __init__(self, card: CardData) -> None:
        super().__init__()
        self.card = card

    def data(self) -> dict[str, Any]:
        return card_json(self.card)

    def static_html(self) -> str:
        return render_html(self.card)

    def make_widget(self) -> Any:
        raise NotImplementedError("The run card has no widget: where the extension is missing it is HTML "
                                  "refreshed from the kernel (nbtrack.notebook._card.bundle).")

    def __repr__(self) -> str:
        return render_text(self.card)

    def __getattr__(self, name: str) -> Any:  # no widget to forward to
        raise AttributeError(name)


def mime_bundle(data: CardData) -> dict[str, Any]:
    """The card's output on the extension's path: the view's data, its static copy and text."""
    return {MIME: RunCardView(data).spec(), "text/html": render_html(data), "text/plain": render_text(data)}


# -- the live card --------------------------------------------------------------------------
class LiveCard:
    """A display handle refreshed from a daemon thread until :meth:`finish`.

    ``read(error=None)`` returns fresh :class:`CardData`; ``publish(bundle, first)`` shows or updates
    the display; ``render`` makes the bundle (:func:`bundle`, or :func:`mime_bundle` for the
    extension). The refresh interval adapts to the cost of a read (at least ``min_interval``, at
    least four times the last read), so a slow store is polled less. With ``refresh=False`` no
    thread runs: the front end keeps the card live itself, and the kernel sends only the first
    and the final state.
    """

    def __init__(self, read: Callable[..., CardData], publish: Callable[[dict[str, Any], bool], None],
                 initial: CardData, live: bool, min_interval: float = 0.3,
                 render: Callable[[CardData], dict[str, Any]] = bundle, refresh: bool = True) -> None:
        self.read = read
        self._render = render
        self._publish = publish
        self._min_interval = min_interval
        self._stop = threading.Event()
        self._lock = threading.Lock()  # orders the thread's updates before the final one
        self._finished = False
        self._last_html = ""
        self._thread: threading.Thread | None = None
        self._shown = live
        if live:
            self._show(render(initial), first=True)
        if live and refresh:
            context = contextvars.copy_context()  # the kernel routes output by the cell's context
            self._thread = threading.Thread(target=context.run, args=(self._loop,),
                                            name="nbtrack-card", daemon=True)
            self._thread.start()

    def _show(self, payload: dict[str, Any], first: bool) -> None:
        if payload["text/html"] == self._last_html:
            return
        self._last_html = payload["text/html"]
        self._publish(payload, first)

    def _loop(self) -> None:
        interval = self._min_interval
        while not self._stop.wait(interval):
            started = time.perf_counter()
            try:
                data = self.read()
            except Exception as e:  # a failed refresh must never disturb the cell
                log.debug("nbtrack card refresh failed: %s", e)
                continue
            cost = time.perf_counter() - started
            interval = max(self._min_interval, 4 * cost)
            with self._lock:
                if self._finished:
                    return
                self._show(self._render(data), first=False)

    def stop(self) -> None:
        """Start no more refreshes (the one under way, if any, still completes)."""
        self._stop.set()

    def finish(self, final: CardData | None) -> None:
        """Stop refreshing and show ``final`` (when given) as the card's last state."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            self._finished = True
            if final is not None:
                self._show(self._render(final), first=not self._shown)
