"""Packed frames (what a view saves in a notebook) carry exactly what plain frames carry.

Every frame hypothesis draws (doubles with NaN, infinities and -0.0, nullable integers, text,
booleans, lists and dicts) reads back from its packed form as it does from its plain form, and
the packed form holds no JSON list longer than a column's distinct values, so nbformat's
indentation cannot put each value on a line of its own.
"""

from __future__ import annotations

import json
import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtrack.store.wire import PACK_MIN_ROWS, frame_from_wire, frame_to_wire

doubles = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.5])
scalars = st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8)
nested = st.recursive(scalars | st.floats(allow_nan=False, allow_infinity=False),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                      max_leaves=6)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 3 * PACK_MIN_ROWS))
    few = st.sampled_from(["run-a", "run-b", None])
    columns = {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(["f", "f-copy", "i", "s", "few", "b", "o", "mixed"]),
                                           min_size=1, max_size=10))):
        if kind == "f":
            columns[f"c{i}"] = pd.Series(draw(st.lists(doubles, min_size=n, max_size=n)), dtype="float64")
        elif kind == "f-copy" and columns:  # a copy of any earlier column: "same" names it by index
            columns[f"c{i}"] = draw(st.sampled_from(list(columns.values()))).copy()
        elif kind == "i":
            columns[f"c{i}"] = pd.array(draw(st.lists(st.none() | st.integers(-2**53, 2**53), min_size=n, max_size=n)),
                                        dtype="Int64")
        elif kind == "s":
            columns[f"c{i}"] = pd.Series(draw(st.lists(st.text(max_size=6), min_size=n, max_size=n)), dtype=object)
        elif kind == "few":
            columns[f"c{i}"] = pd.Series(draw(st.lists(few, min_size=n, max_size=n)), dtype=object)
        elif kind == "b":
            columns[f"c{i}"] = pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        elif kind == "o":
            columns[f"c{i}"] = pd.Series(draw(st.lists(nested, min_size=n, max_size=n)), dtype=object)
        else:  # 1, True and "1" in one column: three values
            columns[f"c{i}"] = pd.Series(draw(st.lists(st.sampled_from([1, True, "1", None]), min_size=n, max_size=n)),
                                         dtype=object)
    return pd.DataFrame(columns, index=range(n)) if columns else pd.DataFrame(index=range(n))


def same(a: object, b: object) -> bool:
    """Equal, with NaN equal to NaN, -0.0 told from 0.0 and 1 from True."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b) and not (a is None or b is None or (pd.isna(a) and pd.isna(b))):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)  # type: ignore[union-attr]
    return a is b or a == b or (pd.isna(a) and pd.isna(b))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(frames())
def test_packed_frames_read_back_as_the_plain_ones(frame: pd.DataFrame) -> None:
    plain = frame_from_wire(json.loads(json.dumps(frame_to_wire(frame))))
    packed_wire = json.loads(json.dumps(frame_to_wire(frame, packed=True)))
    packed = frame_from_wire(packed_wire)
    assert list(packed.columns) == list(plain.columns)
    assert [str(d) for d in packed.dtypes] == [str(d) for d in plain.dtypes]
    for name in plain.columns:
        assert len(packed[name]) == len(plain[name])
        for a, b in zip(plain[name].tolist(), packed[name].tolist(), strict=True):
            assert same(a, b), (name, a, b)
    if len(frame) >= PACK_MIN_ROWS:
        assert all(isinstance(column, dict) for column in packed_wire["data"])
        assert all(len(column.get("dict", [])) * 4 <= len(frame) for column in packed_wire["data"])


def test_a_bucket_frame_packs_to_a_fraction_of_its_plain_size() -> None:
    rows = 3000  # 5 runs x 3 keys x 200 points, one point per bucket: min = max = mean = first = last
    values = [math.sin(i) / 3 for i in range(rows)]
    frame = pd.DataFrame({
        "run_id": [f"{i % 5:032x}" for i in range(rows)], "key": [("loss", "acc", "lr")[i % 3] for i in range(rows)],
        "bucket": range(rows), "vmin": values, "vmax": values, "vmean": values, "v0": values, "v1": values,
        "x0": pd.array(range(rows), dtype="Int64"), "x1": pd.array(range(rows), dtype="Int64"),
        "last_ts": pd.array([1_796_410_155_777 + i % 5 for i in range(rows)], dtype="Int64")})
    plain = len(json.dumps(frame_to_wire(frame), indent=1))  # as nbformat writes it
    packed = len(json.dumps(frame_to_wire(frame, packed=True), indent=1))
    assert packed * 5 < plain, (packed, plain)
