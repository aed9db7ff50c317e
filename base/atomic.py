"""Atomic file and directory writes: a later stage never sees a half-written artifact.

Everything is written under a temporary name in the destination's own directory (so that the final
``os.replace`` is a rename on one filesystem) and renamed only once complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path: Path, directory: bool = False) -> None:
    """Give a temporary (0600/0700) file or directory the permissions a plain open() would have."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    _make_parent(path)
    fd, tmp = _temporary(path, prefix=f".{path.name}.", suffix=".tmp")
    with _replacing(Path(tmp), path), os.fdopen(fd, mode, **open_kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _make_parent(path: Path) -> None:
    """Create ``path``'s folder; an OS error names ``path`` (a file where a folder should be: ENOTDIR)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path)) from None
    except OSError as exc:
        _name_the_file(exc, path)
        raise


def _temporary(path: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """A new temporary file beside ``path``; an OS error (no permission, read-only filesystem) names
    ``path``, the file the user asked for, not the temporary name."""
    try:
        return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    except OSError as exc:
        _name_the_file(exc, path)
        raise


@contextlib.contextmanager
def _replacing(tmp: Path, path: Path) -> Iterator[None]:
    """Rename ``tmp`` to ``path`` when the block succeeds; on any failure delete ``tmp`` and let an OS error
    name ``path``."""
    try:
        yield
        _publish_mode(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _name_the_file(exc, path)
        raise


def _name_the_file(exc: BaseException, path: Path) -> None:
    """A failed write (disk full, ...) often raises an OSError that names no file, or the temporary one:
    raise it again naming the file being written, so the one-line error tells the user where."""
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.errno is not None:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that wants a file name (np.savez, torch.save).

    The temporary name keeps ``path``'s suffix, since some writers (``np.savez``) append one otherwise.
    """
    path = Path(path)
    _make_parent(path)
    fd, tmp = _temporary(path, prefix=f".{path.stem}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    with _replacing(Path(tmp), path):
        yield Path(tmp)


def check_writable(path: str | os.PathLike) -> None:
    """Make sure ``path`` can be written later (its folder made, a file created and removed there), so a long
    job that ends by writing it fails at once instead; the OS error names ``path``."""
    path = Path(path)
    _make_parent(path)
    fd, tmp = _temporary(path, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in 8 MB blocks (a vector file or a download may be several GB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 23), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_file(path, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, staging: str | os.PathLike | None = None) -> Iterator[Path]:
    """Build a directory under a temporary name, then swap it in for ``path`` as a whole.

    The temporary directory lives in ``staging`` (default: the parent of ``path``; it must be on the same
    filesystem). ``path`` and its parents appear only when the block succeeds; an older ``path`` is moved
    aside first and deleted after the swap.
    """
    path = Path(path)
    staging = Path(staging) if staging is not None else path.parent
    created = not staging.exists()
    staging.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.parent.name}-{path.name}.", suffix=".tmp", dir=staging))
    try:
        yield tmp
        _publish_mode(tmp, directory=True)
        _make_parent(path)
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=staging))
            os.replace(path, old / "x")
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                staging.rmdir()  # only when empty: a failed build leaves no folder it made
        _name_the_file(exc, path)
        raise
