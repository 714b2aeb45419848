"""The files of registered model versions, as every backend keeps them.

A version registered from a local model gets its own copy, so it outlives its run. On a local
folder (the embedded store, or PostgreSQL with a local files root) the copy is made in a private
staging folder outside any lock or transaction (it can be slow) and renamed into
``<root>/registry/<model_id>/<version>`` inside it. On S3 (a server whose artifacts are on
``s3://``) it is uploaded outside the transaction to a key prefix of its own,
``<copies root>/<model_id>/<random id>``, and the database records that URI: no replica keeps
anything on its disk, and any replica reads what another registered.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid

from nbtrack.errors import InvalidParameter

__all__ = ["discard", "place", "remove", "stage", "upload"]

STALE_SECONDS = 24 * 3600


def _refuse_store_folder(local_path: str, registry_dir: str, store_root: str) -> None:
    source, registry = os.path.realpath(local_path), os.path.realpath(registry_dir)
    if os.path.isdir(source) and os.path.commonpath([source, registry]) == source:
        raise InvalidParameter(
            f"Cannot register {local_path!r}: the folder holds the store itself ({store_root}), so copying it "
            "into the registry would copy the registry into itself. Register the model's own folder "
            "(the one with the MLmodel file).")


def stage(local_path: str, registry_dir: str, store_root: str) -> str:
    """Copy ``local_path`` (a model folder or file) into a new folder under ``registry_dir/.staging``."""
    _refuse_store_folder(local_path, registry_dir, store_root)
    parent = os.path.join(registry_dir, ".staging")
    os.makedirs(parent, exist_ok=True)
    _sweep_stale(parent)
    staging = os.path.join(parent, uuid.uuid4().hex)
    try:
        if os.path.isdir(local_path):
            shutil.copytree(local_path, staging, symlinks=False)
        else:
            os.makedirs(staging)
            shutil.copy2(local_path, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def place(staged: str, target: str) -> str:
    """Move a staged copy to ``target`` (inside the caller's lock or transaction)."""
    if os.path.exists(target):  # left by a writer that died before committing this number
        shutil.rmtree(target)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.rename(staged, target)
    return target


def discard(path: str | None) -> None:
    """Remove a staged or placed local copy (a failed registration's), if any."""
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def upload(local_path: str, copies_root: str, model_id: str) -> str:
    """Upload a model to a new prefix under the ``s3://`` ``copies_root``; its URI."""
    from nbtrack.store.s3 import S3ArtifactRepository

    uri = f"{copies_root.rstrip('/')}/{model_id}/{uuid.uuid4().hex}"
    repo = S3ArtifactRepository(uri)
    try:
        if os.path.isdir(local_path):
            repo.log_artifacts(local_path)
        else:
            repo.log_artifact(local_path)
    except BaseException:
        with contextlib.suppress(Exception):  # the upload's own error is the one to report
            remove(uri)
        raise
    return uri


def remove(location: str) -> None:
    """Remove a copy: every key under an ``s3://`` prefix, or a local folder."""
    if location.startswith("s3://"):
        from nbtrack.store.s3 import S3ArtifactRepository

        parent, _, name = location.rstrip("/").rpartition("/")
        S3ArtifactRepository(parent).delete(name)
        return
    shutil.rmtree(location, ignore_errors=True)


def _sweep_stale(parent: str, max_age: float = STALE_SECONDS) -> None:
    """Remove staging copies left by writers that died mid-copy (nothing refers to them)."""
    cutoff = time.time() - max_age
    for entry in os.scandir(parent):
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
        except FileNotFoundError:  # another process swept it first
            pass
