"""Artifacts on S3-compatible storage (``s3://bucket/prefix``), through boto3, as MLflow reads them.

The endpoint is ``MLFLOW_S3_ENDPOINT_URL`` (MinIO, moto, Ceph, ...; unset: AWS itself) and
``MLFLOW_S3_IGNORE_TLS=true`` skips certificate checks, as in MLflow; credentials and region are
boto3's own ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` /
``AWS_DEFAULT_REGION`` / ``AWS_PROFILE`` (boto3 reads them). Files over 8 MiB are uploaded in
8 MiB parts (boto3's multipart transfer), so a multi-GB model never sits in memory.

Keys obey the local repository's confinement rules: every path given (and every key a listing
returns, before it becomes a local file name) goes through
:func:`~nbtrack.store.artifacts.safe_relpath`, so ``..``, absolute paths, URIs, backslashes, NUL
and their URL-encoded forms never reach a key outside the repository's prefix, and a listing
can never make a download write outside its destination folder. boto3 loads only when an
``s3://`` location is used.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from typing import Any
from urllib.parse import urlparse

from nbtrack import config
from nbtrack.entities import FileInfo
from nbtrack.errors import ArtifactPathError, InvalidParameter, NbtrackError, NotFound
from nbtrack.store.artifacts import safe_relpath

__all__ = ["S3ArtifactRepository", "is_s3_uri", "s3_client"]

_PART = 8 * 1024 * 1024


def is_s3_uri(uri: str | None) -> bool:
    return bool(uri) and urlparse(str(uri)).scheme == "s3"


def s3_client() -> Any:
    """A boto3 S3 client for the endpoint MLflow's variables name (one per call: clients are cheap
    to build compared with the requests they make, and a fork must not share one)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as e:
        raise NbtrackError(f"s3:// artifact locations need boto3 ({e}); install it with "
                           "`pip install 'nbtrack[s3]'`.", "NOT_IMPLEMENTED") from None
    endpoint = config.env("MLFLOW_S3_ENDPOINT_URL")
    verify = (config.env("MLFLOW_S3_IGNORE_TLS") or "").lower() not in ("true", "1")
    return boto3.client("s3", endpoint_url=endpoint, verify=verify,
                        config=Config(retries={"max_attempts": 5, "mode": "standard"}, signature_version="s3v4"))


def _translate(error: Exception, what: str) -> NbtrackError:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "") if hasattr(error, "response") else ""
    if code in ("404", "NoSuchKey", "NoSuchBucket"):
        return NotFound(f"No artifact {what}: {code}.")
    if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return NbtrackError(f"S3 refused access to {what} ({code}); check AWS_ACCESS_KEY_ID / "
                            "AWS_SECRET_ACCESS_KEY and the bucket's policy.", "PERMISSION_DENIED")
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return NbtrackError(f"S3 request for {what} failed: {text}. Check MLFLOW_S3_ENDPOINT_URL and that the "
                        "S3 server is reachable.")


