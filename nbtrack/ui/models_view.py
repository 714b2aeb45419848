"""``models_view(run_id=...)`` / ``models_view(experiment_ids=...)``: MLflow 3 logged models as a
notebook table: name, id, status, type, source run, the step it was logged at, metrics (the latest
value of each, with its dataset), params and tags.

The data comes from the public client (``search_logged_models``, ``get_run(...).outputs``,
``get_logged_model``), never from SQL, so the view works on any store that keeps logged models.
It reads once (call :meth:`ModelsView.refresh` to re-read) and is an :class:`nbtrack.ui._mime.View`:
JupyterLab with nbtrack's extension draws it from its data (``extension/src/views/registry.ts``)
and re-reads it through the Jupyter server; elsewhere, and in a saved notebook, it is static HTML. Source runs link to ``#nbtrack-run-<run_id>``, the anchor of the run's card;
:func:`models_html` is the same table for a run card or a run table to embed.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import sys
import types
from collections.abc import Sequence
from typing import Any

from nbtrack.entities import LoggedModel, Metric
from nbtrack.errors import InvalidParameter
from nbtrack.store.wire import number_to_wire
from nbtrack.ui._mime import View
from nbtrack.ui.registry_view import HtmlCopy

__all__ = ["ModelsView", "models_html", "models_view"]

MAX_MODELS = 200
MAX_ITEMS = 8  # metrics / params / tags shown per model before "+N more"
_STATUS_COLORS = {"READY": "#1a7f37", "PENDING": "#9a6700", "FAILED": "#cf222e"}
_CELL = 'style="padding:2px 10px 2px 0;text-align:left;vertical-align:top"'
_MUTED = "color:#57606a"


class ModelsView(View):
    """What :func:`models_view` returns: nbtrack's models view in JupyterLab, an HTML table elsewhere."""

    view = "models_view"

    def __init__(self, run_id: str | None = None, experiment_ids: list[str] | None = None,
                 tracking_uri: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.experiment_ids = experiment_ids
        self.tracking_uri = tracking_uri
        self.models: list[LoggedModel] = []
        self.steps: dict[str, int] = {}  # model_id -> step it is a run output at

    def refresh(self) -> ModelsView:
        """Re-read the logged models from the store; returns self."""
        from nbtrack.tracking.client import Client

        client = Client(self.tracking_uri)
        self.models, self.steps = models_of(client, self.run_id, self.experiment_ids)
        self._widget = None
        return self

    # -- View ----------------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "experiment_ids": self.experiment_ids}

    def data(self) -> dict[str, Any]:
        return {"title": self._title(), "experiment_ids": self._experiments(),
                "models": [model_data(m, self.steps.get(m.model_id)) for m in self.models]}

    def static_html(self) -> str:
        return self._repr_html_()

    def make_widget(self) -> Any:
        return HtmlCopy(self._repr_html_())

    def spec(self) -> dict[str, Any]:
        if not self.tracking_uri:
            return super().spec()
        uri = self.tracking_uri
        return {**super().spec(), "tracking_uri": uri if "://" in uri else os.path.abspath(uri)}

    def _experiments(self) -> list[str]:
        """The experiments the extension searches when it re-reads (a run's own, for a run)."""
        if self.experiment_ids is not None:
            return list(self.experiment_ids)
        return sorted({m.experiment_id for m in self.models})

    def _repr_html_(self) -> str:
        return models_html(self.models, self.steps, title=self._title())

    def _title(self) -> str:
        if self.run_id is not None:
            return f"logged models of run {self.run_id[:8]}"
        return "logged models of experiment" + ("s " if len(self.experiment_ids or []) > 1 else " ") + \
            ", ".join(self.experiment_ids or [])

    def __repr__(self) -> str:
        lines = [f"ModelsView: {len(self.models)} {self._title()}"]
        for m in self.models:
            metrics = " ".join(f"{k}={v.value:.4g}" for k, v in latest_metrics(m.metrics).items())
            lines.append(f"  {m.name} {m.model_id} {m.status} {metrics}".rstrip())
        return "\n".join(lines)


def model_data(model: LoggedModel, step: int | None) -> dict[str, Any]:
    """A logged model as the extension's JSON (non-finite metric values spelled as the wire does)."""
    metrics = [{"key": m.key, "value": number_to_wire(m.value), "step": m.step, "timestamp": m.timestamp,
                "dataset_name": m.dataset_name, "run_id": m.run_id} for m in model.metrics]
    return {"model_id": model.model_id, "experiment_id": model.experiment_id, "name": model.name,
            "status": model.status, "model_type": model.model_type, "source_run_id": model.source_run_id,
            "step": step, "creation_timestamp": model.creation_timestamp, "params": dict(model.params),
            "tags": dict(model.tags), "metrics": metrics}


def models_view(run_id: str | None = None, experiment_ids: Sequence[str] | str | None = None,
                tracking_uri: str | None = None) -> ModelsView:
    """Show the logged models of a run (those it logged and those it recorded as outputs), or of
    experiments (the active one by default), newest first.

    Examples
    --------
    >>> nbtrack.ui.models_view(run_id=run.info.run_id)   # in a notebook cell
    >>> nbtrack.ui.models_view(experiment_ids=["1"])
    """
    if run_id is not None and experiment_ids is not None:
        raise InvalidParameter("Pass run_id or experiment_ids, not both.")
    ids = [experiment_ids] if isinstance(experiment_ids, str) else (list(experiment_ids) if experiment_ids else None)
    if run_id is None and ids is None:
        from nbtrack.tracking import fluent

        ids = [fluent.active_experiment_id()]
    return ModelsView(run_id, ids, tracking_uri).refresh()


def models_of(client: Any, run_id: str | None, experiment_ids: list[str] | None) -> tuple[list[LoggedModel],
                                                                                          dict[str, int]]:
    """(logged models, {model_id: output step}) of a run or of experiments, newest first."""
    if run_id is None:
        found = client.search_logged_models(experiment_ids or [], max_results=MAX_MODELS)
        return list(found), {}
    run = client.get_run(run_id)
    steps = {o.model_id: o.step for o in run.outputs.model_outputs}
    found = list(client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'",
                                             max_results=MAX_MODELS))
    have = {m.model_id for m in found}
    for model_id in steps:  # outputs logged from another experiment's model, or with log_outputs
        if model_id not in have:
            found.append(client.get_logged_model(model_id))
    found.sort(key=lambda m: m.creation_timestamp, reverse=True)
    return found, steps


