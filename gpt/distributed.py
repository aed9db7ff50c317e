"""Data-parallel training across processes: the process group, batch shards and the few collectives we use.

``torchrun --nproc_per_node N -m pipelines.train_gpt ...`` starts N copies of the command with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set; :func:`process_group` joins them
(gloo on the CPU, nccl on CUDA, one GPU per process). Every process draws the same *global* batch of a step
(``batch_size`` windows from the generator seeded by ``(seed, step)``) and trains on its contiguous shard of
``batch_size / N`` windows; DistributedDataParallel averages the gradients, so a step equals the
single-process step on the global batch up to float rounding. Rank 0 alone evaluates, logs and writes the
run's files; the others wait for it at barriers.

Without those variables (or with ``WORLD_SIZE=1``) nothing here starts a process group and every helper is
the identity of a single process.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.distributed as dist

from base.errors import InputError


@dataclass(frozen=True)
class Context:
    """Where this process stands: its rank among ``world_size`` processes (rank 0 is the main one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value.strip() else default
    except ValueError:
        raise InputError(f"environment variable {name}={value!r} is not an integer") from None


def env_context() -> Context:
    """The context torchrun's environment variables describe (a single process when they are unset)."""
    world = _env_int("WORLD_SIZE", 1)
    if world < 1:
        raise InputError(f"WORLD_SIZE must be at least 1, got {world}")
    if world == 1:
        return Context()
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world:
        raise InputError(f"RANK {rank} is outside WORLD_SIZE {world}")
    return Context(rank, world, local_rank)


def current() -> Context:
    """The context of the initialized process group, or a single process when there is none.

    ``WORLD_SIZE > 1`` without a process group means a command that trains alone was started by torchrun:
    every copy would write the same files, so that is refused.
    """
    if dist.is_available() and dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0))
    if env_context().is_distributed:
        raise InputError("WORLD_SIZE > 1 but no process group is set up: only a single GPT run trains "
                         "data-parallel under torchrun, not a study")
    return Context()


def check_batch(batch_size: int, world_size: int) -> None:
    """The global batch must split into equal shards, one per process (else the gradients are not a mean)."""
    if batch_size % world_size:
        raise InputError(f"--batch-size {batch_size} (the global batch) does not divide by the {world_size} "
                         f"processes; use a multiple of {world_size}")


def rank_device(device: str, context: Context) -> str:
    """This process's device: ``cuda`` becomes ``cuda:<local rank>``, one GPU per process."""
    if device != "cuda" or not context.is_distributed:
        return device
    count = torch.cuda.device_count()
    if context.local_rank >= count:
        raise InputError(f"process {context.local_rank} on this node needs a GPU of its own, but torch sees "
                         f"{count}; start at most {count} processes per node")
    return f"cuda:{context.local_rank}"


@contextlib.contextmanager
def process_group(device: str) -> Iterator[tuple[Context, str]]:
    """Join torchrun's process group for the duration (nccl for CUDA, gloo for the CPU); yield the context
    and this process's device. A single process (no torchrun variables) starts nothing.

    A group someone already set up (``torch.multiprocessing`` callers) is used as it is and left open.
    """
    context = env_context()
    if context.is_distributed and not dist.is_available():
        raise InputError("this torch build has no torch.distributed; run a single process")
    if not context.is_distributed or dist.is_initialized():
        context = current()
        yield context, rank_device(device, context)
        return
    device = rank_device(device, context)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo", rank=context.rank,
                            world_size=context.world_size)
    try:
        yield context, device
    finally:
        # A DistributedDataParallel wrapper sits in reference cycles; one still alive when the interpreter
        # exits after the group is destroyed aborts the process ("terminate called without an active
        # exception", about every other run with gloo): collect it first.
        gc.collect()
        dist.destroy_process_group()


def shard(offsets: np.ndarray, context: Context) -> np.ndarray:
    """This process's contiguous slice of a global batch's window offsets."""
    if not context.is_distributed:
        return offsets
    size = len(offsets) // context.world_size
    return offsets[context.rank * size : (context.rank + 1) * size]


def wrap(model: torch.nn.Module, context: Context, device: str) -> torch.nn.Module:
    """``model`` in DistributedDataParallel across the group (the model itself for a single process).

    Buffers (a frozen table, rope's cos/sin cache) are built identically on every rank and never change,
    so they are not broadcast before each forward.
    """
    if not context.is_distributed:
        return model
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    device_ids = [torch.device(device).index] if device.startswith("cuda") else None
    newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    no_sync = {"forward_sync_buffers": False} if newer else {"broadcast_buffers": False}  # renamed in torch 2.13
    return DistributedDataParallel(model, device_ids=device_ids, **no_sync)


def mean_loss(loss: torch.Tensor, context: Context) -> float:
    """The mean of every process's (equal-shard) mean loss: the loss of the global batch."""
    if not context.is_distributed:
        return loss.item()
    total = loss.detach().float().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total.item() / context.world_size


def barrier(context: Context) -> None:
    """Wait for every process (nothing for a single one)."""
    if context.is_distributed:
        dist.barrier()


def gather(obj, context: Context) -> list:
    """Every process's ``obj``, in rank order, on every process (``[obj]`` for a single one)."""
    if not context.is_distributed:
        return [obj]
    out = [None] * context.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj, context: Context):
    """Rank 0's ``obj`` on every process."""
    if not context.is_distributed:
        return obj
    box = [obj if context.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def agree(value, context: Context, what: str) -> None:
    """Every process must see the same ``value`` (e.g. the state of a run directory), else InputError."""
    values = gather(value, context)
    if any(v != values[0] for v in values[1:]):
        raise InputError(f"the processes see different {what}; every process must share the run directory")
