"""A held-out loss for word2vec: the negative-sampling loss of a table's vectors on fixed pairs of the val split.

The loss the trainer reports per epoch is the running mean of each update's loss taken just before that
update. Updates within one window share the centre's output vector, so a pair is scored by a vector the
previous pairs of the same window have just moved: the running mean is lowered by an amount that grows with
the learning rate, and as the rate decays towards the last epoch that discount vanishes and the running
loss can rise while the vectors improve (measured on the default corpus: README, "CBOW and skip-gram").
This module gives the loss that means what a reader expects: fixed (context, centre) windows of the val
split, no subsampling, fixed noise words, scored by the vectors as they stand at the end of an epoch.
"""

from __future__ import annotations

import numpy as np

HELDOUT_CENTRES = 4000  # centres sampled from the val split (each with its whole window)
HELDOUT_SEED = 0x77327667


class HeldOutWindows:
    """Fixed windows of the val split: centre ids, context ids (-1 padded) and noise ids per centre."""

    def __init__(self, prepared, trainable: np.ndarray, noise_probs: np.ndarray, window: int, negative: int):
        ids = np.asarray(prepared.val_ids)
        rng = np.random.default_rng(HELDOUT_SEED)
        sentence = np.cumsum(ids == prepared.vocab.eos_id)  # windows never cross <eos>
        usable = np.flatnonzero(trainable[ids]) if len(ids) else np.zeros(0, dtype=np.int64)
        centres = np.sort(rng.choice(usable, size=min(HELDOUT_CENTRES, len(usable)), replace=False))
        offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])  # (2W,)
        where = centres[:, None] + offsets[None, :]  # (N, 2W)
        inside = (where >= 0) & (where < len(ids))
        where = np.clip(where, 0, max(len(ids) - 1, 0))
        ok = inside & (sentence[where] == sentence[centres][:, None]) & trainable[ids[where]]
        self.centres = ids[centres]  # (N,)
        self.contexts = np.where(ok, ids[where], -1)  # (N, 2W)
        keep = (self.contexts >= 0).any(axis=1)
        self.centres, self.contexts = self.centres[keep], self.contexts[keep]
        self.noise = rng.choice(len(noise_probs), size=(len(self.centres), negative), p=noise_probs)  # (N, K)

    def __len__(self) -> int:
        return len(self.centres)

    def loss(self, syn0: np.ndarray, syn1: np.ndarray, skipgram: bool) -> float | None:
        """Mean negative-sampling loss per update as the trainer defines one: per (context, centre) pair for
        skip-gram, per centre (input: the mean of its context vectors) for CBOW. None without val pairs."""
        if not len(self):
            return None
        mask = self.contexts >= 0  # (N, 2W)
        inputs = syn0[np.where(mask, self.contexts, 0)].astype(np.float64)  # (N, 2W, D)
        targets = syn1[self.centres].astype(np.float64)  # (N, D)
        noise = syn1[self.noise].astype(np.float64)  # (N, K, D)
        if skipgram:
            positive = np.logaddexp(0.0, -np.einsum("nwd,nd->nw", inputs, targets))  # (N, 2W)
            negative = np.logaddexp(0.0, np.einsum("nwd,nkd->nwk", inputs, noise)).sum(axis=2)  # (N, 2W)
            return float(((positive + negative) * mask).sum() / mask.sum())
        h = (inputs * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)  # (N, D)
        positive = np.logaddexp(0.0, -np.einsum("nd,nd->n", h, targets))
        negative = np.logaddexp(0.0, np.einsum("nd,nkd->nk", h, noise)).sum(axis=1)
        return float((positive + negative).mean())
