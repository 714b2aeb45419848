"""Where a dataset came from (MLflow's ``mlflow.data.dataset_source``), and the registry that
turns a raw source (a path, a URL) into a :class:`DatasetSource` and a logged source back."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from nbtrack.errors import InvalidParameter, NotFound

__all__ = ["DatasetSource", "get_dataset_source_from_json", "get_registered_sources",
           "register_dataset_source", "resolve_dataset_source"]


class DatasetSource:
    """The origin of a dataset: a file, a URL, the code that built it.

    Subclasses give their ``source_type`` (``"local"``, ``"http"``, ``"code"``...), say whether
    they can stand for a raw source (``_can_resolve``) and serialise to a JSON dictionary.
    """

    source_type: ClassVar[str] = ""

    @classmethod
    def _get_source_type(cls) -> str:
        return cls.source_type

    def load(self, dst_path: str | None = None) -> Any:
        """Fetch what the source refers to (a local path, a downloaded file...)."""
        raise InvalidParameter(f"A {type(self).__name__} cannot be loaded; it only records where the data came from.")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> DatasetSource:
        raise InvalidParameter(f"{cls.__name__} cannot be built from {raw_source!r}.")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dictionary describing the source."""
        raise NotImplementedError

    def to_json(self) -> str:
        """The source as the JSON string stored with a logged dataset."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DatasetSource:
        raise NotImplementedError

    @classmethod
    def from_json(cls, source_json: str) -> DatasetSource:
        return cls.from_dict(json.loads(source_json))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.to_json()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


# Later registrations win, as in MLflow: generic sources first, specific ones after them.
_registry: list[type[DatasetSource]] = []


def register_dataset_source(source: type[DatasetSource]) -> None:
    """Add a :class:`DatasetSource` subclass to those ``from_pandas(source=...)`` may resolve to."""
    if source in _registry:
        _registry.remove(source)
    _registry.append(source)


def get_registered_sources() -> list[type[DatasetSource]]:
    """The registered source classes, most generic first."""
    return list(_registry)


def resolve_dataset_source(raw_source: Any,
                           candidate_sources: list[type[DatasetSource]] | None = None) -> DatasetSource:
    """Turn a raw source (``"data/train.csv"``, ``"https://..."``) into a :class:`DatasetSource`.

    Raises
    ------
    NotFound
        When no registered source understands ``raw_source``.
    """
    for source in reversed(_registry):
        if candidate_sources and not any(issubclass(source, c) for c in candidate_sources):
            continue
        if source._can_resolve(raw_source):
            return source._resolve(raw_source)
    raise NotFound(f"Could not find a source information resolver for the specified dataset source: "
                   f"{raw_source}. Give a local path, an http(s) URL, a URI with a known scheme, or a "
                   "DatasetSource instance.")


def get_dataset_source_from_json(source_json: str, source_type: str) -> DatasetSource:
    """Rebuild the :class:`DatasetSource` of a logged dataset from its JSON and type."""
    for source in reversed(_registry):
        if source._get_source_type() == source_type:
            return source.from_json(source_json)
    raise NotFound(f"Could not parse dataset source from JSON due to unrecognized source type: "
                   f"{source_type}. Known types: {sorted({s._get_source_type() for s in _registry})}.")
