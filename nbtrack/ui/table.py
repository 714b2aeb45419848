"""``nbtrack.runs_table()``: a paged, sortable, filterable table of runs.

The view sends the first page of runs as ``Store.runs_page`` returns it (with the key catalogue
for the column chooser); nbtrack's JupyterLab extension draws it (``extension/src/views/table.ts``)
and asks the store for every further page, sort and filter itself. Where the front end lacks the
extension, the anywidget version (``_table_widget``) does the same through the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from nbtrack.errors import InvalidFilter
from nbtrack.ui import _data, _static
from nbtrack.ui._mime import View
from nbtrack.ui._selection import Selection

__all__ = ["RunsTableView", "runs_table"]


class RunsTableView(View):
    """A page of runs as data for nbtrack's JupyterLab extension (or its widget elsewhere)."""

    view = "runs_table"

    def __init__(self, experiment: Any = None, filter: str = "", *, columns: Sequence[str] | None = None,
                 group_by_cell: bool = False, page_size: int = 50, sort: str = "attr:start_time",
                 descending: bool = True, selection: Selection | None = None) -> None:
        super().__init__()
        self.experiment_ids = _data.experiment_ids(experiment)
        self.filter, self.sort, self.descending = filter, sort, descending
        self.page_size, self.group_by_cell = page_size, group_by_cell
        self.chosen = list(columns) if columns is not None else None
        self.selection = selection
        self.selection_id = selection.id if selection is not None else None
        self._read: tuple[Any, dict[str, Any] | None] | None = None

    def __repr__(self) -> str:
        frame, _ = self._fetch()
        total = int(frame["total"].iloc[0]) if len(frame) else 0
        return f"RunsTable({total} runs, filter={self.filter!r})"

    def _fetch(self) -> tuple[Any, dict[str, Any] | None]:
        """(first page frame, filter error or None); a bad filter shows every run and says why."""
        if self._read is None:
            store = _data.fluent.active_store()
            group = _data.CELL_TAG if self.group_by_cell else None
            error = None
            try:
                frame = store.runs_page(self.experiment_ids, self.filter or None, self.sort or None,
                                        self.descending, 0, self.page_size, group, True)
            except InvalidFilter as e:
                error = {"problem": e.problem, "position": e.position, "text": e.text or self.filter}
                frame = store.runs_page(self.experiment_ids, None, self.sort or None, self.descending, 0,
                                        self.page_size, group, True)
            self._read = (frame, error)
        return self._read

    def _page(self) -> _data.Page:
        frame, _ = self._fetch()
        return _data.page_of(frame, 0, True)

    def _visible(self, page: _data.Page) -> list[_data.Column]:
        known = {c.id: c for c in page.columns or []}
        wanted = self.chosen if self.chosen is not None else _data.default_columns(known.values())
        return [known.get(cid) or _data.Column(cid, cid.partition(":")[2], cid.partition(":")[0]) for cid in wanted]

    def options(self) -> dict[str, Any]:
        return {"experiment_ids": self.experiment_ids, "filter": self.filter, "sort": self.sort,
                "descending": self.descending, "page_size": self.page_size, "group_by_cell": self.group_by_cell,
                "columns": self.chosen}

    def data(self) -> dict[str, Any]:
        from nbtrack.store.wire import frame_to_wire

        frame, error = self._fetch()
        catalogue = list(frame["catalogue"].iloc[0]) if len(frame) else []
        page = frame.drop(columns=["catalogue"])
        return {"page": frame_to_wire(page, packed=True), "catalogue": [dict(c) for c in catalogue], "error": error,
                "read_at": int(time.time() * 1000)}

    def static_html(self, limit: int = 50) -> str:
        page = self._page()
        cols = self._visible(page)
        rows = [{"run_id": row["run_id"], **{c.id: _data.format_value(c.id, row.get(c.id)) for c in cols}}
                for row in page.rows[:limit]]
        caption = f"{page.total:,} runs" + (f" matching {self.filter}" if self.filter else "")
        if page.total > len(rows):
            caption += f" · first {len(rows)} shown (static copy; run the notebook for the live table)"
        # the widget's selection once it exists (it makes one of its own when none was shared)
        selection = self._widget.selection if self._widget is not None else self.selection
        selected = selection.run_ids if selection is not None else ()
        return _static.html_table([(c.id, c.label) for c in cols], rows, caption, highlight=selected)

    def make_widget(self) -> Any:
        from nbtrack.ui._table_widget import RunsTable

        return RunsTable(self.experiment_ids, self.filter, columns=self.chosen, group_by_cell=self.group_by_cell,
                         page_size=self.page_size, sort=self.sort, descending=self.descending,
                         selection=self.selection)


def __getattr__(name: str) -> Any:
    if name == "RunsTable":  # the widget, for code that named it here
        from nbtrack.ui._table_widget import RunsTable

        return RunsTable
    raise AttributeError(name)


def runs_table(experiment: Any = None, filter: str = "", *, columns: Sequence[str] | None = None,
               group_by_cell: bool = False, page_size: int = 50, sort: str = "attr:start_time",
               descending: bool = True, selection: Selection | None = None) -> RunsTableView:
    """Show the runs of an experiment as a sortable, filterable, paged table.

    Parameters
    ----------
    experiment
        Experiment name or id (or a list); default: the active experiment.
    filter
        A ``search_runs`` filter, e.g. ``"metrics.acc > 0.9 AND params.model = 'rf'"``
        (``OR``, ``NOT`` and parentheses work too). A bad filter is shown under the box.
    columns
        Column ids to show: ``attr:run_name``, ``attr:status``, ``attr:start_time``,
        ``attr:duration``, ``attr:user_id``, ``attr:run_id``, ``param:<key>``,
        ``metric:<key>``, ``tag:<key>``. Default: name, status, start, duration and the
        most common params and metrics.
    group_by_cell
        Show only the newest run of each notebook cell (tag ``nbtrack.cell_id``).
    page_size
        Rows per page (the table fetches one page at a time).
    sort, descending
        Initial sort column id and direction.
    selection
        A :class:`~nbtrack.ui._selection.Selection` to share with other views.

    Nested runs show under their parent (tag ``mlflow.parentRunId``) and a missing value as ``\u2014``.

    Examples
    --------
    >>> table = nbtrack.runs_table("mnist", "metrics.acc > 0.9")  # doctest: +SKIP
    >>> table.widget.selected_run_ids  # the runs ticked (widget front ends)  # doctest: +SKIP
    """
    return RunsTableView(experiment, filter, columns=columns, group_by_cell=group_by_cell, page_size=page_size,
                         sort=sort, descending=descending, selection=selection)
