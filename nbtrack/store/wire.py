"""DataFrames as JSON, exactly: how the view operations travel between server and client.

A frame becomes ``{"columns": [...], "dtypes": [...], "data": [[...], ...]}`` (column-major).
JSON has no NaN or infinity, so non-finite doubles are written as protobuf's JSON spells them
(``"NaN"``, ``"Infinity"``, ``"-Infinity"``): as plain strings in double columns, and as
``{"double": "NaN"}`` inside lists and structs (where a string could be a real text value).
Anything pandas can hold that a view returns (numbers, text, booleans, NULLs, lists, dicts)
round-trips with its dtype.

``frame_to_wire(frame, packed=True)`` (what a view saves in a notebook) writes each column of a
frame of 16 rows or more as a string, so that the notebook's JSON does not put every value on a
line of its own (nbformat indents), and smaller: ``{"f64": base64}`` for doubles (their IEEE bytes,
little-endian: exact, NaN and infinities included), ``{"same": i}`` for a column equal to column
``i``, ``{"dict": [values], "codes": base64}`` (int32 codes, -1 for NULL) for a column of few
distinct scalars, ``{"json": text}`` for any other. ``frame_from_wire`` reads both forms.
"""

from __future__ import annotations

import base64
import json
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


PACK_MIN_ROWS = 16


def frame_to_wire(frame: Any, packed: bool = False) -> dict[str, Any]:
    import pandas as pd

    pack = packed and len(frame) >= PACK_MIN_ROWS
    columns: list[str] = []
    dtypes: list[str] = []
    data: list[list[Any] | dict[str, Any]] = []
    seen: list[tuple[str, Any]] = []  # (dtype, plain values or double bytes) of each column so far
    for name in frame.columns:
        col = frame[name]
        dtype = str(col.dtype)
        columns.append(str(name))
        dtypes.append(dtype)
        if pack and dtype.startswith("float"):
            data.append(_packed_doubles(col, dtype, seen))
            continue
        if dtype.startswith("float"):
            values: list[Any] = [number_to_wire(float(v)) for v in col.tolist()]
        elif dtype == "object":
            values = [_nested_to_wire(v) for v in col.tolist()]
        else:
            values = [None if pd.isna(v) else _nested_to_wire(v) for v in col.tolist()]
        data.append(_packed(dtype, values, seen) if pack else values)
    return {"columns": columns, "dtypes": dtypes, "data": data}


def _packed_doubles(col: Any, dtype: str, seen: list[tuple[str, Any]]) -> dict[str, Any]:
    """A double column as its IEEE bytes, compared by them: -0.0 is not 0.0, NaN is NaN."""
    import numpy as np

    raw = np.ascontiguousarray(col.to_numpy(dtype="<f8")).tobytes()
    seen.append((dtype, raw))  # one entry per column: "same" names a column by its index
    for i, (other_dtype, other) in enumerate(seen[:-1]):
        if other_dtype == dtype and other == raw:
            return {"same": i}
    return {"f64": base64.b64encode(raw).decode("ascii")}


def _packed(dtype: str, values: list[Any], seen: list[tuple[str, Any]]) -> dict[str, Any]:
    import numpy as np

    seen.append((dtype, values))
    if dtype != "object":  # scalars only (a list or dict holding -0.0 would equal one holding 0.0)
        for i, (other_dtype, other) in enumerate(seen[:-1]):
            if other_dtype == dtype and _same(other, values):
                return {"same": i}
    if all(v is None or isinstance(v, str | int | bool) for v in values):
        index: dict[tuple[type, Any], int] = {}  # keyed with the type: 1 and True are two values
        for v in values:
            if v is not None:
                index.setdefault((type(v), v), len(index))
        if len(index) * 4 <= len(values):
            codes = np.array([-1 if v is None else index[(type(v), v)] for v in values], dtype="<i4")
            return {"dict": [v for _, v in index], "codes": base64.b64encode(codes.tobytes()).decode("ascii")}
    return {"json": json.dumps(values, separators=(",", ":"), allow_nan=False)}


def _same(a: list[Any], b: list[Any]) -> bool:
    # scalars (text, integers, booleans, NULL): the type check tells 1 from True
    return len(a) == len(b) and all(x == y and type(x) is type(y) for x, y in zip(a, b, strict=True))


def _unpacked(column: Any, data: list[Any]) -> list[Any]:
    """A column's plain values from its packed form (or the plain list itself)."""
    import numpy as np

    if isinstance(column, list):
        return column
    if "same" in column:
        return _unpacked(data[column["same"]], data)
    if "f64" in column:
        raw = np.frombuffer(base64.b64decode(column["f64"]), dtype="<f8")
        return [number_to_wire(float(v)) for v in raw]
    if "dict" in column:
        codes = np.frombuffer(base64.b64decode(column["codes"]), dtype="<i4")
        distinct = column["dict"]
        return [None if c < 0 else distinct[c] for c in codes.tolist()]
    return list(json.loads(column["json"]))


def frame_from_wire(wire: dict[str, Any]) -> Any:
    import pandas as pd

    series = {}
    plain = [_unpacked(column, wire["data"]) for column in wire["data"]]
    for name, dtype, values in zip(wire["columns"], wire["dtypes"], plain, strict=True):
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
