"""``nbtrack.types.type_hints``: the public names of MLflow's ``mlflow.types.type_hints``."""

from __future__ import annotations

from nbtrack.models._type_hints import InvalidTypeHint as InvalidTypeHintException
from nbtrack.models._type_hints import TypeFromExample
from nbtrack.models._type_hints import UnsupportedTypeHint as UnsupportedTypeHintException

__all__ = ["InvalidTypeHintException", "TypeFromExample", "UnsupportedTypeHintException"]
