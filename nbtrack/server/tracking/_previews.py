"""What the web UI's artifact browser reads: ``POST /api/2.0/nbtrack/artifacts/table`` (the first
rows of a run's Parquet, CSV or TSV artifact as a :mod:`nbtrack.store.wire` frame) and MLflow's
``GET /get-artifact?run_id=&path=`` (a run's artifact file, wherever the run keeps it).

Tables are read on the server so the browser never downloads them whole (it has no Parquet
reader). ``get-artifact`` serves a run's file also when its folder is not the one the
``mlflow-artifacts`` proxy serves (``--artifacts-destination`` elsewhere, ``--default-artifact-root``),
as MLflow's UI route does; the bytes go out as a download-only type (images as images) with
``nosniff`` and a ``sandbox`` CSP, so an HTML or SVG artifact opened directly runs no script on the
server's origin. The path is a run's artifact path, confined as everywhere else
(:func:`nbtrack.server.tracking._convert.confined`: no ``..``, absolute paths, URIs, backslashes
or their encodings) and read through the run's :class:`LocalArtifactRepository` (links may not
lead outside the run's folder; the file is opened without following links). Only the rows asked
for are read: a Parquet file's first batches, a CSV's first blocks.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import tempfile
from typing import Any
from urllib.parse import quote

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.server.tracking._artifacts import open_regular, read_chunks
from nbtrack.server.tracking._convert import confined
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.store.artifacts import LocalArtifactRepository
from nbtrack.store.wire import frame_to_wire

__all__ = ["DOCS", "ENDPOINTS", "PREFIXES", "routes"]

PREFIXES = ("/api/2.0/nbtrack/", "/ajax-api/2.0/nbtrack/")
MAX_ROWS = 1000
MAX_COLUMNS = 200
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp", ".bmp": "image/bmp", ".svg": "image/svg+xml"}
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'; "
                "img-src 'self' data:; style-src 'unsafe-inline'", "Cache-Control": "private, max-age=60"}


def _format(rel: str, asked: str | None) -> str:
    if asked:
        if asked not in ("parquet", "csv", "tsv"):
            raise InvalidParameter(f"'format' must be parquet, csv or tsv, not {asked!r}.")
        return asked
    fmt = FORMATS.get(posixpath.splitext(rel)[1].lower())
    if fmt is None:
        raise InvalidParameter(f"Artifact {rel!r} is not a table nbtrack can read (.parquet, .csv, .tsv); "
                               "give 'format' to read it as one.")
    return fmt


def _open(ctx: Any, run_id: str, rel: str, tmp: str) -> tuple[int, int]:
    """(a descriptor of the artifact file, its size), checked by the run's repository (a remote one
    copies it to ``tmp``)."""
    repo = ctx.client.artifact_repository(run_id)
    local = repo.download_artifacts(rel, None if isinstance(repo, LocalArtifactRepository) else tmp)
    return open_regular(local, f"{rel!r} in run {run_id}", "list it with artifacts/list.")


def _read(f: Any, fmt: str, limit: int) -> tuple[Any, int | None, bool]:
    """(the first ``limit`` rows as an Arrow table, the total row count if known, whether more rows exist)."""
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(f)
        total = pf.metadata.num_rows
        batches = []
        got = 0
        for batch in pf.iter_batches(batch_size=min(limit, 65536)):
            batches.append(batch.slice(0, limit - got))
            got += batches[-1].num_rows
            if got >= limit:
                break
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow) if batches else pf.schema_arrow.empty_table()
        return table, total, total > table.num_rows
    import pyarrow.csv as pcsv

    reader = pcsv.open_csv(f, parse_options=pcsv.ParseOptions(delimiter="\t" if fmt == "tsv" else ","),
                           read_options=pcsv.ReadOptions(block_size=1 << 20))
    batches, got, more = [], 0, False
    for batch in reader:
        if got >= limit:
            if batch.num_rows:
                more = True
                break
            continue
        part = batch.slice(0, limit - got)
        batches.append(part)
        got += part.num_rows
        if batch.num_rows > part.num_rows:
            more = True
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    return table, None if more else table.num_rows, more


def _plain(table: Any) -> Any:
    """A pandas frame whose columns the wire format carries: numbers, booleans, text (others as text)."""
    import pyarrow as pa

    columns = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_string(t)
                or pa.types.is_large_string(t)):
            col = pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())
        columns[str(name)] = col
    return pa.table(columns).to_pandas() if columns else pa.table({}).to_pandas()


def artifact_table(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    run_id = a.get("run_id") or ""
    if not run_id:
        raise InvalidParameter("'run_id' is required.")
    rel = confined(a.get("path"))
    if not rel:
        raise InvalidParameter("Give the path of a table artifact, e.g. 'data/sample.parquet'.")
    fmt = _format(rel, a.get("format") or None)
    limit = a.get("limit", 100)
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidParameter(f"'limit' must be between 1 and {MAX_ROWS}, not {limit}.")
    ctx.client.get_run(run_id)  # NotFound for a run id that is no run
    import pyarrow as pa

    with tempfile.TemporaryDirectory(prefix="nbtrack-preview-") as tmp, os.fdopen(_open(ctx, run_id, rel, tmp)[0], "rb") as f:
        try:
            table, total, more = _read(f, fmt, limit)
        except (OSError, ValueError, pa.ArrowException) as e:  # a file that is not what its name says
            raise InvalidParameter(f"Artifact {rel!r} could not be read as {fmt}: {e}") from None
    columns = table.num_columns
    if columns > MAX_COLUMNS:
        table = table.select(list(range(MAX_COLUMNS)))
    return {"frame": frame_to_wire(_plain(table)), "format": fmt, "rows": table.num_rows,
            "total_rows": total, "truncated": more, "columns": columns}


def _checked(ctx: Any, a: dict[str, Any], tmp: str) -> tuple[int, int]:
    """(a descriptor of the artifact file, its size) for get-artifact's query."""
    run_id = a.get("run_id") or a.get("run_uuid") or ""
    if not run_id:
        raise InvalidParameter("'run_id' is required: GET /get-artifact?run_id=<run>&path=<file>.")
    rel = confined(a.get("path"))
    if not rel:
        raise InvalidParameter("Give the path of a file: GET /get-artifact?run_id=<run>&path=<file>.")
    ctx.client.get_run(run_id)
    return _open(ctx, run_id, rel, tmp)


