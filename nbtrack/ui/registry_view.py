"""``registry_view(name)``: a registered model's versions and history in a notebook.

The view reads the registry once (call :meth:`RegistryView.refresh` to re-read) and is an
:class:`nbtrack.ui._mime.View`: JupyterLab with nbtrack's extension draws it from its data
(``extension/src/views/registry.ts``: versions, stages, aliases, the history and what each stage
held on a chosen date) and re-reads the registry through the Jupyter server; elsewhere the same
table shows as static HTML, which a saved notebook also carries. Each source run links to
``#nbtrack-run-<run_id>``, the anchor of that run's card.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import sys
import types
from dataclasses import dataclass
from typing import Any

from nbtrack.entities import ModelVersion, RegisteredModel, RegistryEvent
from nbtrack.errors import NbtrackError
from nbtrack.ui._mime import View

__all__ = ["HtmlCopy", "RegistryView", "registry_view"]

MAX_HISTORY = 50
MAX_HISTORY_DATA = 2000  # events the extension's data carries (its "as of" date replays them)
MAX_SIGNATURE_COLUMNS = 6
_STAGE_COLORS = {"Production": "#1a7f37", "Staging": "#9a6700", "Archived": "#6e7781", "None": "#57606a"}
_CELL = 'style="padding:2px 10px 2px 0;text-align:left;vertical-align:top"'
_MUTED = "color:#57606a"


@dataclass
class _VersionRow:
    version: ModelVersion
    run_name: str | None = None
    signature: str | None = None


class RegistryView(View):
    """What :func:`registry_view` returns: nbtrack's registry view in JupyterLab, an HTML table elsewhere."""

    view = "registry_view"

    def __init__(self, name: str, tracking_uri: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.tracking_uri = tracking_uri
        self.model: RegisteredModel | None = None
        self.versions: list[_VersionRow] = []
        self.history: list[RegistryEvent] = []

    def refresh(self) -> RegistryView:
        """Re-read the model, its versions and history from the store; returns self."""
        from nbtrack.tracking.client import Client

        client = Client(self.tracking_uri)
        self.model = client.get_registered_model(self.name)
        found = client.search_model_versions(f"name = '{_quote(self.name)}'", order_by=["version_number DESC"])
        self.versions = [_VersionRow(mv, _run_name(client, mv.run_id), _signature(client, mv)) for mv in found]
        try:
            self.history = client.get_model_version_history(self.name)
        except NbtrackError as e:  # a tracking server keeps no history (MLflow's REST API has none)
            if e.error_code != "NOT_IMPLEMENTED":
                raise
            self.history = []
        self._widget = None
        return self

    # -- View ----------------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {"name": self.name}

    def data(self) -> dict[str, Any]:
        return registry_data(self)

    def static_html(self) -> str:
        return render_html(self)

    def make_widget(self) -> Any:
        return HtmlCopy(render_html(self))

    def spec(self) -> dict[str, Any]:
        from nbtrack.tracking.fluent import get_registry_uri

        # the store this view read: its own, else the process's registry (it may not be the runs')
        return {**super().spec(), "tracking_uri": _uri(self.tracking_uri or get_registry_uri())}

    def _repr_html_(self) -> str:
        return render_html(self)

    def __repr__(self) -> str:
        lines = [f"RegistryView({self.name!r}): {len(self.versions)} versions"]
        for row in self.versions:
            mv = row.version
            aliases = " ".join(f"@{a}" for a in mv.aliases)
            lines.append(f"  v{mv.version} {mv.current_stage} {aliases} run={mv.run_id or '-'}".rstrip())
        return "\n".join(lines)


class HtmlCopy:
    """The fallback "widget" of the registry and models views: their static table, as HTML."""

    def __init__(self, page: str) -> None:
        self.page = page

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.page}


def _uri(uri: str) -> str:
    """A store path made absolute (the Jupyter server's working folder is not the kernel's)."""
    return uri if "://" in uri else os.path.abspath(uri)


