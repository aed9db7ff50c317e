"""One writer per run directory, and the sweep of what a killed writer left behind.

Every command that writes into a run directory holds :func:`run_lock` while it does: an advisory
``flock`` on ``<run-dir>/.lock``, which the OS releases when the process ends, however it ends (kill -9
included). A second writer does not wait: it stops with one line naming the holder's pid. Readers take no
lock; every file they read is renamed into place whole (:mod:`corpus.atomic`).

Holding the lock also makes it safe to delete the temporary files and staging folders (``.NAME.XXXX.tmp``,
``.NAME.XXXX.tmp.npz``, ``.NAME.XXXX.old``) that a killed writer left: nobody else can be writing them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

from corpus.errors import InputError

LOCK_NAME = ".lock"
_STALE = re.compile(r"^\..+\.(tmp|old)(\.[A-Za-z0-9]+)?$")  # the names corpus.atomic gives its temporaries


def clean_stale(run_dir: Path) -> list[Path]:
    """Delete the temporary files and folders under ``run_dir`` that an interrupted writer left; return
    them. Call only while holding the run's lock."""
    removed = []
    for root, dirs, files in os.walk(run_dir):
        for name in [d for d in dirs if _STALE.match(d)]:
            shutil.rmtree(Path(root) / name, ignore_errors=True)
            removed.append(Path(root) / name)
            dirs.remove(name)
        for name in files:
            if _STALE.match(name):
                with contextlib.suppress(FileNotFoundError):
                    (Path(root) / name).unlink()
                removed.append(Path(root) / name)
    return removed


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run directory's writer lock for the block (creating the directory if needed).

    InputError (one line, with the holder's pid) when another process holds it. Stale temporaries are
    swept once the lock is held. A run directory this call created and that is still empty at the end
    (a command that failed on bad input) is removed again, so bad input leaves nothing behind.
    """
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise InputError(f"{run_dir} is in use by another command (pid {holder}); wait for it to finish "
                             "or use another --run-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        clean_stale(run_dir)
        yield run_dir
    finally:
        if created and [p.name for p in run_dir.iterdir()] == [LOCK_NAME]:
            with contextlib.suppress(OSError):
                path.unlink()
                run_dir.rmdir()
        os.close(fd)