def latest_metrics(metrics: Sequence[Metric]) -> dict[str, Metric]:
    """The latest value of each metric key (greatest step, then timestamp), as a run's metrics."""
    latest: dict[str, Metric] = {}
    for m in metrics:
        key = m.key if not m.dataset_name else f"{m.key} ({m.dataset_name})"
        have = latest.get(key)
        if have is None or (m.step, m.timestamp) >= (have.step, have.timestamp):
            latest[key] = m
    return latest


def _time(ms: int | None) -> str:
    return "" if ms is None else dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _items(pairs: dict[str, str]) -> str:
    e = html.escape
    shown = [f"<code>{e(k)}={e(v)}</code>" for k, v in list(pairs.items())[:MAX_ITEMS]]
    more = len(pairs) - MAX_ITEMS
    return " ".join(shown) + (f' <span style="{_MUTED}">+{more} more</span>' if more > 0 else "")


def _row(model: LoggedModel, step: int | None) -> str:
    e = html.escape
    color = _STATUS_COLORS.get(model.status, "#57606a")
    run = ""
    if model.source_run_id:
        run = (f'<a href="#nbtrack-run-{e(model.source_run_id)}" title="run {e(model.source_run_id)}">'
               f"<code>{e(model.source_run_id[:8])}</code></a>")
    metrics = {k: f"{m.value:.4g}" for k, m in latest_metrics(model.metrics).items()}
    tags = {k: v for k, v in model.tags.items() if not k.startswith("mlflow.")}
    cells = [f"<b>{e(model.name)}</b><br><code style=\"font-size:11px;{_MUTED}\">{e(model.model_id)}</code>",
             f'<span style="color:{color};font-weight:600">{e(model.status)}</span>', e(model.model_type or ""),
             run, "" if step is None else str(step), _items(metrics), _items(model.params), _items(tags),
             f'<span style="white-space:nowrap">{e(_time(model.creation_timestamp))}</span>']
    return "<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in cells) + "</tr>"


def models_html(models: Sequence[LoggedModel], steps: dict[str, int] | None = None, title: str = "logged models") -> str:
    """The static HTML table of ``models`` (for a run card or a run table to embed)."""
    steps = steps or {}
    parts = ['<div class="nbtrack-models" style="font:12px/1.45 system-ui,-apple-system,sans-serif;'
             'border:1px solid #d0d7de;border-radius:4px;padding:6px 10px;margin:2px 0;max-width:1100px">',
             f"<div><b>{html.escape(title)}</b> <span style=\"{_MUTED}\">&middot; {len(models)}</span></div>"]
    if not models:
        parts.append(f'<div style="{_MUTED}">no logged models</div></div>')
        return "".join(parts)
    head = ["model", "status", "type", "source run", "step", "metrics", "params", "tags", "created"]
    parts.append('<table style="border-collapse:collapse;margin:4px 0"><tr>'
                 + "".join(f'<th {_CELL.replace("padding", "font-weight:600;padding")}>{h}</th>' for h in head)
                 + "</tr>")
    parts.extend(_row(m, steps.get(m.model_id)) for m in models)
    parts.append("</table></div>")
    return "".join(parts)


class _CallableModule(types.ModuleType):
    """Once imported, ``nbtrack.ui.models_view`` is this module (bound on its package); calling it
    still shows the view."""

    def __call__(self, run_id: str | None = None, experiment_ids: Sequence[str] | str | None = None,
                 tracking_uri: str | None = None) -> ModelsView:
        return models_view(run_id, experiment_ids, tracking_uri)


sys.modules[__name__].__class__ = _CallableModule
