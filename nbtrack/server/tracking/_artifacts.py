"""MLflow's ``mlflow-artifacts`` proxy: upload, download, list and delete under one served folder.

Every path goes through :func:`nbtrack.store.artifacts.safe_relpath` (no ``..``, absolute paths,
URIs, backslashes, NUL or their URL-encoded forms) and :class:`LocalArtifactRepository` (symbolic
links may not lead outside the folder; files are opened without following links). The
``_registry/`` prefix shows the store's copies of registered model versions, read-only.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

from nbtrack.errors import ArtifactPathError, InvalidParameter, NbtrackError, NotFound
from nbtrack.server.tracking import _convert as conv
from nbtrack.server.tracking._convert import REGISTRY_PREFIX, Locations, confined
from nbtrack.store.artifacts import LocalArtifactRepository

__all__ = ["MULTIPART_PREFIX", "TooLarge", "delete", "list_files", "open_download", "open_regular", "read_chunks",
           "receive", "save_upload"]

CHUNK = 1024 * 1024
MULTIPART_PREFIX = ".nbtrack-multipart"  # on S3: the uploads in progress, under the served prefix
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


class TooLarge(NbtrackError):
    """A request body is over the server's limit."""

    error_code = "REQUEST_LIMIT_EXCEEDED"

    def get_http_status_code(self) -> int:
        return 413


class ReadOnlyPath(NbtrackError):
    error_code = "PERMISSION_DENIED"


def _repository(root: str) -> Any:
    """The repository of a served root: a local folder, or an ``s3://bucket/prefix`` (same interface)."""
    if root.startswith("s3://"):
        from nbtrack.store.s3 import S3ArtifactRepository

        return S3ArtifactRepository(root)
    return LocalArtifactRepository(root)


def _repo(loc: Locations, path: str, writing: bool) -> tuple[Any, str]:
    """The repository serving ``path`` (already decoded once by the HTTP layer) and the path inside it."""
    rel = confined(path)
    head, _, rest = rel.partition("/")
    if head == REGISTRY_PREFIX:
        if writing:
            raise ReadOnlyPath(f"'{REGISTRY_PREFIX}/' holds registered model versions and is read-only; "
                               "register a new version instead.")
        if any(part.startswith(".") for part in rest.split("/")):
            raise ArtifactPathError(f"Invalid artifact path {path!r}: hidden registry folders are not served.")
        return _repository(loc.registry_root), rest
    if head == MULTIPART_PREFIX:
        raise ArtifactPathError(f"Invalid artifact path {path!r}: '{MULTIPART_PREFIX}/' holds the server's "
                                "multipart uploads in progress and is not served.")
    return _repository(loc.destination), rel


def list_files(loc: Locations, path: str | None) -> dict[str, Any]:
    repo, rel = _repo(loc, path or "", writing=False)
    hidden = () if rel else (MULTIPART_PREFIX, REGISTRY_PREFIX)  # the server's own prefixes on S3
    files = [conv.file_info(f, posixpath.basename(f.path)) for f in repo.list_artifacts(rel or None)
             if f.path not in hidden]
    return {"files": files} if files else {}


def open_download(loc: Locations, path: str) -> tuple[int, int]:
    """An open descriptor of the regular file at ``path`` and its size."""
    repo, rel = _repo(loc, path, writing=False)
    if not rel:
        raise InvalidParameter("Give the path of a file to download; list a folder with GET "
                               "/api/2.0/mlflow-artifacts/artifacts?path=<folder>.")
    if not isinstance(repo, LocalArtifactRepository):  # S3: a downloaded copy, already unlinked
        return repo.open_download(rel)
    local = repo.download_artifacts(rel)  # checks every link on the way
    return open_regular(local, repr(path), f"list it with GET /api/2.0/mlflow-artifacts/artifacts?path={path}.")


def open_regular(local: str, shown: str, folder_hint: str) -> tuple[int, int]:
    """(a read-only descriptor of the regular file ``local``, its size): no link followed at its
    end, and never blocked on a FIFO planted in its place. ``shown`` names the artifact in errors (quoted);
    ``folder_hint`` says what to do when it is a folder."""
    try:
        fd = os.open(local, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        raise NotFound(f"No artifact {shown}.") from None
    except OSError as e:
        raise ArtifactPathError(f"Artifact {shown} cannot be read ({e.strerror}).") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InvalidParameter(f"Artifact {shown} is a folder; {folder_hint}")
        raise ArtifactPathError(f"Artifact {shown} is not a regular file.")
    os.set_blocking(fd, True)
    return fd, st.st_size


def read_chunks(fd: int) -> Iterator[bytes]:
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


async def receive(body: AsyncIterator[bytes], f: Any, limit: int, too_large: str, digest: Any = None) -> int:
    """Write a request body to ``f`` (and ``digest``), refusing it past ``limit`` bytes
    (``TooLarge`` with the text ``too_large``, which names the remedy); the size written."""
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The {too_large}")
        if digest is not None:
            digest.update(chunk)
        f.write(chunk)
    return size


async def save_upload(loc: Locations, path: str, body: AsyncIterator[bytes], limit: int) -> None:
    """Stream ``body`` to a temporary file, then copy it into place through the repository."""
    import asyncio

    repo, rel = _repo(loc, path, writing=True)
    if not rel:
        raise ArtifactPathError("An artifact file name is required, e.g. '0/<run_id>/artifacts/model.pkl'.")
    head, tail = posixpath.split(rel)
    with tempfile.TemporaryDirectory(prefix="nbtrack-upload-") as tmp:
        local = os.path.join(tmp, tail)
        with open(local, "wb") as f:
            await receive(body, f, limit, f"upload is larger than the server's limit of {limit} bytes. Start the "
                                          "server with a larger --max-upload-size.")
        await asyncio.to_thread(repo.log_artifact, local, head or None)


def delete(loc: Locations, path: str) -> dict[str, Any]:
    """Remove the file or folder at ``path`` (a link is removed itself, never what it points at)."""
    repo, rel = _repo(loc, path, writing=True)
    if not rel:
        raise ArtifactPathError("Refusing to delete the whole artifact folder; name a file or folder in it.")
    if not isinstance(repo, LocalArtifactRepository):
        repo.delete(rel)
        return {}
    root = os.path.realpath(repo.root)
    parent = os.path.realpath(os.path.join(root, posixpath.dirname(rel)))
    if parent != root and not parent.startswith(root + os.sep):
        raise ArtifactPathError(f"Invalid artifact path {path!r}: it resolves outside the artifact folder.")
    target = os.path.join(parent, posixpath.basename(rel))
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return {}
    if stat.S_ISDIR(mode):
        shutil.rmtree(target)
    else:
        os.unlink(target)
    return {}
