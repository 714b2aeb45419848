"""Views as data: the ``application/vnd.nbtrack.view+json`` output nbtrack's JupyterLab extension draws.

A view's output carries what it shows (the runs, the downsampled histories), its arguments and
the tracking URI it read, next to a static ``text/html`` copy. JupyterLab with the extension
(``extension/``) draws it from that data at once and then refreshes it, live while runs log,
through the Jupyter server extension (``nbtrack.jupyter``): no widget, no comm, no kernel needed,
so a reopened notebook shows its views, and a saved notebook carries data, not JavaScript.

Front ends without the extension (VS Code, Colab, classic Notebook) get the ipywidgets version
of the view instead. Which one a kernel sends (:func:`use_widgets`): ``NBTRACK_VIEWS=widgets``
or ``=extension`` if set; else widgets in VS Code and Colab; else the extension's data whenever
the kernel was started by a Jupyter server with nbtrack's server extension, or by no front end
at all (nbconvert, nbclient, papermill: the saved notebook is opened in JupyterLab later).
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any

__all__ = ["MIME", "VERSION", "View", "extension_known", "new_selection_id", "use_widgets", "views_asked_for"]

MIME = "application/vnd.nbtrack.view+json"
VERSION = 1
_MARKER = "NBTRACK_JUPYTER_EXTENSION"  # nbtrack.jupyter.ENV_MARKER (jupyter sits above ui)


def views_asked_for() -> str | None:
    """``"widgets"`` or ``"extension"`` when ``NBTRACK_VIEWS`` names one, else None."""
    choice = os.environ.get("NBTRACK_VIEWS", "").strip().lower()
    if choice in ("widget", "widgets", "ipywidgets"):
        return "widgets"
    if choice in ("extension", "jupyterlab", "mime"):
        return "extension"
    return None


def extension_known() -> bool:
    """True where the kernel knows nbtrack's JupyterLab extension draws its views (and keeps them
    live from the Jupyter server): asked for, or started by a Jupyter server with nbtrack's server
    extension. Not the same as ``not use_widgets()``: a kernel started by no front end (nbconvert)
    sends the extension's data too, for a JupyterLab that opens the notebook later."""
    choice = views_asked_for()
    return choice == "extension" or (choice is None and bool(os.environ.get(_MARKER)))


def use_widgets() -> bool:
    """True where the front end cannot draw nbtrack's views itself (see the module's docstring)."""
    choice = views_asked_for()
    if choice is not None:
        return choice == "widgets"
    if os.environ.get(_MARKER):
        return False
    return bool("google.colab" in sys.modules or os.environ.get("VSCODE_PID") or os.environ.get("VSCODE_CWD"))


_told: list[bool] = []
FALLBACK_NOTE = ("nbtrack: these views are the widget versions for front ends without nbtrack's JupyterLab "
                 "extension. In JupyterLab (or Notebook 7), <code>pip install 'nbtrack[notebook]'</code> in the "
                 "environment that runs Jupyter gives the full views and the runs side panel.")


def _say_how_to_get_the_extension() -> None:
    """Once per kernel, above the first widget view: how to get the full one."""
    if _told or views_asked_for() == "widgets":
        return  # asked for widgets on purpose: nothing to tell
    _told.append(True)
    from IPython.display import display

    display({"text/html": f'<div style="font-size:12px;color:#666">{FALLBACK_NOTE}</div>',
             "text/plain": FALLBACK_NOTE.replace("<code>", "").replace("</code>", "")}, raw=True)


def new_selection_id() -> str:
    return uuid.uuid4().hex[:12]


class View:
    """What every view is: data for the extension, or its widget where the extension is missing.

    Subclasses set ``view`` (the name the extension knows it by) and implement :meth:`options`,
    :meth:`data`, :meth:`static_html` and :meth:`make_widget`. Public attributes a view does not have
    are looked up on its widget (``chart.figure``, ``table.filter``), which is built on first use.
    """

    view = ""
    _ready = False  # set once the subclass's __init__ has run: assignments then go to the widget

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        def __init__(self: View, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if type(self) is cls:
                object.__setattr__(self, "_ready", True)

        __init__.__doc__ = init.__doc__
        cls.__init__ = __init__  # type: ignore[method-assign]

    def __setattr__(self, name: str, value: Any) -> None:
        # after __init__, a public name the view does not have is the widget's, and one both have
        # is set on both once the widget exists (``table.filter = ...`` redraws the widget too)
        if not self._ready or name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        own = name in self.__dict__ or hasattr(type(self), name)
        if own:
            object.__setattr__(self, name, value)
        if not own or (self._widget is not None and hasattr(self._widget, name)):
            setattr(self.widget, name, value)

    def __init__(self) -> None:
        self._widget: Any = None
        self.selection_id: str | None = None

    # -- what a subclass provides ------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        return {}

    def data(self) -> dict[str, Any]:
        raise NotImplementedError

    def static_html(self) -> str:
        raise NotImplementedError

    def make_widget(self) -> Any:
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------------------
    @property
    def widget(self) -> Any:
        if self._widget is None:
            self._widget = self.make_widget()
        return self._widget

    def spec(self) -> dict[str, Any]:
        """The JSON of this view's ``application/vnd.nbtrack.view+json`` output."""
        from nbtrack.tracking.fluent import get_tracking_uri

        uri = get_tracking_uri()
        if "://" not in uri:  # a relative store path means the kernel's folder, not the Jupyter server's
            uri = os.path.abspath(uri)
        spec: dict[str, Any] = {"view": self.view, "version": VERSION, "tracking_uri": uri,
                                "options": self.options(), "data": self.data()}
        if self.selection_id:
            spec["selection"] = self.selection_id
        return spec

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        if use_widgets():
            from nbtrack.ui._base import with_static

            _say_how_to_get_the_extension()
            return with_static(self.widget._repr_mimebundle_(include=include, exclude=exclude), self.static_html())
        return {MIME: self.spec(), "text/html": self.static_html(), "text/plain": repr(self)}

    def __getattr__(self, name: str) -> Any:
        # only public names: IPython's display looks up _ipython_display_, _repr_html_ and the like,
        # and forwarding those would build the widget (importing plotly: seconds) for nothing
        if name.startswith("_") or name == "selection_id":
            raise AttributeError(name)
        return getattr(self.widget, name)
