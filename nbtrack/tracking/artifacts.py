"""Artifact files of runs: writing helpers (text, dict, figure, image, table) and URIs."""

from __future__ import annotations

import io
import json
import os
import posixpath
import re
import shutil
import uuid
from typing import TYPE_CHECKING, Any

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.store.artifacts import local_path_of, safe_relpath

if TYPE_CHECKING:
    from nbtrack.entities import FileInfo
    from nbtrack.tracking.client import Client

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text", "parse_runs_uri", "write_dict", "write_figure", "write_image", "write_table"]

_RUNS_URI = re.compile(r"^runs:/+([^/]+)(?:/(.*))?$")


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` -> (run_id, path)."""
    match = _RUNS_URI.match(uri)
    if not match:
        raise InvalidParameter(
            f"Not a proper runs:/ URI: {uri!r}. runs:/ URIs must be of the form 'runs:/<run_id>/run-relative/path'."
        )
    return match.group(1), safe_relpath(match.group(2) or "")


def download_artifacts(artifact_uri: str | None = None, run_id: str | None = None,
                       artifact_path: str | None = None, dst_path: str | None = None,
                       tracking_uri: str | None = None, registry_uri: str | None = None) -> str:
    """Download (or locate) artifacts; MLflow's ``mlflow.artifacts.download_artifacts``.

    Give either ``artifact_uri`` (``runs:/``, ``models:/``, ``file:`` or a path) or ``run_id``
    (with an optional ``artifact_path``). ``registry_uri`` is the registry that resolves a
    ``models:/`` URI (by default ``nbtrack.get_registry_uri()``). Returns the local path.
    """
    from nbtrack.tracking.client import Client

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
    if artifact_uri.startswith("models:") and registry_uri is not None:
        from nbtrack.tracking.registry import resolve_models_uri

        return resolve_models_uri(artifact_uri, dst_path, client=Client(tracking_uri, registry_uri))
    if artifact_uri.startswith("models:"):
        from nbtrack.tracking import uri_resolvers

        return uri_resolvers.resolve("models", artifact_uri, dst_path)
    if artifact_uri.startswith(("mlflow-artifacts:", "http:", "https:")):  # a tracking server's artifact proxy
        from nbtrack.store.rest.artifacts import repository_for

        store = Client(tracking_uri).store
        return repository_for(artifact_uri, getattr(store, "http", None)).download_artifacts("", dst_path)
    return _copy_local(os.path.abspath(local_path_of(artifact_uri)), dst_path)


def list_artifacts(artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
                   tracking_uri: str | None = None) -> list[FileInfo]:
    """The files and folders directly under an artifact location, as ``mlflow.artifacts.list_artifacts``.

    Give either ``artifact_uri`` (``runs:/<run_id>/<path>``, a server's ``mlflow-artifacts:`` URI,
    ``file:`` or a path) or ``run_id`` with an optional ``artifact_path``.
    """
    from nbtrack.store.artifacts import LocalArtifactRepository
    from nbtrack.tracking.client import Client

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


def _copy_local(local: str, dst_path: str | None) -> str:
    """A path or ``file:`` URI the caller names is their own: copied as it is, links followed (as MLflow).

    Confinement is for a run's artifacts (``runs:/``, ``run_id``), whose links may have come from
    anyone who could write to the store.
    """
    if not os.path.exists(local):
        raise NotFound(f"No such file or directory: {local}")
    if dst_path is None:
        return local
    target = os.path.join(os.path.abspath(dst_path), os.path.basename(local.rstrip(os.sep)) or "artifacts")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isdir(local):
        shutil.copytree(local, target, dirs_exist_ok=True)
    else:
        shutil.copy2(local, target)
    return target


def write_dict(dictionary: Any, artifact_file: str) -> bytes:
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.dump(dictionary, indent=2, default_flow_style=False).encode()
    return json.dumps(dictionary, indent=2, default=str).encode()


def write_figure(figure: Any, artifact_file: str, save_kwargs: dict | None = None) -> bytes:
    module = type(figure).__module__
    buf = io.BytesIO()
    if module.startswith("matplotlib"):
        fmt = posixpath.splitext(artifact_file)[1].lstrip(".") or "png"
        figure.savefig(buf, format=fmt, **(save_kwargs or {}))
        return buf.getvalue()
    if module.startswith("plotly"):
        ext = posixpath.splitext(artifact_file)[1].lower()
        if ext == ".html":
            return figure.to_html(include_plotlyjs="cdn", **(save_kwargs or {})).encode()
        if ext in (".png", ".jpeg", ".jpg", ".webp", ".svg", ".pdf"):
            return figure.to_image(format=ext.lstrip("."), **(save_kwargs or {}))
        raise TypeError(f"Unsupported file extension for plotly figure: '{ext}'. Use .html, .png, .jpeg, "
                        ".webp, .svg or .pdf.")
    raise TypeError(f"Unsupported figure object type: '{type(figure)}'. Pass a matplotlib or plotly figure.")


def write_image(image: Any) -> bytes:
    """PNG bytes of a numpy array (HW, HWC; uint8 or float in [0, 1]), a PIL image or an
    ``nbtrack.Image`` / ``mlflow.Image``."""
    buf = io.BytesIO()
    to_pil_image(image).save(buf, format="PNG")
    return buf.getvalue()


def to_pil_image(image: Any) -> Any:
    """A PIL image of a numpy array or nested list (HW, HWC; uint8 or float in [0, 1]), a PIL image,
    or anything with ``to_pil()`` (``nbtrack.Image``, ``mlflow.Image``)."""
    from PIL import Image

    if hasattr(image, "to_pil") and not isinstance(image, Image.Image):
        image = image.to_pil()
    if not isinstance(image, Image.Image):
        import numpy as np

        array = np.asarray(image)
        if array.dtype.kind == "f":
            if array.size and (array.min() < 0 or array.max() > 1):
                raise InvalidParameter("Float images must have values in [0, 1]; scale them or pass uint8.")
            array = (array * 255).round().astype("uint8")
        elif array.dtype.kind in "iu":
            if array.size and (array.min() < 0 or array.max() > 255):
                raise InvalidParameter("Integer images must have values in [0, 255].")
            array = array.astype("uint8")
        elif array.dtype.kind == "b":
            array = array.astype("uint8") * 255
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3):
            raise InvalidParameter(f"An image must be 2-D (H, W) or 3-D (H, W, C); got shape {array.shape}.")
        image = Image.fromarray(array)
    return image


def image_series_path(key: str, step: int, timestamp: int) -> str:
    if not re.match(r"^[a-zA-Z0-9_\-./ ]+$", key):
        raise InvalidParameter(f"Invalid image key {key!r}: use letters, digits, _ - . / and spaces.")
    return f"images/{key.replace('/', '~')}+step+{step}+timestamp+{timestamp}+{uuid.uuid4().hex}.png"


def write_table(client: Client, run_id: str, data: Any, artifact_file: str) -> bytes:
    import pandas as pd

    if any(c in artifact_file for c in "\"',:[]{}"):
        raise InvalidParameter(f"Invalid artifact file {artifact_file!r}: it must not contain \" ' , : [ ] {{ }}.")
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    existing = None
    try:
        path = client.download_artifacts(run_id, artifact_file)
        existing = pd.read_parquet(path) if artifact_file.endswith(".parquet") else \
            pd.read_json(path, orient="split")
    except NotFound:
        pass
    if existing is not None:  # MLflow appends rows to an existing table
        frame = pd.concat([existing, frame], ignore_index=True)
    if artifact_file.endswith(".parquet"):
        buf = io.BytesIO()
        frame.to_parquet(buf)
        return buf.getvalue()
    if artifact_file.endswith(".json"):
        return frame.to_json(orient="split", index=False).encode()
    raise InvalidParameter(f"Invalid artifact file {artifact_file!r}: a table must end in .json or .parquet.")