class _TrackingOff(NbtrackError):
    error_code = "TEMPORARILY_UNAVAILABLE"

    def get_http_status_code(self) -> int:
        return 503


def routes(state: Any, guard: Any) -> list[Any]:
    """``GET /get-artifact`` (MLflow's UI route), behind the server's auth; ``guard`` is the app's
    error and timeout wrapper."""
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from nbtrack.server.tracking._protocol import parse_query

    fields = (Field("run_id"), Field("run_uuid"), Field("path", required=True))

    async def get_artifact(request: Any) -> Any:
        if state.settings.artifacts_only:
            raise _TrackingOff("/get-artifact reads runs, which a server in --artifacts-only mode does not serve.")
        state.authorize(request, writes=False)
        args = parse_query(request.query_params, fields)
        tmp = tempfile.mkdtemp(prefix="nbtrack-get-")  # a remote repository's copy; gone once opened
        try:
            fd, size = await state.run(_checked, state.ctx, args, tmp)
        finally:
            await asyncio.to_thread(_remove, tmp)
        name = posixpath.basename(args["path"])
        media = IMAGE_TYPES.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")

        return StreamingResponse(read_chunks(fd), media_type=media, headers={
            "Content-Length": str(size), **SAFE_HEADERS,
            "Content-Disposition": f"{'inline' if media != 'application/octet-stream' else 'attachment'}; "
                                   f"filename*=UTF-8''{quote(name)}"})

    return [Route("/get-artifact", guard(state, get_artifact), methods=["GET"])]


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


DOCS = [Endpoint("/get-artifact", ("GET",), lambda: None, (Field("run_id"), Field("run_uuid"),
                                                           Field("path", required=True)), False,
                 "Download a run's artifact file (MLflow's UI route; images inline, others as attachments)",
                 raw=True)]

ENDPOINTS = [
    Endpoint("artifacts/table", ("POST",), artifact_table,
             (Field("run_id", required=True), Field("path", required=True), Field("format"),
              Field("limit", "int64")), False,
             "The first rows (at most 1000, 200 columns) of a run's Parquet, CSV or TSV artifact as a wire frame"),
]