def registry_data(view: RegistryView) -> dict[str, Any]:
    """The JSON the extension draws a :class:`RegistryView` from (see ``registry.ts``)."""
    model = view.model
    versions = [{"version": r.version.version, "stage": r.version.current_stage, "aliases": list(r.version.aliases),
                 "run_id": r.version.run_id, "run_name": r.run_name, "signature": r.signature,
                 "tags": dict(r.version.tags), "description": r.version.description or "",
                 "status": r.version.status, "source": r.version.source, "user_id": r.version.user_id,
                 "creation_timestamp": r.version.creation_timestamp,
                 "last_updated_timestamp": r.version.last_updated_timestamp} for r in view.versions]
    history = [{"timestamp": e.timestamp, "kind": e.kind, "version": e.version, "from": e.from_value,
                "to": e.to_value, "alias": e.alias, "user": e.user_id} for e in view.history[-MAX_HISTORY_DATA:]]
    return {"name": view.name,
            "model": None if model is None else {
                "name": model.name, "description": model.description or "", "tags": dict(model.tags),
                "aliases": {a: int(v) for a, v in model.aliases.items()},
                "creation_timestamp": model.creation_timestamp,
                "last_updated_timestamp": model.last_updated_timestamp},
            "versions": versions, "history": history, "history_total": len(view.history)}


def registry_view(name: str, tracking_uri: str | None = None) -> RegistryView:
    """Show registered model ``name``: versions with stage, aliases, source run and signature,
    then every stage transition and alias move (who, when, from, to).

    Examples
    --------
    >>> nbtrack.registry_view("iris")  # in a notebook cell
    """
    return RegistryView(name, tracking_uri).refresh()


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _run_name(client: Any, run_id: str | None) -> str | None:
    if not run_id:
        return None
    try:
        return client.get_run(run_id).info.run_name
    except NbtrackError:  # the run was deleted or belongs to another store: show the id only
        return None


def _signature(client: Any, mv: ModelVersion) -> str | None:
    """``inputs -> outputs`` from the version's MLmodel, or None when it has no signature."""
    try:
        location = client.get_model_version_download_uri(mv.name, mv.version)
    except NbtrackError:
        return None
    path = os.path.join(location, "MLmodel")
    if location.startswith(("mlflow-artifacts:", "http:", "https:")):  # on a tracking server
        from nbtrack.tracking.artifacts import download_artifacts

        try:
            path = download_artifacts(artifact_uri=location.rstrip("/") + "/MLmodel")
        except NbtrackError:
            return None
    if not os.path.isfile(path):
        return None
    import yaml

    try:
        with open(path) as f:
            signature = (yaml.safe_load(f) or {}).get("signature") or {}
    except (OSError, yaml.YAMLError):
        return None
    parts = [_schema(signature.get("inputs")), _schema(signature.get("outputs"))]
    if not parts[0] and not parts[1]:
        return None
    return f"{parts[0] or '?'} \u2192 {parts[1] or '?'}"


def _schema(text: Any) -> str:
    try:
        specs = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return ""
    if not isinstance(specs, list):
        return ""
    items = []
    for spec in specs:
        if spec.get("type") == "tensor":
            tensor = spec.get("tensor-spec", {})
            items.append(f"{spec.get('name') or 'tensor'}: {tensor.get('dtype')}{tuple(tensor.get('shape', ()))}")
        else:
            items.append(f"{spec['name']}: {spec.get('type')}" if spec.get("name") else str(spec.get("type")))
    more = len(items) - MAX_SIGNATURE_COLUMNS
    shown = ", ".join(items[:MAX_SIGNATURE_COLUMNS])
    return f"({shown}, +{more} more)" if more > 0 else f"({shown})"


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _nowrap(text: str) -> str:
    return f'<span style="white-space:nowrap">{html.escape(text)}</span>'


def _stage(stage: str | None) -> str:
    if stage is None:
        return ""
    color = _STAGE_COLORS.get(stage, "#57606a")
    return f'<span style="color:{color};font-weight:600">{html.escape(stage)}</span>'


