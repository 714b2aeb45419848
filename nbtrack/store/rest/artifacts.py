"""Artifacts through a tracking server's ``mlflow-artifacts`` proxy (``--serve-artifacts``).

A run's ``artifact_uri`` on such a server is ``mlflow-artifacts:/<experiment>/<run>/artifacts``
(or ``mlflow-artifacts://host:port/...``, or the proxy's ``http(s)://`` URL); files are uploaded
with ``PUT``, listed with ``GET ...?path=`` and downloaded with ``GET`` below
``/api/2.0/mlflow-artifacts/artifacts``. The same name rules as the local repository apply on
both sides: paths we send and paths the server lists are checked with
:func:`~nbtrack.store.artifacts.safe_relpath`, so a listing can never make a download write
outside its destination folder.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from typing import Any
from urllib.parse import quote, urlparse

from nbtrack.entities import FileInfo
from nbtrack.errors import ArtifactPathError, InvalidParameter, NbtrackError, NotFound
from nbtrack.store.artifacts import LocalArtifactRepository, safe_relpath
from nbtrack.store.rest.http import ARTIFACTS_API, RestClient

__all__ = ["HttpArtifactRepository", "is_remote_artifact_uri", "repository_for"]

_IN_MEMORY = 256 * 1024 * 1024  # files up to this size are uploaded from memory, so they can be retried


def is_remote_artifact_uri(uri: str) -> bool:
    return urlparse(uri).scheme in ("mlflow-artifacts", "http", "https")


def repository_for(uri: str, http: RestClient | None) -> Any:
    """The repository an artifact URI names: the server's proxy, or a local folder."""
    scheme = urlparse(uri).scheme
    if scheme in ("mlflow-artifacts", "http", "https"):
        if http is None and scheme == "mlflow-artifacts" and not urlparse(uri).netloc:
            raise InvalidParameter(f"{uri} is an artifact of a tracking server; set the tracking URI to that "
                                   "server (nbtrack.set_tracking_uri('http://host:port')) to read it.")
        return HttpArtifactRepository(uri, http)
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        return LocalArtifactRepository(uri)
    if scheme == "s3":  # a server started with --default-artifact-root s3://...: clients write there directly
        from nbtrack.store.s3 import S3ArtifactRepository

        return S3ArtifactRepository(uri)
    raise NbtrackError(f"Artifact location {uri!r} is not served by the tracking server and nbtrack cannot "
                       "read it directly. Start the server with --serve-artifacts (MLflow's default) so "
                       "artifacts go through its mlflow-artifacts proxy.", "NOT_IMPLEMENTED")


