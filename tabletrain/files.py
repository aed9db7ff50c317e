"""What the table trainers' outputs share: per-epoch checkpoint files and how trained matrices become a
table's rows."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from base.atomic import atomic_path
from base.errors import InputError
from tabletrain.config import ExportVectors


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
