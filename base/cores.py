"""How many CPU cores a process may use, the bf16 matrix units its CPU has, and a block that runs with a given
number of torch threads."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

BF16_UNITS = ("avx512_bf16", "amx_bf16")  # the CPU flags of bf16 matrix units (AMD EPYC / Intel Xeon)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def bf16_units(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Which of :data:`BF16_UNITS` the CPU's flags name (Linux's ``/proc/cpuinfo``; elsewhere none)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    return [unit for unit in BF16_UNITS if unit in flags]


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads (None: leave them as they are), then restore
    the previous count, whatever happens in the block."""
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
