"""``nbtrack.pyfunc.utils`` (MLflow's ``mlflow.pyfunc.utils``): the ``@pyfunc`` decorator.

``@pyfunc`` makes a type-hinted function check and convert its input on every call, as the
``predict`` of a hinted ``PythonModel`` subclass does by itself; a function given to
``save_model(python_model=f)`` gets the same wrapping without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["pyfunc"]


def pyfunc(func: Callable[..., Any]) -> Callable[..., Any]:
    """Validate ``func``'s model input against its type hint on every call (MLflow's decorator).

    Examples
    --------
    >>> @pyfunc
    ... def predict(model_input: list[str]) -> list[str]:
    ...     return [s.upper() for s in model_input]
    >>> predict(["a"])
    ['A']
    """
    import functools

    from nbtrack.models._type_hints import wrap_predict

    wrapped = wrap_predict(func)
    if wrapped is func:  # nothing to check; still marked, as MLflow marks it
        @functools.wraps(func)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        wrapped._is_pyfunc = True  # type: ignore[attr-defined]
    return wrapped
