"""Multipart upload in the ``mlflow-artifacts`` proxy (MLflow's ``mpu/create``, ``mpu/complete``,
``mpu/abort``), for the server's local artifact folder.

MLflow's client (``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true``) asks ``mpu/create/<folder>`` for
an upload of ``basename(path)`` in ``num_parts`` parts and gets one URL per part, which it PUTs
without credentials (they stand for S3's presigned URLs). Here each URL is this server's
``mpu/part/<upload_id>/<n>``: the upload id is a 128-bit secret handed only to the writer who
created the upload, so it authorises that upload's parts and nothing else. Parts are kept under
``<store>/.multipart/<upload_id>/``; ``complete`` checks that every part is there with the ETag it
was given, joins them in order and puts the file in place through the artifact repository
(the same confinement as a one-request upload); ``abort`` drops them. Uploads left open for a day
are removed by the next ``create``.

When the proxy serves an ``s3://`` destination, nothing is kept on the server's disk: the upload is
S3's own multipart upload of the target key, each part goes straight to S3's ``UploadPart`` (its
ETag is S3's), ``complete`` is S3's ``CompleteMultipartUpload`` and ``abort`` S3's abort. What the
part and completion requests need (the target, the number of parts, S3's upload id) is a small
object ``<destination>/.nbtrack-multipart/<upload_id>.json``, which the proxy never serves, so
any replica can take any part or the completion. Parts of uploads never completed are S3's to
expire (a bucket lifecycle rule ``AbortIncompleteMultipartUpload``).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

from nbtrack.errors import ArtifactPathError, InvalidParameter, NotFound
from nbtrack.server.tracking._artifacts import MULTIPART_PREFIX, _repo, receive
from nbtrack.server.tracking._convert import Locations, confined

_PART_TOO_LARGE = ("part is larger than the server's limit of {limit} bytes. Use smaller parts "
                   "(MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE).")

__all__ = ["abort", "complete", "create", "save_part"]

MAX_PARTS = 10_000  # S3's limit, which MLflow's client is written for
STALE_SECONDS = 24 * 3600
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _on_s3(loc: Locations) -> bool:
    return loc.destination.startswith("s3://")


def _meta_repo(loc: Locations) -> Any:
    from nbtrack.store.s3 import S3ArtifactRepository

    return S3ArtifactRepository(f"{loc.destination}/{MULTIPART_PREFIX}")


def _s3_meta(loc: Locations, upload_id: Any) -> dict[str, Any]:
    if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
        raise InvalidParameter(f"Invalid upload_id {upload_id!r}: use the upload_id that mpu/create returned.")
    try:
        meta: dict[str, Any] = json.loads(_meta_repo(loc).read_bytes(f"{upload_id}.json"))
    except NotFound:
        raise NotFound(f"No multipart upload {upload_id} (completed, aborted or never created).") from None
    return meta


def _staging(loc: Locations) -> str:
    return os.path.join(loc.store_root, ".multipart")


def _target(loc: Locations, artifact_path: str, path: Any) -> str:
    """The artifact path the upload writes: the URL's folder plus the file name of ``path``
    (the client's local file name, as MLflow's repositories take it)."""
    if not isinstance(path, str) or not path:
        raise InvalidParameter("Missing value for required parameter 'path' (the name of the file to upload).")
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\x00" in name:
        raise ArtifactPathError(f"Invalid file name {path!r} for a multipart upload.")
    rel = posixpath.join(confined(artifact_path), name) if artifact_path else name
    _repo(loc, rel, writing=True)  # confinement and the read-only registry prefix, before anything is written
    return confined(rel)


def _folder(loc: Locations, upload_id: Any) -> str:
    if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
        raise InvalidParameter(f"Invalid upload_id {upload_id!r}: use the upload_id that mpu/create returned.")
    folder = os.path.join(_staging(loc), upload_id)
    if not os.path.isdir(folder):
        raise NotFound(f"No multipart upload {upload_id} (completed, aborted or never created).")
    return folder


def _meta(folder: str) -> dict[str, Any]:
    with open(os.path.join(folder, "upload.json")) as f:
        meta: dict[str, Any] = json.load(f)
    return meta


def _sweep(staging: str) -> None:
    now = time.time()
    for name in os.listdir(staging):
        folder = os.path.join(staging, name)
        try:
            if now - os.stat(folder).st_mtime > STALE_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            pass


def create(loc: Locations, artifact_path: str, a: dict[str, Any], part_url: str) -> dict[str, Any]:
    """A new upload of ``a["num_parts"]`` parts; ``part_url`` is the URL prefix of this server's part endpoint."""
    target = _target(loc, artifact_path, a.get("path"))
    num_parts = a.get("num_parts", 1)
    if not 1 <= num_parts <= MAX_PARTS:
        raise InvalidParameter(f"num_parts must be between 1 and {MAX_PARTS}, got {num_parts}.")
    upload_id = secrets.token_hex(16)
    if _on_s3(loc):
        repo, rel = _repo(loc, target, writing=True)
        meta = {"path": target, "num_parts": num_parts, "s3_upload_id": repo.start_multipart(rel)}
        _meta_repo(loc).write_bytes(f"{upload_id}.json", json.dumps(meta).encode())
    else:
        _local_upload(loc, upload_id, target, num_parts)
    credentials = [{"url": f"{part_url}/{upload_id}/{n}", "part_number": n} for n in range(1, num_parts + 1)]
    return {"upload_id": upload_id, "credentials": credentials}


