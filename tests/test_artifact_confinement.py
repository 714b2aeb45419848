"""Artifact confinement: real symlinks planted in a run's artifact folder cannot lead a read or write outside.

Each escape attempt goes through :func:`attempt`, which checks that the files outside are byte for byte
what they were and that the call raised ``ArtifactPathError``; the last test prints the tally
(tried, refused, contained, escaped) and requires that nothing escaped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.errors import ArtifactPathError, NbtrackError

SECRET = "top secret: must never be overwritten or copied"
TALLY = {"tried": 0, "refused": 0, "contained": 0, "escaped": 0}


def snapshot(*paths: Path) -> dict[str, bytes | None]:
    """Every file under ``paths`` (links not followed) and its bytes; None for a link or a folder."""
    seen: dict[str, bytes | None] = {}
    for top in paths:
        if not os.path.lexists(top):
            continue
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                p = os.path.join(folder, name)
                seen[p] = None if os.path.islink(p) or os.path.isdir(p) else Path(p).read_bytes()
        if top.is_file():
            seen[str(top)] = top.read_bytes()
    return seen


def attempt(action: Callable[[], Any], *watched: Path, refused: bool = True) -> ArtifactPathError | None:
    """Run one escape attempt. Nothing under ``watched`` may change; by default it must be refused."""
    before = snapshot(*watched)
    TALLY["tried"] += 1
    error = None
    try:
        action()
    except ArtifactPathError as e:
        error = e
    escaped = snapshot(*watched) != before
    TALLY["escaped" if escaped else "refused" if error else "contained"] += 1
    assert not escaped, f"an artifact call changed files outside the run: {snapshot(*watched)}"
    if refused:
        assert error is not None, "the escape attempt was not refused with ArtifactPathError"
        assert "artifact" in str(error) and isinstance(error, NbtrackError)
    return error


def old_temp_trap(root: Path, name: str, outside: Path) -> None:
    """Plant a link at the fixed temp name older releases wrote through (``<file>.tmp-nbtrack``)."""
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.tmp-nbtrack").symlink_to(outside / "secret.txt")


@pytest.fixture
def run(tmp_path):
    """(client, run id, the run's artifact folder) with one file logged."""
    client = nbtrack.MlflowClient()
    rid = client.create_run(client.create_experiment("confined")).info.run_id
    client.log_text(rid, "inside", "inside.txt")
    return client, rid, Path(client.get_artifact_uri(rid))


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the store with a secret file and a subfolder."""
    folder = tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    (folder / "secret.txt").write_text(SECRET)
    return folder


def test_log_artifact_through_a_link_as_the_destination_file(run, outside, tmp_path):
    client, rid, root = run
    src = tmp_path / "src" / "dest.txt"
    src.parent.mkdir()
    src.write_text("payload")
    (root / "dest.txt").symlink_to(outside / "secret.txt")
    error = attempt(lambda: client.log_artifact(rid, str(src)), outside)
    assert "dest.txt" in str(error) and "symbolic link" in str(error)
    (root / "dir").symlink_to(outside)
    attempt(lambda: client.log_artifact(rid, str(src), "dir"), outside)
    attempt(lambda: client.log_artifact(rid, str(src), "dir/sub"), outside)


def test_log_artifacts_into_a_linked_destination_folder(run, outside, tmp_path):
    client, rid, root = run
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "secret.txt").write_text("payload")
    (src / "sub" / "b.txt").write_text("B")
    (root / "data").symlink_to(outside)
    attempt(lambda: client.log_artifacts(rid, str(src), "data"), outside)
    (root / "tree").mkdir()
    (root / "tree" / "secret.txt").symlink_to(outside / "secret.txt")  # a link deep in the destination
    attempt(lambda: client.log_artifacts(rid, str(src), "tree"), outside)
    (root / "tree2").mkdir()
    (root / "tree2" / "sub").symlink_to(outside / "sub")
    attempt(lambda: nbtrack.log_artifacts(str(src), "tree2", run_id=rid), outside)
    assert not (outside / "sub" / "b.txt").exists()


def test_log_text_through_links_and_the_old_temp_name(run, outside):
    client, rid, root = run
    (root / "notes.txt").symlink_to(outside / "secret.txt")
    attempt(lambda: client.log_text(rid, "overwrite", "notes.txt"), outside)
    (root / "new.txt").symlink_to(outside / "not-yet.txt")  # a dangling link must not create its target
    attempt(lambda: client.log_text(rid, "create", "new.txt"), outside)
    assert not (outside / "not-yet.txt").exists()
    # the fixed temp name of old releases: a link planted there is now simply ignored
    old_temp_trap(root, "plain.txt", outside)
    attempt(lambda: client.log_text(rid, "fine", "plain.txt"), outside, refused=False)
    assert (root / "plain.txt").read_text() == "fine" and not (root / "plain.txt").is_symlink()


def test_log_dict_through_a_file_link_and_a_folder_link(run, outside):
    client, rid, root = run
    (root / "cfg.json").symlink_to(outside / "secret.txt")
    attempt(lambda: client.log_dict(rid, {"a": 1}, "cfg.json"), outside)
    (root / "conf").symlink_to(outside / "sub")
    attempt(lambda: client.log_dict(rid, {"a": 1}, "conf/cfg.yaml"), outside)
    old_temp_trap(root, "ok.json", outside)
    attempt(lambda: client.log_dict(rid, {"a": 1}, "ok.json"), outside, refused=False)
    assert (root / "ok.json").read_text().startswith("{")


def test_log_image_single_file_and_series_folder(run, outside):
    import numpy as np

    client, rid, root = run
    (root / "img.png").symlink_to(outside / "secret.txt")
    attempt(lambda: client.log_image(rid, np.zeros((2, 2), dtype=np.uint8), "img.png"), outside)
    (root / "images").symlink_to(outside / "sub")
    attempt(lambda: client.log_image(rid, np.zeros((2, 2), dtype=np.uint8), key="k", step=1), outside)
    old_temp_trap(root, "ok.png", outside)
    attempt(lambda: client.log_image(rid, np.zeros((2, 2), dtype=np.uint8), "ok.png"), outside, refused=False)
    assert (root / "ok.png").read_bytes().startswith(b"\x89PNG")


def test_log_figure_into_a_linked_folder(run, outside):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    client, rid, root = run
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    (root / "plots").symlink_to(outside)
    attempt(lambda: client.log_figure(rid, fig, "plots/secret.txt.png"), outside)
    (root / "fig.png").symlink_to(outside / "secret.txt")
    attempt(lambda: client.log_figure(rid, fig, "fig.png"), outside)
    old_temp_trap(root, "ok/fig.png", outside)
    attempt(lambda: client.log_figure(rid, fig, "ok/fig.png"), outside, refused=False)
    assert (root / "ok" / "fig.png").read_bytes().startswith(b"\x89PNG")
    plt.close(fig)


def test_log_table_neither_reads_nor_writes_a_linked_table(run, outside):
    client, rid, root = run
    (outside / "table.json").write_text('{"columns": ["a"], "data": [[42]]}')
    (root / "results.json").symlink_to(outside / "table.json")
    attempt(lambda: client.log_table(rid, {"a": [1]}, "results.json"), outside)
    old_temp_trap(root, "ok.json", outside)
    attempt(lambda: client.log_table(rid, {"a": [1]}, "ok.json"), outside, refused=False)
    assert '"data":[[1]]' in (root / "ok.json").read_text()


def test_list_artifacts_shows_nothing_outside(run, outside):
    client, rid, root = run
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "leakdir").symlink_to(outside)
    (root / "broken").symlink_to(root / "missing")
    listed = attempt(lambda: client.list_artifacts(rid), outside, refused=False)
    assert listed is None
    assert [f.path for f in client.list_artifacts(rid)] == ["inside.txt"]
    attempt(lambda: client.list_artifacts(rid, "leakdir"), outside)
    attempt(lambda: client.list_artifacts(rid, "leakdir/sub"), outside)


def test_client_download_refuses_links_that_point_outside(run, outside, tmp_path):
    client, rid, root = run
    (root / "d").mkdir()
    (root / "d" / "ok.txt").write_text("ok")
    (root / "d" / "passwd").symlink_to(outside / "secret.txt")
    dst = tmp_path / "dl"
    error = attempt(lambda: client.download_artifacts(rid, "d", str(dst)), outside, dst)
    assert "d/passwd" in str(error) and "Remove the link" in str(error)
    assert not dst.exists() or SECRET not in str(snapshot(dst))
    attempt(lambda: client.download_artifacts(rid, "d/passwd", str(dst)), outside, dst)
    attempt(lambda: client.download_artifacts(rid, "d"), outside, dst)  # handing out the path is refused too
    attempt(lambda: client.download_artifacts(rid, "", str(dst)), outside, dst)
    if os.path.exists("/etc/passwd"):
        (root / "etc").symlink_to("/etc/passwd")
        attempt(lambda: client.download_artifacts(rid, "etc", str(dst)), outside, dst)


def test_runs_uri_download_refuses_links_that_point_outside(run, outside, tmp_path):
    _, rid, root = run
    (root / "model").mkdir()
    (root / "model" / "weights").symlink_to(outside / "sub")
    (root / "file.txt").symlink_to(outside / "secret.txt")
    dst = tmp_path / "dl"
    download = nbtrack.artifacts.download_artifacts
    attempt(lambda: download(f"runs:/{rid}/model", dst_path=str(dst)), outside, dst)
    attempt(lambda: download(f"runs:/{rid}/file.txt", dst_path=str(dst)), outside, dst)
    attempt(lambda: download(f"runs:/{rid}/file.txt"), outside, dst)
    attempt(lambda: download(run_id=rid, artifact_path="model/weights", dst_path=str(dst)), outside, dst)


def test_models_uri_download_refuses_links_that_point_outside(run, outside, tmp_path):
    """A registered version's files live in the store; a planted link there leads nowhere."""
    client, rid, _ = run
    client.log_text(rid, "weights", "model/MLmodel")
    client.create_registered_model("confined-model")
    version = client.create_model_version("confined-model", f"runs:/{rid}/model", rid)
    stored = Path(client.get_model_version_download_uri("confined-model", version.version))
    (stored / "leak.txt").symlink_to(outside / "secret.txt")
    dst = tmp_path / "dl"
    download = nbtrack.artifacts.download_artifacts
    attempt(lambda: download("models:/confined-model/1", dst_path=str(dst)), outside, dst)
    attempt(lambda: download("models:/confined-model/1"), outside, dst)
    (stored / "leak.txt").unlink()
    assert (Path(download("models:/confined-model/1", dst_path=str(dst))) / "MLmodel").read_text() == "weights"


def test_a_link_into_another_run_of_the_store_is_outside(run, tmp_path):
    client, rid, root = run
    other = client.create_run(client.get_run(rid).info.experiment_id).info.run_id
    client.log_text(other, "other run's", "private.txt")
    other_root = Path(client.get_artifact_uri(other))
    (root / "neighbour").symlink_to(other_root)
    (root / "private.txt").symlink_to(other_root / "private.txt")
    dst = tmp_path / "dl"
    attempt(lambda: client.log_text(rid, "x", "neighbour/private.txt"), other_root)
    attempt(lambda: client.log_text(rid, "x", "private.txt"), other_root)
    attempt(lambda: client.download_artifacts(rid, "neighbour", str(dst)), other_root, dst)
    attempt(lambda: client.download_artifacts(rid, "private.txt"), other_root, dst)
    assert [f.path for f in client.list_artifacts(rid)] == ["inside.txt"]


def test_links_that_stay_inside_the_run_keep_working(run, tmp_path):
    client, rid, root = run
    client.log_text(rid, "A", "v3/a.txt")
    (root / "latest").symlink_to("v3")  # relative, as rsync -a keeps it
    (root / "best.txt").symlink_to(root / "v3" / "a.txt")
    (root / "v3" / "up").symlink_to("..")  # a loop back up the tree
    listing = {f.path: f.is_dir for f in client.list_artifacts(rid)}
    assert listing == {"best.txt": False, "inside.txt": False, "latest": True, "v3": True}
    assert [f.path for f in client.list_artifacts(rid, "latest")] == ["latest/a.txt", "latest/up"]
    client.log_text(rid, "B", "latest/b.txt")
    assert (root / "v3" / "b.txt").read_text() == "B"
    client.log_text(rid, "A2", "best.txt")  # writes the file the link names; the link stays
    assert (root / "best.txt").is_symlink() and (root / "v3" / "a.txt").read_text() == "A2"
    got = Path(client.download_artifacts(rid, "latest", str(tmp_path / "dl")))
    assert got.name == "latest" and (got / "a.txt").read_text() == "A2" and (got / "b.txt").read_text() == "B"
    # up -> .. is the run's folder: copied once, and the way back into v3 (an ancestor here) is cut
    assert (got / "up" / "inside.txt").exists() and not (got / "up" / "v3").exists()
    assert not (got / "up" / "latest").exists()
    local = nbtrack.artifacts.download_artifacts(f"runs:/{rid}/best.txt")
    assert Path(local).read_text() == "A2"
    whole = Path(client.download_artifacts(rid, "", str(tmp_path / "all")))
    assert (whole / "latest" / "a.txt").read_text() == "A2" and (whole / "v3" / "b.txt").read_text() == "B"
    assert not (whole / "v3" / "up").exists() and not (whole / "latest" / "up").exists()


def test_percent_signs_are_kept_literally(run):
    client, rid, root = run
    for name in ("report%20final%25.txt", "100%.txt", "a%zz.txt", "dir%2Dx/b.txt", "a%2e%2eb.txt"):
        client.log_text(rid, name, name)
        assert (root / name).read_text() == name
        assert Path(client.download_artifacts(rid, name)).read_text() == name
    assert not (root / "report final%.txt").exists()
    paths = [f.path for f in client.list_artifacts(rid)]
    assert "report%20final%25.txt" in paths and "100%.txt" in paths and "dir%2Dx" in paths


ENCODED_TRAVERSAL = ["%2e%2e/x.txt", "%2E%2E/x.txt", "a/%2e%2e/%2e%2e/x.txt", "%252e%252e/x.txt", "..%2fx.txt",
                     "a%2fb.txt", "%2e/x.txt", "a%5cb.txt", "a%00b.txt", "%2fetc/x.txt", "file%3a%2f%2f/x.txt"]


@pytest.mark.parametrize("name", ENCODED_TRAVERSAL)
def test_encoded_traversal_is_refused(run, name, tmp_path):
    client, rid, _ = run
    src = tmp_path / "x.txt"
    src.write_text("x")
    store = tmp_path / "store"
    watched = [p for p in tmp_path.iterdir() if p != store]
    error = attempt(lambda: client.log_text(rid, "x", name), *watched)
    assert "URL-decoded" in str(error)
    attempt(lambda: client.log_artifact(rid, str(src), name), *watched)
    attempt(lambda: client.list_artifacts(rid, name), *watched)
    attempt(lambda: client.download_artifacts(rid, name, str(tmp_path / "dl")), *watched)
    assert not list(store.rglob("x.txt"))


def test_names_over_255_bytes_are_refused_with_the_limit(run, tmp_path):
    client, rid, root = run
    client.log_text(rid, "ok", "n" * 251 + ".txt")  # exactly 255 bytes
    assert (root / ("n" * 251 + ".txt")).read_text() == "ok"
    for name in ("n" * 252 + ".txt", "é" * 128, "dir/" + "d" * 256 + "/f.txt"):
        with pytest.raises(ArtifactPathError, match="255 bytes"):
            client.log_text(rid, "x", name)
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(ArtifactPathError, match="255 bytes"):
        client.log_artifact(rid, str(src), "p" * 300)
    with pytest.raises(ArtifactPathError, match="255 bytes"):
        client.download_artifacts(rid, "p" * 300)
    with pytest.raises(ArtifactPathError, match="over 4096 bytes"):
        client.log_text(rid, "x", "/".join(["d" * 200] * 21))
    assert sorted(os.listdir(root)) == ["inside.txt", "n" * 251 + ".txt"]


def test_a_fifo_in_the_artifact_folder_neither_hangs_nor_lists(run, tmp_path):
    client, rid, root = run
    os.mkfifo(root / "pipe")
    assert [f.path for f in client.list_artifacts(rid)] == ["inside.txt"]
    result: list[BaseException | str] = []

    def download() -> None:
        try:
            result.append(client.download_artifacts(rid, "", str(tmp_path / "dl")))
        except BaseException as e:  # handed to the test thread
            result.append(e)

    worker = threading.Thread(target=download, daemon=True)
    worker.start()
    worker.join(10)
    assert result and isinstance(result[0], ArtifactPathError) and "FIFO" in str(result[0])


def test_a_source_folder_with_links_is_copied_as_it_points(run, outside, tmp_path):
    """The source side follows links as MLflow does: the user names what to copy."""
    client, rid, root = run
    src = tmp_path / "src"
    src.mkdir()
    (src / "real.txt").write_text("R")
    (src / "linked.txt").symlink_to(outside / "secret.txt")
    (src / "loop").symlink_to(".")
    client.log_artifacts(rid, str(src), "copied")
    assert (root / "copied" / "linked.txt").read_text() == SECRET
    assert not (root / "copied" / "linked.txt").is_symlink()
    assert (root / "copied" / "real.txt").read_text() == "R"
    assert sorted(os.listdir(root / "copied")) == ["linked.txt", "real.txt"]  # the loop is cut


def test_no_temp_file_is_left_or_listed(run):
    client, rid, root = run
    for i in range(5):
        client.log_text(rid, str(i), "many.txt")
    with pytest.raises(ArtifactPathError, match="reserved"):
        client.log_text(rid, "x", ".nbtrack-tmp-abc")
    assert sorted(os.listdir(root)) == ["inside.txt", "many.txt"]


def test_tally_of_escape_attempts():
    """Runs last: every attempt above was refused or contained, none escaped."""
    if TALLY["tried"] == 0:
        pytest.skip("run the whole file to get the tally")
    print(f"\nartifact escape attempts: {TALLY}")
    assert TALLY["escaped"] == 0
    assert TALLY["tried"] == TALLY["refused"] + TALLY["contained"]
