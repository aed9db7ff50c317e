"""Token embeddings of the GPT: learned, initialized from a table, or a frozen table.

- ``learned``: a ``(V, d)`` parameter, random normal init, trained.
- ``init``: the same parameter, its rows copied from an aligned table (rescaled to the init std unless told
  not to); rows the table lacks keep their random init; everything trains.
- ``frozen``: the table is a buffer (no gradient, the optimizer never sees it); only the rows it has no
  trained value for (words it lacks, rows its trainer never trained) and the specials are a small trainable
  parameter.

A table whose dim differs from ``d_model`` goes through a learned linear projection (``project``).
This module aligns a table, handed over by its caller, to the vocabulary; where tables come from is the
study layer's (:mod:`study.sources`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from base.errors import InputError
from corpus.vocab import SPECIALS
from gpt.config import GPTConfig


@dataclass(frozen=True)
class AlignedTable:
    """A table's rows in vocabulary order, ready to copy into the model."""

    matrix: np.ndarray  # (V, dim) float32; rows the table lacks are zero
    found: np.ndarray  # (V,) bool: rows the table holds a trained value for
    special: np.ndarray  # (V,) bool: the vocabulary's specials (<pad>, <unk>, <eos>)
    coverage: float  # fraction of the vocabulary the table covers
    rescale_factor: float | None  # what the rows were multiplied by (None: not rescaled)
    sha256: str  # of the aligned rows, so a retrained table reruns the GPT stage

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def trainable(self) -> np.ndarray:
        """(V,) bool: the rows that still train when the table is frozen: every row the table has no trained
        value for, and the specials (never frozen: they mean something only to this model)."""
        return ~self.found | self.special

    def summary(self) -> dict:
        return {"dim": self.dim, "coverage": self.coverage, "found": int(self.found.sum()),
                "rescale_factor": self.rescale_factor, "sha256": self.sha256}


def align_table(table, vocab_tokens: list[str], config: GPTConfig, specials=SPECIALS) -> AlignedTable:
    """Align ``table`` to the vocabulary and rescale its rows to ``config.init_std`` (unless not asked).

    Only rows the table marks as trained are used; the scale is measured on them alone.
    """
    from vectors.align import align_to_vocab, rescale

    aligned = align_to_vocab(table, list(vocab_tokens), fill="zero", seed=config.seed)
    found = np.asarray(aligned.found, dtype=bool)
    if not found.any():
        raise InputError(f"table {config.table!r} shares no word with the corpus vocabulary "
                         f"({len(vocab_tokens)} words); was it built on another corpus?")
    matrix = np.array(aligned.matrix, dtype=np.float32)  # (V, dim)
    if matrix.shape[1] != config.d_model and not config.project:
        raise InputError(f"table {config.table!r} has dim {matrix.shape[1]} but d-model is {config.d_model}; "
                         f"pass --project or --d-model {matrix.shape[1]}")
    if not np.isfinite(matrix[found]).all():
        raise InputError(f"table {config.table!r} holds NaN or inf values")
    factor = None
    if config.rescale:
        rows, factor = rescale(matrix[found], config.init_std)
        matrix[found] = np.asarray(rows, dtype=np.float32)
        factor = float(factor)
    matrix[~found] = 0.0
    special = np.isin(np.asarray(vocab_tokens, dtype=object), list(specials))
    digest = hashlib.sha256(matrix.tobytes() + found.tobytes()).hexdigest()
    return AlignedTable(matrix, found, special, float(found.mean()), factor, digest)


class TokenEmbedding(nn.Module):
    """Token ids -> vectors of ``d_model``, in one of the three modes; also the tied output head's weight.

    ``table_dim`` is the width of the rows (``d_model`` unless a projection follows); ``missing`` (frozen
    only) flags the rows that stay trainable (:attr:`AlignedTable.trainable`).
    """

    def __init__(self, vocab_size: int, d_model: int, mode: str, table_dim: int | None = None,
                 missing: torch.Tensor | None = None, project: bool = False):
        super().__init__()
        self.mode = mode
        self.vocab_size = vocab_size
        self.table_dim = table_dim or d_model
        if self.table_dim != d_model and not project:
            raise InputError(f"table dim {self.table_dim} differs from d-model {d_model}; pass --project")
        if mode == "frozen":
            if missing is None:
                raise ValueError("frozen mode needs the mask of rows the table lacks")
            missing_ids = torch.nonzero(missing, as_tuple=False).flatten()
            self.register_buffer("frozen", torch.zeros(vocab_size, self.table_dim))
            self.register_buffer("trainable_ids", missing_ids)
            self.trainable = nn.Parameter(torch.zeros(len(missing_ids), self.table_dim))
        else:
            self.weight = nn.Parameter(torch.zeros(vocab_size, self.table_dim))
        self.projection = nn.Linear(self.table_dim, d_model, bias=False) if project else None

    @property
    def trainable_rows(self) -> int:
        """How many token rows the optimizer updates: every row, or a frozen table's trainable ones."""
        return len(self.trainable_ids) if self.mode == "frozen" else self.vocab_size

    def rows(self) -> torch.Tensor:
        """The full ``(V, table_dim)`` row matrix (frozen rows with the trainable ones written in)."""
        if self.mode == "frozen":
            return self.frozen.index_copy(0, self.trainable_ids, self.trainable)
        return self.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = F.embedding(idx, self.rows())  # (B, T, table_dim)
        return self.projection(x) if self.projection is not None else x  # (B, T, d_model)

    def output_weight(self) -> torch.Tensor:
        """The tied head's ``(V, d_model)`` weight: the embedding rows, projected when there is a projection."""
        rows = self.rows()
        return self.projection(rows) if self.projection is not None else rows

    @torch.no_grad()
    def initialize(self, random_rows: torch.Tensor, table: AlignedTable | None,
                   generator: torch.Generator, std: float) -> None:
        """Fill the rows: ``random_rows`` (V, d_model) for the learned init, the table where it has a row.

        Rows of another width than ``d_model`` (a projected table) draw their random rows from
        ``generator``, and so does the projection, so the other weights of the model never move.
        """
        if self.table_dim != random_rows.shape[1]:
            random_rows = torch.randn(self.vocab_size, self.table_dim, generator=generator) * std
        rows = random_rows.clone()
        if table is not None:
            found = torch.from_numpy(table.found)
            rows[found] = torch.from_numpy(table.matrix[table.found])
        if self.mode == "frozen":
            self.frozen.copy_(rows)
            self.frozen[self.trainable_ids] = 0.0  # the buffer keeps only the table's own rows
            self.trainable.copy_(rows[self.trainable_ids])
        else:
            self.weight.copy_(rows)
        if self.projection is not None:
            self.projection.weight.normal_(0.0, self.table_dim ** -0.5, generator=generator)
