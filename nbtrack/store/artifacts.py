"""Artifact repositories: every read and write stays inside the run's artifact folder.

The rules live here so that the tracking API and a REST server share them:

- :func:`safe_relpath` checks the *name*. Names are kept literally (``report%20final.txt`` is a file
  of that name); ``..``, absolute paths, URIs, backslashes and NUL are refused, and so is a name
  that would turn into one of those once URL-decoded (``%2e%2e/``, ``%2f``, ``%5c``, ``%00``, also
  double-encoded), because a URL layer in front of the store would decode it. A path component may
  be at most :data:`NAME_MAX` bytes.
- :class:`LocalArtifactRepository` checks the *file system*. Symbolic links are resolved and the
  real path must stay inside the run's artifact folder; links that stay inside work as usual. The
  folders are then opened one by one with ``O_NOFOLLOW`` and files are created next to the
  destination with ``O_CREAT | O_EXCL | O_NOFOLLOW`` under a random name and renamed into place, so
  a link swapped in after the check is refused rather than followed. The artifact folder itself is
  trusted as configured (it may be a link, e.g. to a bigger disk); confinement starts below it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from typing import BinaryIO
from urllib.parse import unquote, urlparse

from nbtrack.entities import FileInfo
from nbtrack.errors import ArtifactPathError, InvalidParameter, NotFound

__all__ = ["NAME_MAX", "PATH_MAX", "TEMP_PREFIX", "LocalArtifactRepository", "local_path_of", "safe_relpath"]

NAME_MAX = 255  # bytes in one path component: ext4, xfs, btrfs, APFS and NTFS all stop near here
PATH_MAX = 4096  # bytes in a whole path on Linux
TEMP_PREFIX = ".nbtrack-tmp-"  # files being written; never listed or downloaded

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | _CLOEXEC  # NONBLOCK: a FIFO must not hang
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
_MAX_FOLDER_LINKS = 1000  # folder links followed by one download: more means a link bomb or loop


def local_path_of(uri: str) -> str:
    """The local path of a plain path or ``file:`` URI (a URI is percent-decoded, a plain path is not)."""
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise ArtifactPathError(f"file URI {uri!r} names a remote host; only local files are supported.")
        return unquote(parsed.path)
    return uri


# -- names ----------------------------------------------------------------------------------------
def _decodings(text: str) -> Iterator[str]:
    """``text`` and each further URL-decoding of it, until decoding changes nothing."""
    yield text
    while (decoded := unquote(text)) != text:  # each step shortens the text, so this ends
        yield decoded
        text = decoded


def _refuse(text: str, why: str, fix: str = "") -> ArtifactPathError:
    fix = fix or "Use a relative path inside the run's artifact folder, e.g. 'plots/loss.png'."
    return ArtifactPathError(f"Invalid artifact path {text!r}: {why}. {fix}")


def _check_stage(text: str, stage: str) -> None:
    """Refuse ``stage`` (``text`` itself or a decoding of it) if it could leave the artifact folder."""
    encoded = stage != text
    how = f" once URL-decoded (to {stage!r})" if encoded else ""
    if "\x00" in stage or "\\" in stage:
        raise _refuse(text, f"it holds a NUL byte or a backslash{how}", "Use '/' to separate folders.")
    if stage.startswith("/") or (len(stage) > 1 and stage[1] == ":") or "://" in stage:
        raise _refuse(text, f"it is absolute or a URI{how}; it must be relative to the run's artifact folder")
    if encoded and stage.count("/") != text.count("/"):
        raise _refuse(text, f"it holds an encoded '/' (%2f){how}", "Write '/' itself to make a folder.")
    for raw_part, part in zip(text.split("/"), stage.split("/"), strict=True):
        if part == ".." or (encoded and part == "." and raw_part != "."):
            raise _refuse(text, f"'{raw_part}' is a '..' or '.' path component{how}, which could leave the "
                                "run's artifact folder")


def safe_relpath(path: str | os.PathLike[str] | None) -> str:
    """Normalise an artifact path, kept literally (no URL decoding); refuse anything that could escape.

    Raises :class:`~nbtrack.errors.ArtifactPathError` for ``..``, absolute paths, URIs, backslashes,
    NUL, URL-encoded forms of those (``%2e%2e``, ``%2f``, ...) and components over :data:`NAME_MAX`
    bytes. Other ``%`` sequences are ordinary characters: ``'100%25.txt'`` names that file.

    >>> safe_relpath("plots//./loss%20curve.png")
    'plots/loss%20curve.png'
    """
    if path is None:
        return ""
    text = os.fspath(path)
    if text in ("", "."):
        return ""
    for stage in _decodings(text):
        _check_stage(text, stage)
    norm = posixpath.normpath(text)
    for part in norm.split("/"):
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > NAME_MAX:
            raise _refuse(text, f"the name {part[:40]!r}... is {size} bytes, over the limit of {NAME_MAX} bytes "
                                "for one file or folder name", f"Shorten it to at most {NAME_MAX} bytes.")
    return "" if norm == "." else norm


def _check_writable_name(rel: str) -> None:
    if not rel:
        raise ArtifactPathError("An artifact file name is required, e.g. 'notes/summary.txt'.")
    if posixpath.basename(rel).startswith(TEMP_PREFIX):
        raise _refuse(rel, f"names starting with {TEMP_PREFIX!r} are reserved for files being written",
                      "Choose another name.")


def _os_refusal(rel: str, what: str, err: OSError) -> ArtifactPathError:
    if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return _refuse(rel, f"{what!r} is not a real folder (it is a file or a symbolic link, perhaps changed "
                            "while nbtrack was working)", "Remove or rename it, or use another path.")
    if err.errno == errno.ENAMETOOLONG:
        return _refuse(rel, "the path is too long for the file system", "Use shorter names.")
    return _refuse(rel, f"{what!r} cannot be used ({err.strerror})", "Check the artifact folder's permissions.")


# -- the repository ---------------------------------------------------------------------------------
class LocalArtifactRepository:
    """Artifacts of one run (or model) in a local folder; nothing outside that folder is read or written."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(local_path_of(root))

    # confinement ------------------------------------------------------------------------------
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def _outside(self, full: str, root: str) -> bool:
        return full != root and not full.startswith(root + os.sep)

    def _resolve(self, rel: str) -> list[str]:
        """The real components of ``rel`` below the root, links followed; refuse if they leave it."""
        if not rel:
            return []
        root = self._real_root()
        full = os.path.realpath(os.path.join(root, rel))
        if self._outside(full, root):
            raise self._escape(rel, root)
        if len(os.fsencode(full)) >= PATH_MAX:
            raise _refuse(rel, f"the full path would be over {PATH_MAX} bytes", "Use shorter or fewer folders.")
        return [] if full == root else os.path.relpath(full, root).split(os.sep)

    def _escape(self, rel: str, root: str) -> ArtifactPathError:
        """The error for ``rel`` resolving outside ``root``, naming the link that takes it there."""
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            path = os.path.join(root, *parts[:i])
            if os.path.islink(path) and self._outside(os.path.realpath(path), root):
                link = "/".join(parts[:i])
                return _refuse(rel, f"{link!r} is a symbolic link (to {os.readlink(path)!r}) that leads outside "
                                    "the run's artifact folder", f"Remove the link {path!r} or use another path.")
        return _refuse(rel, "it resolves outside the run's artifact folder", "Use another path.")

    @contextlib.contextmanager
    def _folder(self, parts: list[str], rel: str, create: bool) -> Iterator[int]:
        """A descriptor of the real folder ``parts`` below the root, each step opened with O_NOFOLLOW."""
        root = self._real_root()
        if create:
            os.makedirs(root, exist_ok=True)
        try:
            fd = os.open(root, os.O_RDONLY | _CLOEXEC)
        except FileNotFoundError:
            raise NotFound(f"No artifact {rel!r}: the run has no artifact folder yet ({root}).") from None
        try:
            for part in parts:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=fd)
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    raise NotFound(f"No artifact {rel!r} under {self.root}.") from None
                except OSError as e:
                    raise _os_refusal(rel, part, e) from None
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _open_file(self, parts: list[str], rel: str) -> BinaryIO:
        """The regular file at the real components ``parts``, opened without following links."""
        with self._folder(parts[:-1], rel, create=False) as dfd:
            try:
                fd = os.open(parts[-1], _READ_FLAGS, dir_fd=dfd)
            except FileNotFoundError:
                raise NotFound(f"No artifact {rel!r} under {self.root}.") from None
            except OSError as e:
                raise _os_refusal(rel, parts[-1], e) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise _refuse(rel, "it is not a regular file (a FIFO, socket or device)", "Remove it from the run.")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    # writing ----------------------------------------------------------------------------------
    def _write(self, artifact_file: str, fill: Callable[[BinaryIO], object],
               like: os.stat_result | None = None) -> str:
        """Write ``artifact_file`` atomically: a fresh temp file beside it, then a rename onto it."""
        rel = safe_relpath(artifact_file)
        _check_writable_name(rel)
        parts = self._resolve(rel)
        if not parts:
            raise _refuse(rel, "it resolves to the run's artifact folder itself", "Give a file name inside it.")
        *dirs, name = parts
        with self._folder(dirs, rel, create=True) as dfd:
            with contextlib.suppress(FileNotFoundError):
                mode = os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    raise _refuse(rel, "it is a folder of artifacts", "Give a file name inside it.")
                if stat.S_ISLNK(mode):  # resolution followed every link it could: a loop, or a new link
                    raise _refuse(rel, "it is a symbolic link that loops or changed while nbtrack was writing",
                                  "Remove the link, or try again.")
            tmp = TEMP_PREFIX + secrets.token_hex(8)
            try:
                with os.fdopen(os.open(tmp, _CREATE_FLAGS, 0o666, dir_fd=dfd), "wb") as f:
                    fill(f)
                    if like is not None:
                        f.flush()
                        os.chmod(f.fileno(), stat.S_IMODE(like.st_mode))
                        os.utime(f.fileno(), ns=(like.st_atime_ns, like.st_mtime_ns))
                os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dfd)
                raise
        return os.path.join(self._real_root(), *dirs, name)

    def write_bytes(self, artifact_file: str, data: bytes) -> str:
        """Write ``data`` to ``artifact_file``; returns the local path written."""
        return self._write(artifact_file, lambda f: f.write(data))

    def _copy_in(self, local_file: str, artifact_file: str) -> None:
        if os.path.exists(local_file) and not os.path.isfile(local_file):  # a FIFO would block open()
            raise InvalidParameter(f"Cannot log artifact: {local_file!r} is not a regular file.")
        try:
            src = open(local_file, "rb")  # noqa: SIM115 - the source is the user's: links are followed
        except FileNotFoundError:
            raise NotFound(f"Cannot log artifact: {local_file!r} does not exist (a broken link?).") from None
        with src:
            st = os.fstat(src.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InvalidParameter(f"Cannot log artifact: {local_file!r} is not a regular file.")
            self._write(artifact_file, lambda f: shutil.copyfileobj(src, f), st)

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        if not os.path.isfile(local_file):
            raise NotFound(f"Cannot log artifact: {local_file!r} is not a file.")
        self._copy_in(local_file, posixpath.join(safe_relpath(artifact_path), os.path.basename(local_file)))

    def make_folder(self, artifact_path: str | None) -> None:
        """Create the artifact folder ``artifact_path`` (and its parents) inside the root."""
        rel = safe_relpath(artifact_path)
        with self._folder(self._resolve(rel), rel, create=True):
            pass

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy the tree at ``local_dir`` (links in it followed, as MLflow) under ``artifact_path``."""
        if not os.path.isdir(local_dir):
            raise NotFound(f"Cannot log artifacts: {local_dir!r} is not a directory.")
        base = safe_relpath(artifact_path)
        for rel, local, is_dir in _source_tree(local_dir):
            dest = posixpath.join(base, rel) if rel else base
            if is_dir:
                self.make_folder(dest)
            else:
                self._copy_in(local, dest)

    # reading ----------------------------------------------------------------------------------
    def _link_target(self, parts: list[str], name: str, rel: str) -> list[str] | None:
        """Real components of the link ``name`` in folder ``parts``; None if broken; refuse if outside."""
        root = self._real_root()
        full = os.path.realpath(os.path.join(root, *parts, name))
        if self._outside(full, root):
            raise self._escape(rel, root)
        if not os.path.exists(full):
            return None
        return [] if full == root else os.path.relpath(full, root).split(os.sep)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under ``path``.

        A symbolic link that stays inside the run's folder is listed as what it points at; one that
        points outside (or nowhere), FIFOs, sockets, devices and files being written are not listed.
        """
        rel = safe_relpath(path)
        parts = self._resolve(rel)
        if not os.path.isdir(os.path.join(self._real_root(), *parts)):
            return []
        with self._folder(parts, rel, create=False) as fd, os.scandir(fd) as found:  # stat while fd is open
            return [info for entry in sorted(found, key=lambda e: e.name)
                    if (info := self._info(parts, rel, entry)) is not None]

    def _info(self, parts: list[str], rel: str, entry: os.DirEntry[str]) -> FileInfo | None:
        child_rel = posixpath.join(rel, entry.name) if rel else entry.name
        if entry.name.startswith(TEMP_PREFIX):
            return None
        try:
            if entry.is_symlink():
                target = self._link_target(parts, entry.name, child_rel)
                if target is None:
                    return None
                st = os.stat(os.path.join(self._real_root(), *target))
            else:
                st = entry.stat(follow_symlinks=False)
        except (ArtifactPathError, FileNotFoundError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return FileInfo(child_rel, True, None)
        if stat.S_ISREG(st.st_mode):
            return FileInfo(child_rel, False, st.st_size)
        return None

    def _plan(self, parts: list[str], rel: str) -> list[tuple[str, list[str], bool]]:
        """(path relative to ``rel``, real components, is folder) of everything a download copies.

        Refuses, naming it, a link that leads outside the run's folder and anything that is neither
        a file nor a folder. Links inside are followed; a link back to a folder being copied is not.
        """
        root = self._real_root()
        plan: list[tuple[str, list[str], bool]] = []
        stack: list[tuple[str, list[str], frozenset[tuple[int, int]]]] = [("", parts, frozenset())]
        links = 0
        while stack:
            out, real, above = stack.pop()
            here = posixpath.join(rel, out) if out else rel
            st = os.stat(os.path.join(root, *real))
            if stat.S_ISREG(st.st_mode):
                plan.append((out, real, False))
                continue
            key = (st.st_dev, st.st_ino)
            if not stat.S_ISDIR(st.st_mode):
                raise _refuse(here, "it is not a regular file or folder (a FIFO, socket or device)",
                              "Remove it from the run.")
            if key in above:
                continue  # a link back up the tree: copying it would never end
            plan.append((out, real, True))
            with os.scandir(os.path.join(root, *real)) as found:
                entries = list(found)
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                child_out = posixpath.join(out, entry.name) if out else entry.name
                child: list[str] | None = [*real, entry.name]
                if entry.is_symlink():
                    child = self._link_target(real, entry.name, posixpath.join(here, entry.name) if here
                                              else entry.name)
                    links += 1
                    if links > _MAX_FOLDER_LINKS:
                        raise _refuse(rel, f"the folder holds more than {_MAX_FOLDER_LINKS} symbolic links",
                                      "Download a smaller folder, or replace the links by files.")
                if child is not None:
                    stack.append((child_out, child, above | {key}))
        return sorted(plan)

    def download_artifacts(self, artifact_path: str | None, dst_path: str | None = None) -> str:
        """Copy ``artifact_path`` into ``dst_path``; without one, check it and return its local path."""
        rel = safe_relpath(artifact_path)
        parts = self._resolve(rel)
        src = os.path.join(self._real_root(), *parts)
        if not os.path.exists(src):
            raise NotFound(f"No artifact {rel or '(root)'!r} under {self.root}.")
        plan = self._plan(parts, rel)  # also when only handing out the path: its reader follows links
        if dst_path is None:
            return src  # already local: hand out the path, as MLflow's local repository does
        target = os.path.join(os.path.abspath(dst_path), posixpath.basename(rel) or "artifacts")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        for out, real, is_dir in plan:
            dest = os.path.join(target, out) if out else target
            if is_dir:
                os.makedirs(dest, exist_ok=True)
                continue
            with self._open_file(real, posixpath.join(rel, out) if out else rel) as f_in:
                st = os.fstat(f_in.fileno())
                with open(dest, "wb") as f_out:
                    shutil.copyfileobj(f_in, f_out)
            os.chmod(dest, stat.S_IMODE(st.st_mode))
            os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
        return target


def _source_tree(local_dir: str) -> Iterator[tuple[str, str, bool]]:
    """(relative path with '/', local path, is folder) under ``local_dir``, links followed, loops cut."""
    seen: set[tuple[int, int]] = set()
    for folder, subfolders, files in os.walk(local_dir, followlinks=True):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            subfolders[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        rel = os.path.relpath(folder, local_dir)
        rel = "" if rel == "." else rel.replace(os.sep, "/")
        yield rel, folder, True
        for name in sorted(files):
            yield posixpath.join(rel, name) if rel else name, os.path.join(folder, name), False
