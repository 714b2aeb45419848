"""Request bodies parse the same whichever JSON parser is installed: what orjson refuses (NaN
literals, integers past 64 bits, lone surrogates, deep nesting) goes to the standard library."""

from __future__ import annotations

import math

import pytest

from nbtrack.errors import InvalidParameter
from nbtrack.server.tracking._protocol import Field, parse_body

FIELDS = (Field("value", "double"), Field("step", "int64"), Field("key"),
          Field("items", "object", repeated=True, fields=(Field("x", "int64"),)))


def test_plain_bodies_and_the_literals_orjson_refuses():
    assert parse_body(b'{"value": 0.5, "step": 3, "key": "loss"}', FIELDS) == {"value": 0.5, "step": 3, "key": "loss"}
    assert math.isnan(parse_body(b'{"value": NaN}', FIELDS)["value"])  # Python's json.dumps writes these
    assert parse_body(b'{"value": -Infinity}', FIELDS)["value"] == -math.inf
    assert parse_body(b'{"value": "Infinity"}', FIELDS)["value"] == math.inf  # protobuf's spelling
    assert parse_body(b'{"key": "\\ud800"}', FIELDS)["key"] == "\ud800"  # a lone surrogate: refused later, by
    # the API's UTF-8 check, as before


@pytest.mark.parametrize(("body", "message"), [
    (b'{"step": 1180591620717411303424}', "int64 range"),  # 2**70: past what orjson reads
    (b'{"other": ' + b"[" * 40 + b"]" * 40 + b"}", "deeper than"),
    (b'{"value": 1', "not valid JSON"),
    (b'\xff\xfe', "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
])
def test_what_is_refused_is_refused_with_the_same_message(body, message):
    with pytest.raises(InvalidParameter, match=message):
        parse_body(body, FIELDS)
