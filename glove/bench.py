"""GloVe counting and training speed and table quality on one corpus, for ``make bench``.

Each function returns a JSON-ready dict; ``pipelines.bench`` puts them beside Stanford GloVe's programs
run on the same corpus (:mod:`glove.stanford`) when a build of them is given.

    python -m glove.bench CORPUS.txt --work-dir /tmp/glove-bench
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from corpus.prepare import PrepareConfig, ensure_prepared
from corpus.sources import resolve_sources
from glove.config import GloveConfig
from glove.cooccur import count_pairs
from glove.train import train
from vectors.table import EmbeddingTable

def prepare_bench_corpus(source: str | Path, work_dir: str | Path):
    """Prepare ``source`` (text, .xz/.gz/.bz2 allowed) with the default settings under ``work_dir``; reused
    when it was prepared from the same file before."""
    prepared, _ = ensure_prepared(resolve_sources(str(source)), Path(work_dir) / "corpus", PrepareConfig())
    return prepared


def bench_count(prepared, *, window: int = 10, threads: int = 2, memory_gb: float = 2.0,
                repeats: int = 2) -> dict:
    """Count the train split ``repeats`` times (no cache); the best time is the figure."""
    ids = np.asarray(prepared.train_ids)
    vocab = prepared.vocab
    kwargs = dict(window=window, eos_id=vocab.eos_id, pad_id=vocab.pad_id, unk_id=vocab.unk_id,
                  memory_gb=memory_gb, threads=threads)
    count_pairs(ids[:100_000], len(vocab), **kwargs)  # compile (or load) the kernels first
    seconds, nonzeros = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        nonzeros = len(count_pairs(ids, len(vocab), **kwargs)[2])
        seconds.append(time.perf_counter() - start)
    best = min(seconds)
    return {"tokens": int(ids.shape[0]), "vocab_size": len(vocab), "window": window, "threads": threads,
            "nonzeros": nonzeros, "count_seconds": best, "count_seconds_all": seconds,
            "count_tokens_per_second": ids.shape[0] / best}


def bench_train(prepared, *, dim: int = 100, window: int = 10, threads: int = 2, epochs: int = 2,
                backend: str = "numba", device: str = "cpu") -> dict:
    """Train ``epochs`` epochs (counts from the cache) and report entries per second over them."""
    config = GloveConfig(dim=dim, window=window, threads=threads, epochs=epochs, backend=backend,
                         device=device)
    meta = train(prepared, config, progress=False).meta
    return {"dim": dim, "window": window, "threads": threads, "epochs": epochs, "backend": meta["backend"],
            "device": meta["device"], "nonzeros": meta["nonzeros"],
            "epoch_seconds": meta["train_seconds"] / epochs,
            "entries_per_second": meta["entries_per_second"]}


def evaluate(table: EmbeddingTable) -> dict:
    """WS353 and SimLex-999 Spearman, Google analogy accuracy (restricted to 30,000 words)."""
    from vectors.evaluate import evaluate_table

    scores = evaluate_table(table, restrict_vocab=30000)["benchmarks"]
    return {"ws353": scores["ws353"]["spearman"], "simlex999": scores["simlex999"]["spearman"],
            "google": scores["google"]["accuracy"]}


def bench_quality(prepared, *, dim: int = 100, window: int = 10, x_max: float = 10.0, epochs: int = 15,
                  threads: int = 2, seed: int = 0) -> dict:
    """Train a full table and score it beside random vectors of the same shape and scale.

    x_max defaults to 10 here: the bench corpus has about 2M tokens, where 100 leaves most entries with
    tiny weights (see the --x-max help).
    """
    config = GloveConfig(dim=dim, window=window, x_max=x_max, epochs=epochs, threads=threads, seed=seed)
    table = train(prepared, config, progress=False)
    rng = np.random.default_rng(seed)
    random = EmbeddingTable(table.words, rng.normal(0.0, table.matrix.std(), table.matrix.shape))
    return {"config": config.to_dict(), "train_seconds": table.meta["train_seconds"],
            "loss_per_epoch": table.meta["loss_per_epoch"], "glove": evaluate(table),
            "random": evaluate(random)}


def run_bench(source: str | Path, work_dir: str | Path, *, threads: int = 2, quality: bool = True) -> dict:
    """Everything above on one corpus: {"count", "train", "quality"}."""
    prepared = prepare_bench_corpus(source, work_dir)
    result = {"count": bench_count(prepared, threads=threads),
              "train": bench_train(prepared, threads=threads)}
    if quality:
        result["quality"] = bench_quality(prepared, threads=threads)
    return result


@click.command()
@click.argument("corpus", type=click.Path(exists=True, dir_okay=False))
@click.option("--work-dir", type=click.Path(file_okay=False), default="runs/bench-glove", show_default=True)
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--quality/--no-quality", default=True, help="Also train 15 epochs and score the table.")
def main(corpus, work_dir, threads, quality):
    """Print GloVe's bench figures for CORPUS as JSON."""
    click.echo(json.dumps(run_bench(corpus, work_dir, threads=threads, quality=quality), indent=2))


if __name__ == "__main__":
    main()
