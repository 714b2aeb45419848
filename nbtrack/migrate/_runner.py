"""The import loop: experiments, then runs in batches (files first, then one transaction),
then logged models and the registry. Every step skips what the store already has, so an
import that was stopped part way is finished by running it again."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.migrate._report import Progress, Report
from nbtrack.migrate._source import Source
from nbtrack.store.duckdb import importing
from nbtrack.store.duckdb.importing import RunBatch

__all__ = ["BATCH_RUNS", "run_import"]

BATCH_RUNS = 5000
#: A batch whose points stay under this lets the next batch take twice the runs (up to
#: MAX_BATCH_RUNS); one over it halves the next. Each batch is one transaction, and each
#: costs an attach, a fold check and a checkpoint, so fewer, larger ones import faster, while
#: a store of long histories still goes in batches whose memory stays bounded.
BATCH_POINTS = 1_000_000
MAX_BATCH_RUNS = 40_000
ARTIFACT_MODES = ("copy", "reference")


def run_import(source: Source, store: Any, artifacts: str = "copy", progress: bool = False,
               batch_runs: int = BATCH_RUNS) -> Report:
    """Bring everything ``source`` holds into the embedded ``store`` (a DuckDBStore)."""
    if artifacts not in ARTIFACT_MODES:
        raise InvalidParameter(f"--artifacts must be one of {ARTIFACT_MODES}, not {artifacts!r}.")
    if artifacts == "reference" and not source.local_artifacts:
        raise InvalidParameter(f"{source.description}: its artifacts are not local files, so they cannot be "
                               "left in place and referenced; import with --artifacts copy.")
    started = time.monotonic()
    report = Report(source.description, store.root)
    store.sync()
    archive = store.archive
    exp_map = _experiments(source, archive, artifacts, report)
    locations = _locations(store)
    index = source.run_index()
    have = importing.existing_run_ids(archive, [r for r, _ in index])
    if have:
        report.note("skipped", "runs", len(have))
        report.reasons.append(f"skipped: {len(have):,} runs already in the store (imported before)")
    todo = [r for r, _ in index if r not in have]
    bar = Progress(len(todo), progress)
    try:
        start, size = 0, _first_batch(source, batch_runs)
        while start < len(todo):
            ids = todo[start:start + size]
            start += len(ids)
            batch = source.run_batch(ids)
            points = len(batch.metrics["run_id"])
            if points < BATCH_POINTS // 2:
                size = min(size * 2, MAX_BATCH_RUNS)
            elif points > BATCH_POINTS:
                size = max(size // 2, 100)
            _map_runs(batch, source, exp_map, locations, artifacts, report)
            inserted = importing.insert_runs(archive, batch)
            report.note("imported", "runs", len(inserted))
            new = set(inserted)
            report.note("imported", "metric points", sum(1 for r in batch.metrics["run_id"] if r in new))
            bar.update(len(ids), runs=report.imported["runs"])
    finally:
        bar.close()
    _logged_models(source, archive, exp_map, locations, artifacts, report)
    _registry(source, archive, report)
    store._experiments.clear()  # the store's cache of experiments read before the import
    report.seconds = time.monotonic() - started
    return report


def _first_batch(source: Source, batch_runs: int) -> int:
    """Runs in the first batch: as many as keep it near BATCH_POINTS, where the source can say
    how many points a run has on average (one batch instead of two for 10,000 short runs saves
    a transaction, an attach and a checkpoint: a tenth of the import); else ``batch_runs``."""
    per_run = getattr(source, "points_per_run", None)
    average = per_run() if per_run is not None and batch_runs == BATCH_RUNS else None
    if not average:
        return batch_runs
    return max(100, min(MAX_BATCH_RUNS, int(BATCH_POINTS // 2 / average)))


def _experiments(source: Source, archive: Any, artifacts: str, report: Report) -> dict[str, str]:
    exp_map: dict[str, str] = {}
    for exp in source.experiments():
        row = replace(exp, tags=dict(exp.tags))
        if artifacts == "copy":
            row.artifact_location = None  # the store's own folder: artifacts/<id>
        else:
            row.artifact_location = source.local_path(exp.artifact_location or "") or exp.artifact_location
        dest_id, action = importing.insert_experiment(archive, row)
        exp_map[exp.experiment_id] = dest_id
        if action == "created":
            report.note("imported", "experiments")
        elif action == "created-new-id":
            report.note("imported", "experiments", reason=(
                f"experiment {exp.name!r}: id {exp.experiment_id} is taken here, it got id {dest_id}"))
        elif action == "merged-by-name":
            report.note("skipped", "experiments", reason=(
                f"experiment {exp.name!r} (id {exp.experiment_id}) exists here as id {dest_id}; runs go into it"))
        else:
            report.note("skipped", "experiments")
    return exp_map


def _locations(store: Any) -> dict[str, str]:
    with store.archive.reading() as con:
        return dict(con.execute("SELECT experiment_id, artifact_location FROM experiments").fetchall())


def _map_runs(batch: RunBatch, source: Source, exp_map: dict[str, str], locations: dict[str, str],
              artifacts: str, report: Report) -> None:
    """Source experiment ids to ours; copy each run's files (before its record is committed)."""
    runs = batch.runs
    dest_ids: list[int] = []
    uris: list[str | None] = []
    failed: set[str] = set()
    for run_id, eid, uri in zip(runs["run_id"], runs["experiment_id"], runs["artifact_uri"], strict=True):
        dest = exp_map.get(str(eid))
        if dest is None:
            failed.add(run_id)
            report.note("failed", "runs", reason=f"run {run_id}: its experiment {eid} is not in the source")
            dest_ids.append(0)
            uris.append(None)
            continue
        dest_ids.append(int(dest))
        if artifacts == "reference":
            uris.append(source.local_path(uri or "") or uri)
            continue
        uris.append(None)
        target = os.path.join(locations[dest], run_id, "artifacts")
        try:
            report.note("imported", "artifact files", source.copy_artifacts(uri or "", target, run_id, None))
        except (OSError, NbtrackError) as e:
            failed.add(run_id)
            report.note("failed", "runs", reason=f"run {run_id}: its artifacts could not be copied ({e})")
    runs["experiment_id"], runs["artifact_uri"] = dest_ids, uris
    if failed:
        _drop(batch, failed)


