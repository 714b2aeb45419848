"""DataFrames as JSON, exactly: how the view operations travel between server and client.

A frame becomes ``{"columns": [...], "dtypes": [...], "data": [[...], ...]}`` (column-major).
JSON has no NaN or infinity, so non-finite doubles are written as protobuf's JSON spells them
(``"NaN"``, ``"Infinity"``, ``"-Infinity"``): as plain strings in double columns, and as
``{"double": "NaN"}`` inside lists and structs (where a string could be a real text value).
Anything pandas can hold that a view returns (numbers, text, booleans, NULLs, lists, dicts)
round-trips with its dtype.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["frame_from_wire", "frame_to_wire", "number_from_wire", "number_to_wire"]

_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def number_to_wire(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def number_from_wire(value: Any) -> Any:
    return _WORDS.get(value, value) if isinstance(value, str) else value


def _nested_to_wire(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else {"double": number_to_wire(value)}
    if isinstance(value, dict):
        return {str(k): _nested_to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nested_to_wire(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _nested_to_wire(value.tolist())
    return value


def _nested_from_wire(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "double" in value:
            return _WORDS.get(value["double"], value["double"])
        return {k: _nested_from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nested_from_wire(v) for v in value]
    return value


def frame_to_wire(frame: Any) -> dict[str, Any]:
    import pandas as pd

    columns, dtypes, data = [], [], []
    for name in frame.columns:
        col = frame[name]
        dtype = str(col.dtype)
        if dtype.startswith("float"):
            values: list[Any] = [number_to_wire(float(v)) for v in col.tolist()]
        elif dtype == "object":
            values = [_nested_to_wire(v) for v in col.tolist()]
        else:
            values = [None if pd.isna(v) else _nested_to_wire(v) for v in col.tolist()]
        columns.append(str(name))
        dtypes.append(dtype)
        data.append(values)
    return {"columns": columns, "dtypes": dtypes, "data": data}


def frame_from_wire(wire: dict[str, Any]) -> Any:
    import pandas as pd

    series = {}
    for name, dtype, values in zip(wire["columns"], wire["dtypes"], wire["data"], strict=True):
        if dtype.startswith("float"):
            series[name] = pd.Series([number_from_wire(v) for v in values], dtype=dtype)
        elif dtype == "object":
            series[name] = pd.Series([_nested_from_wire(v) for v in values], dtype=object)
        else:
            try:
                series[name] = pd.Series(values, dtype=dtype)
            except (TypeError, ValueError):  # a dtype this pandas cannot name: keep the values
                series[name] = pd.Series(values)
    return pd.DataFrame(series, columns=list(wire["columns"]))
