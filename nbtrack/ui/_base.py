"""What every view shares: the live widget's MIME bundle plus a static HTML copy."""

from __future__ import annotations

from typing import Any

__all__ = ["callable_module", "with_static"]


def with_static(bundle: Any, html: str) -> Any:
    """Add ``text/html`` to a widget's ``_repr_mimebundle_`` result (a dict or (data, metadata)).

    JupyterLab renders the widget. Where widgets cannot render, the HTML shows instead: a
    notebook JupyterLab does not trust (it then runs only safe renderers), nbviewer, GitHub,
    ``nbconvert --to html``. (A trusted notebook reopened with a new kernel shows jupyterlab's
    "model not found" for every widget, ours included: re-run the cell.)
    """
    if isinstance(bundle, tuple):
        data, metadata = bundle
        return {**data, "text/html": html}, metadata
    if isinstance(bundle, dict):
        return {**bundle, "text/html": html}
    return bundle


def callable_module(module_name: str, function_name: str) -> None:
    """Make the module ``module_name`` callable as its function ``function_name``.

    ``nbtrack.ui.compare`` is both a submodule and the function it defines: Python binds the
    submodule on the package whenever it is imported directly, so a caller may get either.
    A callable module makes ``nbtrack.ui.compare(run_ids)`` work in both cases.
    """
    import sys
    import types

    module = sys.modules[module_name]

    class _CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(self, function_name)(*args, **kwargs)

    module.__class__ = _CallableModule