def _version_row(row: _VersionRow) -> str:
    e, mv = html.escape, row.version
    aliases = " ".join(f"<code>@{e(a)}</code>" for a in mv.aliases)
    run = ""
    if mv.run_id:
        label = e(row.run_name) if row.run_name else f"<code>{e(mv.run_id[:8])}</code>"
        run = f'<a href="#nbtrack-run-{e(mv.run_id)}" title="run {e(mv.run_id)}">{label}</a>'
    cells = [f"<b>{mv.version}</b>", _stage(mv.current_stage), aliases, run,
             f'<code style="font-size:11px">{e(row.signature)}</code>' if row.signature else "",
             _nowrap(_time(mv.creation_timestamp)), e(mv.description or "")]
    return "<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in cells) + "</tr>"


def _event_row(event: RegistryEvent) -> str:
    e = html.escape
    if event.kind == "alias":
        what = f"<code>@{e(event.alias or '')}</code>"
        change = f"v{e(event.from_value or '-')} \u2192 v{e(event.to_value or '-')}".replace("v-", "-")
    elif event.kind == "renamed":
        what, change = "renamed", f"{e(event.from_value or '')} \u2192 {e(event.to_value or '')}"
    else:
        what = f"v{event.version}" + (f" {e(event.kind)}" if event.kind != "stage" else "")
        change = f"{_stage(event.from_value) or '-'} \u2192 {_stage(event.to_value) or '-'}"
    cells = [_nowrap(_time(event.timestamp)), what, change, e(event.user_id or "")]
    return "<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in cells) + "</tr>"


def _header(cells: list[str]) -> str:
    return "<tr>" + "".join(f'<th {_CELL.replace("padding", "font-weight:600;padding")}>{c}</th>'
                            for c in cells) + "</tr>"


def render_html(view: RegistryView) -> str:
    """The static HTML of a :class:`RegistryView`."""
    e, model = html.escape, view.model
    parts = ['<div class="nbtrack-registry" style="font:12px/1.45 system-ui,-apple-system,sans-serif;'
             'border:1px solid #d0d7de;border-radius:4px;padding:6px 10px;margin:2px 0;max-width:980px">',
             f"<div><b>{e(view.name)}</b>"]
    if model is not None:
        aliases = " ".join(f"<code>@{e(a)}=v{v}</code>" for a, v in model.aliases.items())
        parts.append(f' <span style="{_MUTED}">&middot; {len(view.versions)} versions'
                     f"{' &middot; ' + aliases if aliases else ''}</span>")
        if model.description:
            parts.append(f'<div style="{_MUTED}">{e(model.description)}</div>')
        if model.tags:
            tags = " ".join(f"<code>{e(k)}={e(v)}</code>" for k, v in model.tags.items())
            parts.append(f'<div style="{_MUTED}">tags {tags}</div>')
    parts.append("</div>")
    table = '<table style="border-collapse:collapse;margin:4px 0">'
    if view.versions:
        parts.append(table + _header(["version", "stage", "aliases", "source run", "signature", "created",
                                      "description"]))
        parts.extend(_version_row(r) for r in view.versions)
        parts.append("</table>")
    else:
        parts.append(f'<div style="{_MUTED}">no versions yet</div>')
    if view.history:
        shown = view.history[-MAX_HISTORY:]
        more = len(view.history) - len(shown)
        note = f' <span style="{_MUTED}">(last {MAX_HISTORY} of {len(view.history)})</span>' if more else ""
        parts.append(f'<div style="margin-top:4px"><b>history</b>{note}</div>')
        parts.append(table + _header(["when", "what", "change", "who"]))
        parts.extend(_event_row(ev) for ev in reversed(shown))
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)


class _CallableModule(types.ModuleType):
    """Once this module is imported, ``nbtrack.ui.registry_view`` is the module, not the function
    (the import system binds submodules on their package). Calling it still shows the view."""

    def __call__(self, name: str, tracking_uri: str | None = None) -> RegistryView:
        return registry_view(name, tracking_uri)


sys.modules[__name__].__class__ = _CallableModule
