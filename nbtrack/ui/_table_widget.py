"""The ipywidgets version of ``nbtrack.runs_table()`` (front ends without nbtrack's extension).

The widget is a small anywidget (``_table.js``, a few KB): the browser shows one page and
sends back what the user did (filter text, sort column, page, ticked runs, chosen
columns); the kernel answers each with one DuckDB query for the new page.
"""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from nbtrack.errors import InvalidFilter
from nbtrack.search import describe_filter
from nbtrack.ui import _data, _static
from nbtrack.ui._base import with_static
from nbtrack.ui._selection import Selection

__all__ = ["RunsTable"]

_HERE = pathlib.Path(__file__).parent


class RunsTable(anywidget.AnyWidget):
    """A page of runs with a filter box, sortable columns and a shared run selection.

    Prefer :func:`runs_table` to build one. Traits can be set from Python as from the
    browser: ``table.filter = "metrics.acc > 0.9"``, ``table.sort = "metric:acc"``,
    ``table.page = 2``, ``table.selected = [run_id]``, ``table.visible = [...]``.
    """

    _esm = _HERE / "_table.js"
    _css = _HERE / "_table.css"

    filter = traitlets.Unicode("").tag(sync=True)
    filter_error = traitlets.Dict().tag(sync=True)
    chips = traitlets.List(traitlets.Unicode()).tag(sync=True)
    sort = traitlets.Unicode("attr:start_time").tag(sync=True)
    descending = traitlets.Bool(True).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(50).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    group_by_cell = traitlets.Bool(False).tag(sync=True)
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    catalogue = traitlets.List(traitlets.Dict()).tag(sync=True)
    visible = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    colors = traitlets.Dict().tag(sync=True)
    info = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)

    def __init__(self, experiment: Any = None, filter: str = "", *, columns: Sequence[str] | None = None,
                 group_by_cell: bool = False, page_size: int = 50, sort: str = "attr:start_time",
                 descending: bool = True, selection: Selection | None = None) -> None:
        super().__init__()
        self.experiment_ids = _data.experiment_ids(experiment)
        self.selection = selection if selection is not None else Selection()
        self._lock = threading.RLock()
        self._page: _data.Page | None = None
        self._all_columns: dict[str, _data.Column] = {}
        self._chosen = list(columns) if columns is not None else None
        with self.hold_trait_notifications():
            self.filter, self.sort, self.descending = filter, sort, descending
            self.page_size, self.group_by_cell = page_size, group_by_cell
        self.selected = list(self.selection.run_ids)
        self.selection.observe(self._follow_selection, owner=self)
        self.observe(self._on_query, names=["sort", "descending", "page", "page_size", "group_by_cell"])
        self.observe(self._on_filter, names=["filter"])
        self.observe(self._on_visible, names=["visible"])
        self.observe(self._on_selected, names=["selected"])
        self._apply_filter(self.filter)

    def __repr__(self) -> str:
        return f"RunsTable({self.total} runs, filter={self.filter!r})"

    # -- data ------------------------------------------------------------------------------
    def refresh(self, catalogue: bool = True) -> None:
        """Fetch the current page again (and the column catalogue): new runs show up."""
        with self._lock:
            try:
                page = _data.fetch_page(
                    self.experiment_ids, self.filter, self.sort or None, self.descending, self.page,
                    self.page_size, self.group_by_cell, catalogue)
            except InvalidFilter as e:
                self._show_filter_error(e)
                return
            self._page = page
            with self.hold_sync():
                if page.columns is not None:
                    self._set_catalogue(page.columns)
                if page.offset // max(self.page_size, 1) != self.page:
                    self.set_trait("page", page.offset // max(self.page_size, 1))
                self.total = page.total
                self._render_rows()
                self.info = f"{page.total:,} runs · {page.seconds * 1000:.0f} ms"

    def _set_catalogue(self, columns: list[_data.Column]) -> None:
        self._all_columns = {c.id: c for c in columns}
        self.catalogue = [{"id": c.id, "label": c.label, "kind": c.kind, "count": c.count} for c in columns]
        if self._chosen is None:
            self._chosen = _data.default_columns(columns)
        wanted = [c for c in self._chosen if c in self._all_columns or c.startswith("attr:")]
        if wanted != self.visible:
            self.set_trait("visible", wanted)

    def _visible_columns(self) -> list[_data.Column]:
        out = []
        for cid in self.visible:
            col = self._all_columns.get(cid)
            if col is None:
                kind, _, key = cid.partition(":")
                col = _data.Column(cid, key, kind)
            out.append(col)
        return out

    def _render_rows(self) -> None:
        cols = self._visible_columns()
        self.columns = [{"id": c.id, "label": c.label, "kind": c.kind} for c in cols]
        rows = []
        for row in self._page.rows if self._page else []:
            cells = [_data.format_value(c.id, row.get(c.id)) for c in cols]
            rows.append({"id": row["run_id"], "cells": cells,
                         "n": row["n_cell"] if self.group_by_cell else 1})
        self.rows = rows
        self._update_colors()

    def _update_colors(self) -> None:
        self.colors = {r: self.selection.color(r) for r in self.selected}

    # -- events ----------------------------------------------------------------------------
    def _on_query(self, change: dict[str, Any]) -> None:
        if change["name"] in ("sort", "descending", "group_by_cell", "page_size") and self.page != 0:
            self.page = 0  # re-enters through this observer
            return
        self.refresh(catalogue=change["name"] == "group_by_cell")

    def _on_filter(self, change: dict[str, Any]) -> None:
        self._apply_filter(change["new"])

    def _apply_filter(self, text: str) -> None:
        try:
            chips = describe_filter(text)
        except InvalidFilter as e:
            self._show_filter_error(e)
            return
        with self.hold_sync():
            self.filter_error = {}
            self.chips = chips
            if self.page != 0:
                self.set_trait("page", 0)
            self.refresh(catalogue=True)

    def _show_filter_error(self, error: InvalidFilter) -> None:
        self.filter_error = {"problem": error.problem, "position": error.position, "text": error.text or self.filter}

    def _on_visible(self, change: dict[str, Any]) -> None:
        self._chosen = list(change["new"])
        if self._page is not None:
            self._render_rows()

    def _on_selected(self, change: dict[str, Any]) -> None:
        self.selection.set(change["new"], source=self)
        self._update_colors()

    def _follow_selection(self, run_ids: tuple[str, ...]) -> None:
        with self.hold_sync():
            self.set_trait("selected", list(run_ids))
            self._update_colors()

    # -- convenience -----------------------------------------------------------------------
    @property
    def page_run_ids(self) -> list[str]:
        """Run ids on the current page, in display order."""
        return list(self._page.run_ids) if self._page else []

    @property
    def selected_run_ids(self) -> list[str]:
        return list(self.selected)

    def to_pandas(self, max_results: int = 100_000) -> Any:
        """Every run matching the current filter as MLflow's search_runs DataFrame."""
        from nbtrack.tracking import fluent

        return fluent.search_runs(self.experiment_ids, self.filter, max_results=max_results)

    # -- static copy -----------------------------------------------------------------------
    def static_html(self, limit: int = 50) -> str:
        cols = self._visible_columns()
        rows = []
        for row in (self._page.rows if self._page else [])[:limit]:
            rows.append({"run_id": row["run_id"], **{c.id: _data.format_value(c.id, row.get(c.id)) for c in cols}})
        shown = min(len(rows), limit)
        caption = f"{self.total:,} runs" + (f" matching {self.filter}" if self.filter else "")
        if self.total > shown:
            caption += f" · first {shown} shown (static copy; run the notebook for the live table)"
        return _static.html_table([(c.id, c.label) for c in cols], rows, caption, highlight=self.selected)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return with_static(super()._repr_mimebundle_(**kwargs), self.static_html())
