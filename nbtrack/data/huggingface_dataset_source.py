"""Where a Hugging Face dataset came from (MLflow's ``mlflow.data.huggingface_dataset_source``):
the arguments of ``datasets.load_dataset`` that load it again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nbtrack.data.dataset_source import DatasetSource, register_dataset_source

__all__ = ["HuggingFaceDatasetSource"]


class HuggingFaceDatasetSource(DatasetSource):
    """A Hugging Face dataset by its ``load_dataset`` arguments (``config_name`` is its ``name``).

    Examples
    --------
    >>> HuggingFaceDatasetSource("csv", data_files="train.csv", split="train").load()
    """

    source_type = "hugging_face"

    def __init__(self, path: str, config_name: str | None = None, data_dir: str | None = None,
                 data_files: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None = None,
                 split: Any = None, revision: Any = None, trust_remote_code: bool | None = None) -> None:
        self.path = path
        self.config_name = config_name
        self.data_dir = data_dir
        self.data_files = data_files
        self.split = split
        self.revision = revision
        self.trust_remote_code = trust_remote_code

    def load(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """``datasets.load_dataset`` with this source's arguments (and ``kwargs``, which may not repeat them)."""
        try:
            import datasets
        except ImportError:
            from nbtrack.errors import NbtrackError

            raise NbtrackError("Loading a Hugging Face dataset needs the `datasets` package: "
                               "pip install datasets.") from None
        args = {"path": self.path, "name": self.config_name, "data_dir": self.data_dir,
                "data_files": self.data_files, "split": self.split, "revision": self.revision}
        if self.trust_remote_code is not None:
            args["trust_remote_code"] = self.trust_remote_code
        if overlap := set(args) & set(kwargs):
            raise KeyError(f"Found duplicated arguments in `HuggingFaceDatasetSource` and `kwargs`: {overlap}. "
                           "Please remove them from `kwargs`.")
        return datasets.load_dataset(**args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "config_name": self.config_name, "data_dir": self.data_dir,
                "data_files": self.data_files, "split": str(self.split), "revision": self.revision}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> HuggingFaceDatasetSource:
        return cls(path=source_dict["path"], config_name=source_dict.get("config_name"),
                   data_dir=source_dict.get("data_dir"), data_files=source_dict.get("data_files"),
                   split=source_dict.get("split"), revision=source_dict.get("revision"))


register_dataset_source(HuggingFaceDatasetSource)
