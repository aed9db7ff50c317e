"""Checkpoints of a GPT run: state dicts, the run's record and everything exact resume needs.

A checkpoint is a plain dict of tensors and primitives written with ``torch.save`` to a temp name and
renamed, and read back with ``torch.load(weights_only=True)`` only (no pickled code ever runs). The run's
*record* (config, vocabulary size, corpus hash, table digest) says which run a checkpoint belongs to: a
checkpoint whose record differs from the current run's is not resumed.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from base.atomic import atomic_file
from base.errors import InputError
from base.layout import RunFiles
from gpt import distributed
from gpt.config import FORMAT_VERSION, GPTConfig
from gpt.model import GPT


def save_checkpoint(path: Path, model: GPT, optimizer: torch.optim.Optimizer | None, record: dict, step: int,
                    curve: list[list[float]], train_seconds: float, extra: dict | None = None) -> None:
    """Write the state after ``step`` optimizer steps (with the RNG states dropout needs) atomically.

    ``extra`` holds more primitives to keep (the trainer's running train-loss sums).
    """
    state = {
        "format_version": FORMAT_VERSION,
        "record": record,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": step,
        "curve": curve,
        "train_seconds": train_seconds,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
        **(extra or {}),
    }
    # Serialised in memory, then written by Python: a full disk or a lost permission is then an OSError naming
    # the file, where torch's own writer reports only "basic_ios::clear: iostream error".
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_file(path, "wb") as handle:
        handle.write(buffer.getbuffer())


def read_checkpoint(path: Path) -> dict:
    """Load a checkpoint dict (tensors on the CPU); a missing, corrupt or foreign file is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no checkpoint at {path}; train that run first")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(f"checkpoint {path} is corrupt or not a checkpoint ({reason}); delete it") from None
    if not isinstance(state, dict) or not {"format_version", "record", "model", "step"} <= set(state):
        raise InputError(f"checkpoint {path} is not a w2v-gpt checkpoint; delete it")
    if state["format_version"] != FORMAT_VERSION:
        raise InputError(f"checkpoint {path} has format version {state['format_version']}, "
                         f"expected {FORMAT_VERSION}; delete it and train again")
    return state


def build_model(record: dict, state_dict: dict | None = None) -> GPT:
    """A GPT of the record's shape; with ``state_dict`` its weights are loaded (strictly)."""
    config = GPTConfig.from_dict(record["config"])
    table_dim = missing = None
    if state_dict is not None:
        rows = state_dict.get("tok.frozen", state_dict.get("tok.weight"))
        if rows is None:
            raise InputError("checkpoint holds no token embedding; delete it")
        table_dim = int(rows.shape[1])
        if "tok.trainable_ids" in state_dict:
            missing = torch.zeros(record["vocab_size"], dtype=torch.bool)
            missing[state_dict["tok.trainable_ids"]] = True
    model = GPT(config, record["vocab_size"], table_dim, missing)
    if state_dict is not None:
        try:
            model.load_state_dict(state_dict, strict=True)
        except RuntimeError as exc:
            raise InputError(f"checkpoint weights do not fit its config: {str(exc).splitlines()[0]}") from None
    return model


def same_corpus(record: dict, prepared) -> bool:
    """Whether the run of ``record`` was trained on ``prepared`` (its content hash and vocabulary size)."""
    return record["corpus_hash"] == prepared.content_hash and record["vocab_size"] == len(prepared.vocab)


def load_model(path: Path, device: str = "cpu") -> tuple[GPT, dict]:
    """The trained model of a checkpoint, in eval mode on ``device``, and the run's record."""
    state = read_checkpoint(path)
    model = build_model(state["record"], state["model"]).to(device)
    model.eval()
    return model, state["record"]


def resume_state(files: RunFiles, record: dict, fresh: bool, log) -> dict | None:
    """The checkpoint to resume from: one of this very run (same record), else None.

    A corrupt checkpoint is an InputError (delete it or pass ``fresh``): it is never silently replaced.
    """
    if fresh or not files.checkpoint.is_file():
        return None
    state = read_checkpoint(files.checkpoint)
    if state["record"] != record or state.get("optimizer") is None:
        log(f"{files.directory}: the checkpoint is of another config; starting over")
        return None
    return state


def restore_rng(state: dict, context: distributed.Context, device: str) -> None:
    """The dropout generators of this process as the checkpoint left them (per rank across processes)."""
    ranks = state.get("rng_ranks")
    cpu, cuda = (ranks[context.rank] if ranks and len(ranks) == context.world_size
                 else (state["torch_rng"], state["cuda_rng"]))
    torch.set_rng_state(cpu)
    if cuda is not None and device.startswith("cuda"):
        torch.cuda.set_rng_state(cuda)