class HttpArtifactRepository:
    """Artifacts of one run (or model version) behind a tracking server's artifact proxy."""

    def __init__(self, artifact_uri: str, http: RestClient | None) -> None:
        self.root = artifact_uri.rstrip("/")
        parsed = urlparse(artifact_uri)
        if parsed.scheme == "mlflow-artifacts":
            path = parsed.path
            if parsed.netloc and (http is None or urlparse(http.base).netloc != parsed.netloc):
                scheme = urlparse(http.base).scheme if http is not None else "http"
                http = RestClient(f"{scheme}://{parsed.netloc}")
        else:
            marker = parsed.path.find(ARTIFACTS_API)
            if marker < 0:
                raise InvalidParameter(f"{artifact_uri} is not an mlflow-artifacts URL (no {ARTIFACTS_API} in it).")
            path = parsed.path[marker + len(ARTIFACTS_API):]
            base = f"{parsed.scheme}://{parsed.netloc}{parsed.path[:marker]}"
            if http is None or http.base != base:
                http = RestClient(base)
        assert http is not None
        self.http = http
        self._prefix = path.strip("/")

    def __repr__(self) -> str:
        return f"HttpArtifactRepository({self.root!r})"

    def _remote(self, rel: str) -> str:
        return posixpath.join(self._prefix, rel) if rel else self._prefix

    def _url(self, rel: str) -> str:
        return f"{ARTIFACTS_API}/{quote(self._remote(rel), safe='/')}"

    # -- writing --------------------------------------------------------------------------------------
    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        rel = safe_relpath(artifact_file)
        if not rel:
            raise ArtifactPathError("An artifact file name is required, e.g. 'notes/summary.txt'.")
        self.http.send("PUT", self._url(rel), content=data,
                       headers={"Content-Type": "application/octet-stream"})
        return f"{self.root}/{rel}"

    def _upload(self, local_file: str, artifact_file: str) -> None:
        if not os.path.isfile(local_file):
            raise NotFound(f"Cannot log artifact: {local_file!r} is not a file.")
        rel = safe_relpath(artifact_file)
        if os.path.getsize(local_file) <= _IN_MEMORY:
            with open(local_file, "rb") as f:
                self.write_bytes(rel, f.read())
            return
        with open(local_file, "rb") as f:  # too big to hold: streamed once, no retry
            self.http.send("PUT", self._url(rel), content=f, retries=0,
                           headers={"Content-Type": "application/octet-stream"})

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        self._upload(local_file, posixpath.join(safe_relpath(artifact_path), os.path.basename(local_file)))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise NotFound(f"Cannot log artifacts: {local_dir!r} is not a directory.")
        base = safe_relpath(artifact_path)
        for folder, _, files in os.walk(local_dir, followlinks=True):
            rel = os.path.relpath(folder, local_dir)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            for name in sorted(files):
                dest = posixpath.join(base, rel, name) if rel else posixpath.join(base, name)
                self._upload(os.path.join(folder, name), dest)

    def make_folder(self, artifact_path: str | None) -> None:
        safe_relpath(artifact_path)  # folders exist on the server once a file is in them

    # -- reading --------------------------------------------------------------------------------------
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relpath(path)
        answer = self.http.call("GET", ARTIFACTS_API, {"path": self._remote(rel)})
        found = []
        for f in answer.get("files") or []:
            name = safe_relpath(str(f.get("path", "")))  # a listing must not name anything outside
            if not name:
                continue
            size = f.get("file_size")
            found.append(FileInfo(posixpath.join(rel, name) if rel else name, bool(f.get("is_dir")),
                                  None if size is None else int(size)))
        if len(found) == 1 and not found[0].is_dir and rel and found[0].path == posixpath.join(rel, posixpath.basename(rel)):
            return []  # MLflow: listing a file gives nothing
        return sorted(found, key=lambda i: i.path)

    def _download_file(self, rel: str, dest: str) -> None:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = f"{dest}.nbtrack-part"
        with self.http.stream(self._url(rel)) as response, open(tmp, "wb") as out:
            for chunk in response.iter_bytes(1024 * 1024):
                out.write(chunk)
        os.replace(tmp, dest)

    def _download_tree(self, rel: str, target: str) -> None:
        os.makedirs(target, exist_ok=True)
        for info in self.list_artifacts(rel):
            dest = os.path.join(target, posixpath.relpath(info.path, rel) if rel else info.path)
            if info.is_dir:
                self._download_tree(info.path, dest)
            else:
                self._download_file(info.path, dest)

    def download_artifacts(self, artifact_path: str | None, dst_path: str | None = None) -> str:
        """Copy ``artifact_path`` (a file or folder) into ``dst_path`` (a new temporary folder if None)."""
        rel = safe_relpath(artifact_path)
        dst = os.path.abspath(dst_path) if dst_path is not None else tempfile.mkdtemp(prefix="nbtrack-artifacts-")
        target = os.path.join(dst, posixpath.basename(rel) or "artifacts")
        listing = self.list_artifacts(rel)
        if listing:
            self._download_tree(rel, target)
            return target
        if not rel:  # the URI itself may name a file (e.g. a model version's source)
            single = os.path.join(dst, posixpath.basename(self._prefix) or "artifacts")
            try:
                self._download_file("", single)
                return single
            except NotFound:
                os.makedirs(target, exist_ok=True)
                return target
        try:
            self._download_file(rel, target)
        except NotFound:
            raise NotFound(f"No artifact {rel!r} under {self.root}.") from None
        return target
