"""One writer per run directory, and the sweep of what a killed writer left behind.

Every command that writes into a run directory holds :func:`run_lock` while it does: an advisory
``flock`` on ``<run-dir>/.lock``, which the OS releases when the process ends, however it ends (kill -9
included). A second writer does not wait: it stops with one line naming the holder's pid. Readers take no
lock; every file they read is renamed into place whole (:mod:`base.atomic`). One GPT run holds the lock
of its own folder (``gpt/<variant>/seed<k>/``) instead, so that several runs of one run directory can train
at once (compare's workers, a cluster array) while no two processes ever write the same run.

Holding the lock also makes it safe to delete the temporary files and staging folders (``.NAME.XXXX.tmp``,
``.NAME.XXXX.tmp.npz``, ``.NAME.XXXX.old``) that a killed writer left: nobody else can be writing them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from pathlib import Path
from typing import Iterator

from base.errors import InputError

LOCK_NAME = ".lock"
_ATTEMPTS = 10  # 20 ms apart: a probe holds a lock for microseconds, a writer for its whole run
_STALE = re.compile(r"^\..+\.(tmp|old)(\.[A-Za-z0-9]+)?$")  # the names base.atomic gives its temporaries


def clean_stale(run_dir: Path) -> list[Path]:
    """Delete the temporary files and folders under ``run_dir`` that an interrupted writer left; return
    them. Call only while holding the run's lock."""
    removed = []
    for root, dirs, files in os.walk(run_dir):
        # a folder whose own lock another process holds (one GPT run training) is that process's to clean
        dirs[:] = [d for d in dirs if not _held_elsewhere(Path(root) / d / LOCK_NAME)]
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


def _held_elsewhere(path: Path) -> bool:
    """True when ``path`` is a lock file that some process holds now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: nobody can hold it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own shared lock


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run directory's writer lock for the block (creating the directory if needed).

    InputError (one line, with the holder's pid) when another process holds it. Stale temporaries are
    swept once the lock is held. A run directory this call created and that is still empty at the end
    (a command that failed on bad input) is removed again, so bad input leaves nothing behind.
    """
    run_dir = Path(run_dir)
    if run_dir.is_symlink() and not run_dir.exists():  # dangling, or a loop of links
        raise InputError(f"--run-dir {run_dir} is a symbolic link to nothing ({os.readlink(run_dir)}); point it "
                         "at a directory or remove it")
    created = [p for p in (run_dir, *run_dir.parents) if not p.exists()]  # innermost first
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for attempt in range(_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == _ATTEMPTS - 1:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                    raise InputError(f"{run_dir} is in use by another command (pid {holder}); wait for it to "
                                     "finish or use another --run-dir") from None
                time.sleep(0.02)  # perhaps only another command's passing probe (_held_elsewhere)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        clean_stale(run_dir)
        yield run_dir
    finally:
        if created and [p.name for p in run_dir.iterdir()] == [LOCK_NAME]:
            with contextlib.suppress(OSError):
                path.unlink()
                for directory in created:  # the folders this call made, while they are empty
                    directory.rmdir()
        os.close(fd)