class S3ArtifactRepository:
    """Artifacts of one run (or model, or a served folder) under ``s3://bucket/prefix``."""

    def __init__(self, uri: str, client: Any = None) -> None:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise InvalidParameter(f"{uri!r} is not an S3 location; use s3://bucket/prefix.")
        self.root = uri.rstrip("/")
        self.bucket = parsed.netloc
        self.prefix = safe_relpath(parsed.path.lstrip("/"))
        self._client = client

    def __repr__(self) -> str:
        return f"S3ArtifactRepository({self.root!r})"

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _key(self, rel: str) -> str:
        rel = safe_relpath(rel)
        return posixpath.join(self.prefix, rel) if self.prefix and rel else self.prefix or rel

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise _translate(e, f"s3://{self.bucket}/{what}") from None

    # writing ----------------------------------------------------------------------------------
    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        rel = safe_relpath(artifact_file)
        if not rel:
            raise ArtifactPathError("An artifact file name is required, e.g. 'notes/summary.txt'.")
        key = self._key(rel)
        self._call(key, self.client.put_object, Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def _upload(self, local_file: str, rel: str) -> None:
        from boto3.s3.transfer import TransferConfig

        if not os.path.isfile(local_file):
            raise NotFound(f"Cannot log artifact: {local_file!r} is not a file.")
        key = self._key(rel)
        transfer = TransferConfig(multipart_threshold=_PART, multipart_chunksize=_PART)
        self._call(key, self.client.upload_file, local_file, self.bucket, key, Config=transfer)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        self._upload(local_file, posixpath.join(safe_relpath(artifact_path), os.path.basename(local_file)))

    def make_folder(self, artifact_path: str | None) -> None:
        """Folders are key prefixes in S3: nothing to create."""
        safe_relpath(artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise NotFound(f"Cannot log artifacts: {local_dir!r} is not a directory.")
        base = safe_relpath(artifact_path)
        for folder, _, files in os.walk(local_dir):
            rel = os.path.relpath(folder, local_dir)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            for name in sorted(files):
                self._upload(os.path.join(folder, name), posixpath.join(base, rel, name))

    def delete(self, artifact_path: str) -> None:
        """Remove the file or every key under the folder ``artifact_path``."""
        rel = safe_relpath(artifact_path)
        if not rel:
            raise ArtifactPathError("Refusing to delete the whole artifact folder; name a file or folder in it.")
        key = self._key(rel)
        doomed = [key] + [k for k, _ in self._keys_under(key + "/")]
        for start in range(0, len(doomed), 1000):
            self._call(key, self.client.delete_objects, Bucket=self.bucket,
                       Delete={"Objects": [{"Key": k} for k in doomed[start:start + 1000]], "Quiet": True})

    # multipart uploads (the server's mlflow-artifacts proxy): S3's own, keyed by S3's upload id,
    # so any server replica can take any part and the completion --------------------------------
    def start_multipart(self, rel: str) -> str:
        """A new multipart upload of the file ``rel``; S3's upload id."""
        key = self._key(rel)
        return str(self._call(key, self.client.create_multipart_upload, Bucket=self.bucket, Key=key)["UploadId"])

    def upload_part(self, rel: str, upload_id: str, number: int, body: Any, size: int) -> str:
        """Send one part (``body``, a file object of ``size`` bytes); its ETag as S3 gives it (quoted)."""
        key = self._key(rel)
        out = self._call(key, self.client.upload_part, Bucket=self.bucket, Key=key, UploadId=upload_id,
                         PartNumber=number, Body=body, ContentLength=size)
        return str(out["ETag"])

    def complete_multipart(self, rel: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Join the parts ``(number, etag)``; S3 checks each ETag (InvalidParameter when one is wrong)."""
        from botocore.exceptions import ClientError

        key = self._key(rel)
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]})
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "NoSuchUpload"):
                raise InvalidParameter(f"S3 refused to complete the upload of {rel!r}: {code} "
                                       f"({e.response.get('Error', {}).get('Message', '')}). Send each part's "
                                       "ETag as its upload returned it; every part but the last needs 5 MiB "
                                       "at least.") from None
            raise _translate(e, f"s3://{self.bucket}/{key}") from None

    def abort_multipart(self, rel: str, upload_id: str) -> None:
        key = self._key(rel)
        self._call(key, self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id)

    def read_bytes(self, rel: str) -> bytes:
        """The bytes of one small object (NotFound when there is none)."""
        key = self._key(rel)
        body = self._call(key, self.client.get_object, Bucket=self.bucket, Key=key)["Body"]
        return bytes(body.read())

    # reading ----------------------------------------------------------------------------------
    def _keys_under(self, prefix: str) -> list[tuple[str, int]]:
        paginator = self.client.get_paginator("list_objects_v2")
        found: list[tuple[str, int]] = []
        for page in self._call(prefix, lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=prefix))):
            found += [(o["Key"], int(o["Size"])) for o in page.get("Contents", [])]
        return found

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under ``path`` (keys that are not safe paths are not listed)."""
        rel = safe_relpath(path)
        prefix = self._key(rel)
        prefix = prefix + "/" if prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        out: list[FileInfo] = []
        pages = self._call(prefix, lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")))
        for page in pages:
            for folder in page.get("CommonPrefixes", []):
                name = folder["Prefix"][len(prefix):].rstrip("/")
                if name and _safe_name(name):
                    out.append(FileInfo(posixpath.join(rel, name), True, None))
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix):]
                if name and _safe_name(name):
                    out.append(FileInfo(posixpath.join(rel, name), False, int(obj["Size"])))
        return sorted(out, key=lambda f: f.path)

    def download_artifacts(self, artifact_path: str | None, dst_path: str | None = None) -> str:
        """Copy the file or folder ``artifact_path`` into ``dst_path`` (a new temporary folder when None)."""
        rel = safe_relpath(artifact_path)
        target_root = os.path.abspath(dst_path) if dst_path else tempfile.mkdtemp(prefix="nbtrack-s3-")
        target = os.path.join(target_root, posixpath.basename(rel) or "artifacts")
        key = self._key(rel)
        if rel and self._is_file(key):
            os.makedirs(target_root, exist_ok=True)
            self._call(key, self.client.download_file, self.bucket, key, target)
            return target
        prefix = key + "/" if key else ""
        keys = self._keys_under(prefix)
        if not keys:
            raise NotFound(f"No artifact {rel or '(root)'!r} under {self.root}.")
        os.makedirs(target, exist_ok=True)
        for k, _ in keys:
            inner = k[len(prefix):]
            if not inner or not _safe_name(inner):
                continue  # a key no local name may take (.., absolute, ...): never written
            dest = os.path.join(target, *inner.split("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            self._call(k, self.client.download_file, self.bucket, k, dest)
        return target

    def _is_file(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _translate(e, f"s3://{self.bucket}/{key}") from None

    def open_download(self, artifact_path: str) -> tuple[int, int]:
        """An open descriptor of a downloaded copy of the file (the copy is already unlinked) and its size."""
        rel = safe_relpath(artifact_path)
        key = self._key(rel)
        if not rel or not self._is_file(key):
            raise NotFound(f"No artifact file {rel!r} under {self.root}.")
        fd, tmp = tempfile.mkstemp(prefix="nbtrack-s3-")
        try:
            with os.fdopen(os.dup(fd), "wb") as f:
                self._call(key, self.client.download_fileobj, self.bucket, key, f)
        finally:
            os.unlink(tmp)
        os.lseek(fd, 0, os.SEEK_SET)
        return fd, os.fstat(fd).st_size


def _safe_name(name: str) -> bool:
    try:
        return safe_relpath(name) == name
    except ArtifactPathError:
        return False