def _drop(batch: RunBatch, run_ids: set[str]) -> None:
    for name in ("runs", "params", "tags", "metrics", "inputs"):
        columns = getattr(batch, name)
        keep = [i for i, r in enumerate(columns["run_id"]) if r not in run_ids]
        setattr(batch, name, {c: [v[i] for i in keep] for c, v in columns.items()})


def _logged_models(source: Source, archive: Any, exp_map: dict[str, str], locations: dict[str, str],
                   artifacts: str, report: Report) -> None:
    have = importing.existing_logged_model_ids(archive)
    for model in source.logged_models():
        if model.model_id in have:
            report.note("skipped", "logged models")
            continue
        dest = exp_map.get(model.experiment_id)
        if dest is None:
            report.note("failed", "logged models", reason=f"logged model {model.model_id}: no experiment")
            continue
        row = replace(model, experiment_id=dest)
        if artifacts == "copy":
            row.artifact_location = None
            target = os.path.join(locations[dest], "models", model.model_id, "artifacts")
            try:
                report.note("imported", "artifact files",
                            source.copy_artifacts(model.artifact_location or "", target, None, model.model_id))
            except (OSError, NbtrackError) as e:
                report.note("failed", "logged models", reason=f"logged model {model.model_id}: files ({e})")
                continue
        else:
            row.artifact_location = source.local_path(model.artifact_location or "") or model.artifact_location
        if importing.insert_logged_model(archive, row):
            report.note("imported", "logged models")
        else:
            report.note("skipped", "logged models")


def _registry(source: Source, archive: Any, report: Report) -> None:
    for model in source.registry():
        created, added, conflicts = importing.insert_registered_model(archive, model)
        report.note("imported" if created else "skipped", "registered models")
        report.note("imported", "model versions", added)
        failed = 0
        for kind, message in conflicts:
            if kind == "differs":  # a conflict: the store's own version is kept, reported as skipped
                report.reasons.append(f"conflict: {message}")
                continue
            failed += kind == "model versions"
            report.note("failed", kind, reason=message)
        report.note("skipped", "model versions", len(model.versions) - added - failed)
