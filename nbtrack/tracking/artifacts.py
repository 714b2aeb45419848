"""``nbtrack.artifacts`` (MLflow's ``mlflow.artifacts``): download, list and load artifacts by URI or
run id, through a :class:`~nbtrack.tracking.client.Client` of the tracking URI. The file writers and
the ``runs:/`` grammar are in :mod:`nbtrack.tracking.artifact_files` (re-exported here)."""

from __future__ import annotations

import io
import json
import os
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidParameter
from nbtrack.store.artifacts import local_path_of
from nbtrack.tracking.artifact_files import (
    image_series_path,
    parse_runs_uri,
    to_pil_image,
    write_dict,
    write_figure,
    write_image,
    write_table,
)
from nbtrack.tracking.client import Client

if TYPE_CHECKING:
    from nbtrack.entities import FileInfo

__all__ = ["download_artifacts", "image_series_path", "list_artifacts", "load_dict", "load_image", "load_text",
           "parse_runs_uri", "to_pil_image", "write_dict", "write_figure", "write_image", "write_table"]

def download_artifacts(artifact_uri: str | None = None, run_id: str | None = None,
                       artifact_path: str | None = None, dst_path: str | None = None,
                       tracking_uri: str | None = None, registry_uri: str | None = None) -> str:
    """Download (or locate) artifacts; MLflow's ``mlflow.artifacts.download_artifacts``.

    Give either ``artifact_uri`` (``runs:/``, ``models:/``, ``file:`` or a path) or ``run_id``
    (with an optional ``artifact_path``). ``registry_uri`` is the registry that resolves a
    ``models:/`` URI (by default ``nbtrack.get_registry_uri()``). Returns the local path.
    """
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameter("Exactly one of `artifact_uri` or `run_id` must be specified.")
    if artifact_uri is not None and artifact_path is not None:
        raise InvalidParameter("`artifact_path` cannot be given with `artifact_uri`; put the path in the URI.")
    if run_id is not None:
        return Client(tracking_uri).download_artifacts(run_id, artifact_path or "", dst_path)
    assert artifact_uri is not None
    if artifact_uri.startswith("runs:"):
        rid, path = parse_runs_uri(artifact_uri)
        return Client(tracking_uri).download_artifacts(rid, path, dst_path)
    return Client(tracking_uri, registry_uri)._download_uri(artifact_uri, dst_path)


def list_artifacts(artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
                   tracking_uri: str | None = None) -> list[FileInfo]:
    """The files and folders directly under an artifact location, as ``mlflow.artifacts.list_artifacts``.

    Give either ``artifact_uri`` (``runs:/<run_id>/<path>``, a server's ``mlflow-artifacts:`` URI,
    ``file:`` or a path) or ``run_id`` with an optional ``artifact_path``.
    """
    from nbtrack.store.artifacts import LocalArtifactRepository
    if (artifact_uri is None) == (run_id is None):
        raise InvalidParameter("Exactly one of `artifact_uri` or `run_id` must be specified.")
    if artifact_uri is not None and artifact_path is not None:
        raise InvalidParameter("`artifact_path` cannot be given with `artifact_uri`; put the path in the URI.")
    if run_id is not None:
        return Client(tracking_uri).list_artifacts(run_id, artifact_path)
    assert artifact_uri is not None
    if artifact_uri.startswith("runs:"):
        rid, path = parse_runs_uri(artifact_uri)
        return Client(tracking_uri).list_artifacts(rid, path or None)
    if artifact_uri.startswith(("mlflow-artifacts:", "http:", "https:")):
        from nbtrack.store.rest.artifacts import repository_for

        store = Client(tracking_uri).store
        return repository_for(artifact_uri, getattr(store, "http", None)).list_artifacts(None)
    local = os.path.abspath(local_path_of(artifact_uri))
    return LocalArtifactRepository(local).list_artifacts(None) if os.path.isdir(local) else []


def _read_artifact(artifact_uri: str) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifacts(artifact_uri=artifact_uri, dst_path=tmp)
        if os.path.isdir(path):
            raise InvalidParameter(f"{artifact_uri} is a folder of artifacts; name one file inside it.")
        with open(path, "rb") as f:
            return f.read()


def load_text(artifact_uri: str) -> str:
    """The text of one artifact file (UTF-8), e.g. ``load_text(f"runs:/{run_id}/notes.txt")``."""
    return _read_artifact(artifact_uri).decode("utf-8")


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """A JSON artifact (as ``log_dict`` writes with a ``.json`` name) read back as a dict."""
    try:
        return json.loads(_read_artifact(artifact_uri))
    except ValueError:
        raise InvalidParameter(f"Unable to form a JSON object from file content at {artifact_uri}: "
                               "load_dict reads JSON; use load_text for other files.") from None


def load_image(artifact_uri: str) -> Any:
    """An image artifact as a ``PIL.Image.Image`` (needs Pillow)."""
    try:
        from PIL import Image
    except ImportError:
        raise InvalidParameter("load_image needs Pillow: pip install pillow") from None
    image = Image.open(io.BytesIO(_read_artifact(artifact_uri)))
    image.load()
    return image