def _local_upload(loc: Locations, upload_id: str, target: str, num_parts: int) -> None:
    staging = _staging(loc)
    os.makedirs(staging, exist_ok=True)
    _sweep(staging)
    folder = os.path.join(staging, upload_id)
    os.mkdir(folder)
    with open(os.path.join(folder, "upload.json"), "w") as f:
        json.dump({"path": target, "num_parts": num_parts}, f)


async def save_part(loc: Locations, upload_id: str, part_number: str, body: AsyncIterator[bytes],
                    limit: int) -> str:
    """Store one part; its ETag (the MD5 of its bytes, as S3 gives)."""
    if _on_s3(loc):
        return await _s3_part(loc, upload_id, part_number, body, limit)
    folder = _folder(loc, upload_id)
    meta = _meta(folder)
    _check_number(part_number, meta)
    digest = hashlib.md5(usedforsecurity=False)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            await receive(body, f, limit, _PART_TOO_LARGE.format(limit=limit), digest)
        etag = digest.hexdigest()
        os.replace(tmp, os.path.join(folder, f"part-{int(part_number):05d}-{etag}"))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return f'"{etag}"'


def _check_number(part_number: str, meta: dict[str, Any]) -> None:
    if not part_number.isdigit() or not 1 <= int(part_number) <= meta["num_parts"]:
        raise InvalidParameter(f"Invalid part number {part_number!r}: this upload has parts 1 to "
                               f"{meta['num_parts']}.")


async def _s3_part(loc: Locations, upload_id: str, part_number: str, body: AsyncIterator[bytes], limit: int) -> str:
    """Spool the part (in memory up to 8 MiB, then a temporary file) and send it to S3's UploadPart."""
    import asyncio

    meta = await asyncio.to_thread(_s3_meta, loc, upload_id)
    _check_number(part_number, meta)
    repo, rel = _repo(loc, meta["path"], writing=True)
    with tempfile.SpooledTemporaryFile(8 * 1024 * 1024) as f:
        size = await receive(body, f, limit, _PART_TOO_LARGE.format(limit=limit))
        f.seek(0)
        etag: str = await asyncio.to_thread(repo.upload_part, rel, meta["s3_upload_id"], int(part_number), f, size)
    return etag


def _checked_s3(loc: Locations, artifact_path: str, a: dict[str, Any]) -> dict[str, Any]:
    target = _target(loc, artifact_path, a.get("path"))
    meta = _s3_meta(loc, a.get("upload_id"))
    if meta["path"] != target:
        raise InvalidParameter(f"Upload {a.get('upload_id')} writes {meta['path']!r}, not {target!r}.")
    return meta


def _checked_folder(loc: Locations, artifact_path: str, a: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    target = _target(loc, artifact_path, a.get("path"))
    folder = _folder(loc, a.get("upload_id"))
    meta = _meta(folder)
    if meta["path"] != target:
        raise InvalidParameter(f"Upload {a.get('upload_id')} writes {meta['path']!r}, not {target!r}.")
    return folder, meta


def _parts(a: dict[str, Any], meta: dict[str, Any]) -> list[dict[str, Any]]:
    parts = sorted(a.get("parts", []), key=lambda p: p.get("part_number", 0))
    numbers = [p.get("part_number") for p in parts]
    if numbers != list(range(1, meta["num_parts"] + 1)):
        raise InvalidParameter(f"Complete the upload with parts 1 to {meta['num_parts']}, each once; got {numbers}.")
    return parts


def complete(loc: Locations, artifact_path: str, a: dict[str, Any]) -> dict[str, Any]:
    if _on_s3(loc):
        meta = _checked_s3(loc, artifact_path, a)
        parts = _parts(a, meta)
        repo, rel = _repo(loc, meta["path"], writing=True)
        repo.complete_multipart(rel, meta["s3_upload_id"], [(p["part_number"], str(p.get("etag") or ""))
                                                            for p in parts])
        _meta_repo(loc).delete(f"{a['upload_id']}.json")
        return {}
    folder, meta = _checked_folder(loc, artifact_path, a)
    parts = _parts(a, meta)
    files = []
    for p in parts:
        etag = str(p.get("etag") or "").strip('"')
        local = os.path.join(folder, f"part-{p['part_number']:05d}-{etag}")
        if not re.fullmatch(r"[0-9a-f]{32}", etag) or not os.path.isfile(local):
            raise InvalidParameter(f"Part {p['part_number']} was not uploaded with ETag {p.get('etag')!r}.")
        files.append(local)
    repo, rel = _repo(loc, meta["path"], writing=True)
    head, name = posixpath.split(rel)
    joined_dir = os.path.join(folder, "joined")
    os.makedirs(joined_dir, exist_ok=True)
    joined = os.path.join(joined_dir, name)
    with open(joined, "wb") as out:
        for local in files:
            with open(local, "rb") as f:
                shutil.copyfileobj(f, out, 1024 * 1024)
    repo.log_artifact(joined, head or None)
    shutil.rmtree(folder, ignore_errors=True)
    return {}


def abort(loc: Locations, artifact_path: str, a: dict[str, Any]) -> dict[str, Any]:
    if _on_s3(loc):
        meta = _checked_s3(loc, artifact_path, a)
        repo, rel = _repo(loc, meta["path"], writing=True)
        repo.abort_multipart(rel, meta["s3_upload_id"])
        _meta_repo(loc).delete(f"{a['upload_id']}.json")
        return {}
    folder, _ = _checked_folder(loc, artifact_path, a)
    shutil.rmtree(folder, ignore_errors=True)
    return {}
