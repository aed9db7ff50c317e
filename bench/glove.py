"""Our GloVe counting speed on the bench corpus, for ``make bench``.

Training speed and the table's quality come from the training run itself (its meta); :mod:`bench.run`
puts both beside Stanford GloVe's programs run on the same corpus (:mod:`bench.stanford`) when a build of
them is given.
"""

from __future__ import annotations

import time

import numpy as np

from bench.text import head_of
from glove.cooccur import count_pairs


def warm_up(prepared, *, window: int = 10, threads: int = 2) -> float:
    """Seconds of counting and one epoch of training on the head of the train split
    (:func:`bench.text.head_of`): numba compiling (or loading from its cache) the kernels, apart from the
    timed runs."""
    from glove.config import GloveConfig
    from glove.train import train

    start = time.perf_counter()
    train(head_of(prepared), GloveConfig(dim=8, window=window, epochs=1, threads=threads), progress=False)
    return time.perf_counter() - start


def bench_count(prepared, *, window: int = 10, threads: int = 2, memory_gb: float = 2.0) -> dict:
    """One timing of counting the train split (no cache; after :func:`warm_up`): the bench repeats it."""
    ids = np.asarray(prepared.train_ids)
    vocab = prepared.vocab
    start = time.perf_counter()
    nonzeros = len(count_pairs(ids, len(vocab), window=window, eos_id=vocab.eos_id, pad_id=vocab.pad_id,
                               unk_id=vocab.unk_id, memory_gb=memory_gb, threads=threads)[2])
    seconds = time.perf_counter() - start
    return {"tokens": int(ids.shape[0]), "vocab_size": len(vocab), "window": window, "threads": threads,
            "nonzeros": nonzeros, "count_seconds": seconds, "count_tokens_per_second": ids.shape[0] / seconds}
