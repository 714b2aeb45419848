"""Artifact files, as bytes and run-relative paths: the writers behind ``log_dict``,
``log_figure``, ``log_image``, ``log_table``, and the ``runs:/`` URI grammar. No store access of
its own (``write_table`` reads the existing table through the client it is given), so the
``Client`` can use it without importing the fluent-level :mod:`nbtrack.tracking.artifacts`."""

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
from nbtrack.store.artifacts import safe_relpath

if TYPE_CHECKING:
    from nbtrack.tracking.client import Client

__all__ = ["copy_local", "image_series_path", "parse_runs_uri", "to_pil_image", "write_dict", "write_figure",
           "write_image", "write_table"]

_RUNS_URI = re.compile(r"^runs:/+([^/]+)(?:/(.*))?$")


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` -> (run_id, path)."""
    match = _RUNS_URI.match(uri)
    if not match:
        raise InvalidParameter(
            f"Not a proper runs:/ URI: {uri!r}. runs:/ URIs must be of the form 'runs:/<run_id>/run-relative/path'."
        )
    return match.group(1), safe_relpath(match.group(2) or "")


def copy_local(local: str, dst_path: str | None) -> str:
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

