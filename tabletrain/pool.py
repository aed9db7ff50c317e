"""The table trainers' one thread pool: workers on Python threads, progress while the caller waits, and the
first error re-raised in the caller.

The work itself runs in numba ``nogil`` kernels, so the threads run at once; how the work is cut into parts
stays with each caller (it decides which floats a run produces).
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence

POLL_SECONDS = 0.2  # how often the waiting caller reports progress


def run_workers(workers: Sequence[Callable[[], None]], progress: Callable[[], None] | None = None,
                poll: float = POLL_SECONDS) -> None:
    """Run each of ``workers`` on a thread of its own and wait until all have returned.

    While waiting, the calling thread calls ``progress`` every ``poll`` seconds, and once more when all are
    done. Every worker runs to its end; then the exception of the first worker (in the order given) that
    raised one is re-raised here, so a fixed partition of the work reports the same error every time.
    """
    errors: list[BaseException | None] = [None] * len(workers)

    def guarded(i: int) -> None:
        try:
            workers[i]()
        except BaseException as exc:  # re-raised in the calling thread
            errors[i] = exc

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(poll)
            if progress is not None:
                progress()
    if progress is not None:
        progress()
    for exc in errors:
        if exc is not None:
            raise exc


def run_jobs(job: Callable[[int], None], jobs: int, threads: int, progress: Callable[[], None] | None = None,
             poll: float = POLL_SECONDS) -> None:
    """Run ``job(0)`` ... ``job(jobs - 1)`` on ``threads`` threads, each taking the next index in turn.

    Once a job raises, no thread starts another; the error reaches the caller as in :func:`run_workers`.
    """
    lock = threading.Lock()
    queue = iter(range(jobs))
    failed = threading.Event()

    def worker() -> None:
        while not failed.is_set():
            with lock:
                j = next(queue, None)
            if j is None:
                return
            try:
                job(j)
            except BaseException:
                failed.set()
                raise

    run_workers([worker] * threads, progress, poll)
