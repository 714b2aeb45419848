"""The dataset sources nbtrack knows (MLflow's ``mlflow.data.sources``).

Local paths and ``file:`` URIs become :class:`LocalArtifactDatasetSource` (type ``"local"``),
``http(s)://`` URLs :class:`HTTPDatasetSource`, data built in code :class:`CodeDatasetSource`.
Object-store URIs (``s3://``, ``gs://``, ...) are recorded with MLflow's class names and source
types so lineage reads the same, but nbtrack does not download them: ``load()`` says so.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

from nbtrack.data.dataset_source import DatasetSource, register_dataset_source
from nbtrack.errors import InvalidParameter

__all__ = ["CodeDatasetSource", "FileSystemDatasetSource", "HTTPDatasetSource", "LocalArtifactDatasetSource"]


def _uri_of(source_dict: dict[str, Any], cls: type, key: str = "uri") -> str:
    value = source_dict.get(key)
    if value is None:
        raise InvalidParameter(f'Failed to parse {cls.__name__}. Missing expected key: "{key}"')
    return str(value)


class FileSystemDatasetSource(DatasetSource):
    """A dataset stored at a filesystem or object-store URI."""

    scheme = ""

    def __init__(self, uri: str) -> None:
        self._uri = str(uri)

    @property
    def uri(self) -> str:
        """The URI (or plain path) of the dataset."""
        return self._uri

    @classmethod
    def _can_resolve(cls, raw_source: Any) -> bool:
        return isinstance(raw_source, str) and urllib.parse.urlparse(raw_source).scheme == cls.scheme

    @classmethod
    def _resolve(cls, raw_source: Any) -> DatasetSource:
        return cls(str(raw_source))

    def load(self, dst_path: str | None = None) -> str:
        raise InvalidParameter(f"nbtrack does not download {self.scheme}:// sources ({self._uri}); "
                               "fetch the file yourself and use a local path as the source.")

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self._uri}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DatasetSource:
        return cls(_uri_of(source_dict, cls))


class LocalArtifactDatasetSource(FileSystemDatasetSource):
    """A dataset on the local filesystem: a plain path or a ``file:`` URI (source type ``local``)."""

    source_type = "local"

    @classmethod
    def _can_resolve(cls, raw_source: Any) -> bool:
        if not isinstance(raw_source, (str, Path)):
            return False
        parsed = urllib.parse.urlparse(str(raw_source))
        if parsed.scheme == "file":
            return not parsed.hostname or parsed.hostname in (".", "localhost", "127.0.0.1")
        return parsed.scheme == "" or (os.name == "nt" and len(parsed.scheme) == 1)

    def _local_path(self) -> str:
        parsed = urllib.parse.urlparse(self._uri)
        return urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else self._uri

    def load(self, dst_path: str | None = None) -> str:
        """The local path of the dataset, or a copy of it in ``dst_path`` when one is given."""
        path = os.path.abspath(self._local_path())
        if not os.path.exists(path):
            raise InvalidParameter(f"The dataset source {self._uri} does not exist on this machine.")
        if dst_path is None:
            return path
        os.makedirs(dst_path, exist_ok=True)
        target = os.path.join(dst_path, os.path.basename(path.rstrip(os.sep)))
        if os.path.isdir(path):
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)
        return target


class HTTPDatasetSource(DatasetSource):
    """A dataset at an ``http://`` or ``https://`` URL (source type ``http``)."""

    source_type = "http"

    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        """The URL of the dataset."""
        return self._url

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and urllib.parse.urlparse(raw_source).scheme in ("http", "https")

    @classmethod
    def _resolve(cls, raw_source: Any) -> DatasetSource:
        return cls(str(raw_source))

    def load(self, dst_path: str | None = None) -> str:
        """Download the URL into ``dst_path`` (a new temporary folder by default); return the file."""
        import tempfile
        import urllib.request

        name = os.path.basename(urllib.parse.urlparse(self._url).path) or "dataset_source"
        folder = dst_path or tempfile.mkdtemp()
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, name)
        with urllib.request.urlopen(self._url) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        return target

    def to_dict(self) -> dict[str, Any]:
        return {"url": self._url}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DatasetSource:
        return cls(_uri_of(source_dict, cls, "url"))


class CodeDatasetSource(DatasetSource):
    """Data built by code: the run context (user, source file, git commit) as tags (type ``code``)."""

    source_type = "code"

    def __init__(self, tags: dict[str, Any]) -> None:
        self._tags = tags

    @property
    def tags(self) -> dict[str, Any]:
        return self._tags

    def to_dict(self) -> dict[str, Any]:
        return {"tags": self._tags}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DatasetSource:
        return cls(tags=source_dict.get("tags") or {})


# Object stores: recorded with MLflow's names and source types, not fetched.
_REMOTE = {"s3": "S3", "r2": "R2", "b2": "B2", "gs": "GCS", "wasbs": "AzureBlob", "ftp": "FTP", "sftp": "SFTP",
           "hdfs": "Hdfs", "viewfs": "Hdfs", "abfss": "AzureDataLake"}


def _remote_source(scheme: str, prefix: str) -> type[FileSystemDatasetSource]:
    name = f"{prefix}ArtifactDatasetSource"
    doc = f"A dataset at a ``{scheme}://`` URI (recorded, not downloaded by nbtrack)."
    return type(name, (FileSystemDatasetSource,), {"scheme": scheme, "source_type": scheme, "__doc__": doc})


register_dataset_source(LocalArtifactDatasetSource)
for _scheme, _prefix in _REMOTE.items():
    _cls = _remote_source(_scheme, _prefix)
    if _cls.__name__ not in globals():  # hdfs and viewfs share a name, as in MLflow
        globals()[_cls.__name__] = _cls
        __all__.append(_cls.__name__)
    register_dataset_source(_cls)
register_dataset_source(HTTPDatasetSource)
register_dataset_source(CodeDatasetSource)
