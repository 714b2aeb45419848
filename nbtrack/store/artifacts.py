"""Artifact repositories. Paths are normalised and confined to the repository root."""

from __future__ import annotations

import os
import posixpath
import shutil
from urllib.parse import unquote, urlparse

from nbtrack.entities import FileInfo
from nbtrack.errors import ArtifactPathError, NotFound

__all__ = ["LocalArtifactRepository", "local_path_of", "safe_relpath"]


def local_path_of(uri: str) -> str:
    """The local path of a plain path or ``file:`` URI."""
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise ArtifactPathError(f"file URI {uri!r} names a remote host; only local files are supported.")
        return unquote(parsed.path)
    return uri


def safe_relpath(path: str | None) -> str:
    """Normalise an artifact path; reject anything that could leave the artifact folder."""
    if path is None or path in ("", "."):
        return ""
    text = str(path)
    decoded = unquote(text)
    if "\x00" in decoded or "\\" in decoded:
        raise ArtifactPathError(f"Invalid artifact path {text!r}: NUL bytes and backslashes are not allowed.")
    if decoded.startswith("/") or (len(decoded) > 1 and decoded[1] == ":") or "://" in decoded:
        raise ArtifactPathError(
            f"Invalid artifact path {text!r}: it must be relative to the run's artifact folder "
            "(e.g. 'plots/loss.png'), not absolute or a URI."
        )
    norm = posixpath.normpath(decoded)
    if norm == ".." or norm.startswith("../") or any(part == ".." for part in decoded.split("/")):
        raise ArtifactPathError(
            f"Invalid artifact path {text!r}: '..' would leave the run's artifact folder."
        )
    return "" if norm == "." else norm


class LocalArtifactRepository:
    """Artifacts of one run (or model) in a local folder."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(local_path_of(root))

    def _abs(self, rel: str | None) -> str:
        rel = safe_relpath(rel)
        full = os.path.realpath(os.path.join(self.root, rel)) if rel else self.root
        root_real = os.path.realpath(self.root)
        if full != root_real and not full.startswith(root_real + os.sep):
            raise ArtifactPathError(f"Invalid artifact path {rel!r}: it resolves outside the artifact folder.")
        return full

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        if not os.path.isfile(local_file):
            raise NotFound(f"Cannot log artifact: {local_file!r} is not a file.")
        dest_dir = self._abs(artifact_path)
        os.makedirs(dest_dir, exist_ok=True)
        shutil.copy2(local_file, os.path.join(dest_dir, os.path.basename(local_file)))

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise NotFound(f"Cannot log artifacts: {local_dir!r} is not a directory.")
        dest_dir = self._abs(artifact_path)
        os.makedirs(dest_dir, exist_ok=True)
        shutil.copytree(local_dir, dest_dir, dirs_exist_ok=True)

    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        dest = self._abs(artifact_file)
        if dest == os.path.realpath(self.root):
            raise ArtifactPathError("An artifact file name is required.")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".tmp-nbtrack"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
        return dest

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relpath(path)
        full = self._abs(rel)
        if not os.path.isdir(full):
            return []
        infos = []
        for name in sorted(os.listdir(full)):
            child = os.path.join(full, name)
            child_rel = posixpath.join(rel, name) if rel else name
            if os.path.isdir(child):
                infos.append(FileInfo(child_rel, True, None))
            else:
                infos.append(FileInfo(child_rel, False, os.path.getsize(child)))
        return infos

    def download_artifacts(self, artifact_path: str | None, dst_path: str | None = None) -> str:
        src = self._abs(artifact_path)
        if not os.path.exists(src):
            raise NotFound(f"No artifact {artifact_path!r} under {self.root}.")
        if dst_path is None:
            return src  # already local: hand out the path, as MLflow's local repository does
        dst_path = os.path.abspath(dst_path)
        os.makedirs(dst_path, exist_ok=True)
        target = os.path.join(dst_path, os.path.basename(src.rstrip(os.sep)) or "artifacts")
        if os.path.isdir(src):
            shutil.copytree(src, target, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
        return target
