"""The dataset base class (MLflow's ``mlflow.data.dataset.Dataset``) and helpers shared by the
concrete datasets."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from nbtrack.data.dataset_source import DatasetSource, resolve_dataset_source
from nbtrack.entities import Dataset as DatasetEntity

__all__ = ["Dataset", "PyFuncInputsOutputs", "resolve_source"]


class PyFuncInputsOutputs(NamedTuple):
    """What ``to_pyfunc()`` returns: the model inputs and, when the dataset has targets, the outputs."""

    inputs: Any
    outputs: Any = None


class Dataset:
    """A dataset used by a run: its name, digest, source, schema and profile.

    Subclasses hold the data (:class:`~nbtrack.data.pandas_dataset.PandasDataset`,
    :class:`~nbtrack.data.numpy_dataset.NumpyDataset`) and compute the digest from it unless
    one is given.
    """

    def __init__(self, source: DatasetSource, name: str | None = None, digest: str | None = None) -> None:
        self._name = name
        self._source = source
        self._digest = digest or self._compute_digest()

    def _compute_digest(self) -> str:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The dataset's name (``"dataset"`` unless one was given)."""
        return self._name if self._name is not None else "dataset"

    @property
    def digest(self) -> str:
        """A short fingerprint of the data, e.g. ``"498c7496"`` (MLflow's digest for the same data)."""
        return self._digest

    @property
    def source(self) -> DatasetSource:
        """Where the data came from (a :class:`DatasetSource`)."""
        return self._source

    @property
    def schema(self) -> Any:
        """The schema of the data, or None."""
        return None

    @property
    def profile(self) -> Any:
        """Summary statistics of the data (row and element counts...), or None."""
        return None

    def _get_source_type(self) -> str:
        return self._source._get_source_type()

    def to_dict(self) -> dict[str, str]:
        """The dataset as logged: ``name``, ``digest``, ``source`` (JSON), ``source_type``, and
        ``schema`` / ``profile`` (JSON) where the dataset has them."""
        return {"name": self.name, "digest": self.digest, "source": self._source.to_json(),
                "source_type": self._get_source_type()}

    def _logged_dict(self, schema_key: str | None, profile_default: Any = None) -> dict[str, str]:
        """``to_dict()`` of a dataset that logs its schema and profile: the schema as JSON (wrapped
        as ``{schema_key: ...}`` for column schemas; None when there is none) and the profile as JSON."""
        d = Dataset.to_dict(self)
        schema = self.schema
        body = None if not schema else schema.to_dict() if schema_key is None else {schema_key: schema.to_dict()}
        d["schema"] = json.dumps(body) if body is not None else None  # type: ignore[assignment]
        d["profile"] = json.dumps(self.profile, default=profile_default)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _to_mlflow_entity(self) -> DatasetEntity:
        d = self.to_dict()
        return DatasetEntity(d["name"], d["digest"], d["source_type"], d["source"], d.get("schema"), d.get("profile"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, digest={self.digest!r}, source_type={self._get_source_type()!r})"


def resolve_source(source: Any) -> DatasetSource:
    """``source`` as given to ``from_pandas``/``from_numpy``: a DatasetSource, a raw source, or
    None for the code that is running (user, source file, git commit)."""
    from nbtrack.data.sources import CodeDatasetSource
    from nbtrack.tracking.context import resolve_tags

    if isinstance(source, DatasetSource):
        return source
    if source is None:
        return CodeDatasetSource(tags=resolve_tags())
    return resolve_dataset_source(source)
