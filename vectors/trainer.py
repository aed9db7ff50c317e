"""What the table trainers (w2v/ and glove/) share: the enums of their configs, the config <-> JSON round trip,
per-epoch checkpoint files, and how trained matrices become a table's rows.

The trainers never import each other; both build on this floor.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from enum import Enum
from pathlib import Path
from typing import ClassVar

import numpy as np

from corpus.atomic import atomic_path
from corpus.errors import InputError


class ExportVectors(str, Enum):
    """Which trained matrix becomes the table: word (input) vectors, context (output) vectors, or their sum."""

    IN = "in"
    OUT = "out"
    SUM = "sum"


class Device(str, Enum):
    AUTO = "auto"  # CUDA when torch sees one, else the CPU
    CPU = "cpu"
    CUDA = "cuda"


class Backend(str, Enum):
    """Training engine: hogwild numba kernels on CPU threads, or batched torch steps (CPU or CUDA)."""

    AUTO = "auto"  # numba on the CPU, torch on CUDA
    NUMBA = "numba"
    TORCH = "torch"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class TrainerConfig:
    """Mixin for a trainer's frozen config dataclass: enum fields accept their string values, and the config
    goes to JSON (``to_dict``) and back (``from_dict``). Subclasses set ``KIND``, ``ENUMS`` and
    ``RESUME_IGNORES`` (fields that do not change the trained parameters, so a checkpoint made under other
    values still resumes)."""

    KIND: ClassVar[str] = "trainer"
    ENUMS: ClassVar[dict] = {}
    RESUME_IGNORES: ClassVar[tuple] = ()

    def _coerce_enums(self) -> None:
        for name, enum in self.ENUMS.items():
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(value))
                except ValueError:
                    choices = "|".join(e.value for e in enum)
                    raise InputError(f"{self.KIND} {name} must be one of {choices}, not {value!r}") from None

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (enums as their string values)."""
        out = dataclasses.asdict(self)
        for name in self.ENUMS:
            out[name] = out[name].value
        return out

    @classmethod
    def from_dict(cls, data: dict):
        """Inverse of :meth:`to_dict`; InputError for unknown fields or bad values."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown {cls.KIND} config field(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def resolved_threads(self) -> int:
        """``threads``, or every available core when it is None."""
        return self.threads or available_cores()

    def resume_key(self) -> dict:
        """The fields a checkpoint must share with this config to be resumed."""
        return {k: v for k, v in self.to_dict().items() if k not in self.RESUME_IGNORES}


def table_dir(run_dir: str | Path, seed: int) -> Path:
    """Where a run keeps the tables its trainers made with ``seed``: ``embeddings/`` for seed 0 (what
    ``make pretrain`` writes by default), ``embeddings/seed<k>/`` for any other seed k. The GPT runs of seed k
    in a study use the tables of seed k, so the tables' own randomness is part of the seed-to-seed spread."""
    base = Path(run_dir) / "embeddings"
    return base if seed == 0 else base / f"seed{seed}"


def export_matrix(word_vectors: np.ndarray, context_vectors: np.ndarray, choice: ExportVectors,
                  trained: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """The table's (V, dim) float32 rows and how many never trained.

    Untrained rows (the specials, words never in a window) are drawn from N(0, std of the trained rows), so
    that every vocabulary row exists at the scale of the others.
    """
    if choice is ExportVectors.IN:
        matrix = word_vectors.copy()
    elif choice is ExportVectors.OUT:
        matrix = context_vectors.copy()
    else:
        matrix = word_vectors + context_vectors
    missing = int((~trained).sum())
    if missing:
        std = (float(matrix[trained].std()) if trained.any() else 0.0) or 1.0 / matrix.shape[1]
        rng = np.random.default_rng([seed, 7])
        matrix[~trained] = rng.normal(0.0, std, size=(missing, matrix.shape[1])).astype(np.float32)
    return matrix.astype(np.float32), missing


CHECKPOINT_FORMAT_VERSION = 1


def save_checkpoint(path: Path, kind: str, params: dict[str, np.ndarray], state: dict) -> None:
    """A trainer's per-epoch checkpoint: its arrays plus a JSON ``meta`` (state, kind, format), atomically,
    without pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        meta = dict(state, kind=kind, format_version=CHECKPOINT_FORMAT_VERSION)
        with open(tmp, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **params)


def read_checkpoint(path: Path, kind: str, names: tuple[str, ...], label: str) -> tuple[dict, dict] | None:
    """(arrays, state) of a checkpoint written by :func:`save_checkpoint`; None when there is none.

    InputError (naming the file) when it is corrupt, of another kind or of another format version; the
    caller still checks that the state matches its settings and the arrays their shapes.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            state = json.loads(str(data["meta"]))
            params = {name: np.array(data[name]) for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, TypeError):
        raise InputError(f"{path}: corrupt {label} checkpoint (delete it to start over)") from None
    if not isinstance(state, dict) or state.get("kind") != kind or \
            state.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise InputError(f"{path}: not a {label} checkpoint of format {CHECKPOINT_FORMAT_VERSION} "
                         "(delete it to start over)")
    return params, state
