"""Quality and speed of our CBOW and skip-gram against gensim 4.4 on the same corpus, same settings.

Both systems see the same tokens: gensim gets the train split decoded to words, cut at ``<eos>`` and into
pieces of ``max_sentence`` tokens (as our blocks), with ``<unk>`` removed, and builds its vocabulary with the
corpus's own min_count, so both vocabularies are the same words. Settings are passed explicitly to both
(dim, window, negative, sample, epochs, alpha, min_alpha, threads/workers). Runs alternate ours / gensim per
seed so that both see the same load on a shared machine.

Quality: WS353 and SimLex-999 Spearman and Google analogy accuracy (restrict_vocab 30000), mean over the
seeds; the band is max(0.02, 2 x gensim's seed-to-seed standard deviation) around gensim's mean.
Speed: ``words_per_second`` of the conventions for ours (train tokens x epochs / train seconds) and gensim's
corpus words x epochs / wall time of ``train()``; medians over the seeds and their ratio.

Skip-gram can also run with noise words shared across a centre's window (``noise="window"``, the variant
:data:`NOISE_WINDOW`) against the same gensim runs: ``python -m pipelines.bench --only w2v --noise-window``.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import time

from bench.quality import SCORES, evaluate
from bench.text import head_of, train_sentences

NOISE_WINDOW = {"ours-window": {"noise": "window"}}  # the skip-gram variant beside "ours"


def warm_up(prepared, config) -> float:
    """Seconds of one epoch of ``config`` on the head of the train split (:func:`bench.text.head_of`):
    numba compiling (or loading from its cache) the kernels, so that no timed run counts it."""
    from w2v.train import train

    start = time.perf_counter()
    train(head_of(prepared), dataclasses.replace(config, epochs=1), progress=False)
    return time.perf_counter() - start


def gensim_sentences(prepared, max_sentence: int = 10000) -> list[list[str]]:
    """The train split as gensim input: documents cut at <eos> and every ``max_sentence`` tokens (our
    blocks), <unk> and <pad> removed."""
    return list(train_sentences(prepared, max_sentence))


def run_ours(prepared, config) -> dict:
    """Train our table; its scores, words/s and seconds."""
    from w2v.train import train

    table = train(prepared, config, progress=False)
    return dict(evaluate(table), words_per_second=table.meta["words_per_second"],
                seconds=table.meta["train_seconds"], loss=table.meta["loss_per_epoch"][-1])


def run_gensim(sentences: list[list[str]], config, min_count: int) -> dict:
    """Train gensim's Word2Vec with ``config``'s settings; its scores, words/s (corpus words x epochs /
    wall time of train()) and seconds."""
    from gensim.models import Word2Vec

    from vectors.table import EmbeddingTable

    model = Word2Vec(sg=int(config.method.value == "skipgram"), vector_size=config.dim, window=config.window,
                     negative=config.negative, hs=0, sample=config.sample, min_count=min_count,
                     alpha=config.alpha, min_alpha=config.min_alpha, epochs=config.epochs,
                     workers=config.resolved_threads, seed=config.seed, max_vocab_size=None)
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=model.corpus_count, epochs=config.epochs)
    seconds = time.perf_counter() - start
    words = model.corpus_total_words
    table = EmbeddingTable(list(model.wv.index_to_key), model.wv.vectors)
    return dict(evaluate(table), words_per_second=words * config.epochs / seconds, seconds=seconds,
                words=words, vocab=len(model.wv))


def quality_bands(ours: list[dict], gensim: list[dict]) -> dict:
    """Per score: the means and seed-to-seed standard deviations of both, gensim's band, the difference of
    the means and whether it lies inside the band (``within``) or at least not below it (``not_worse``)."""
    out = {}
    for name in SCORES:
        a, b = [r[name] for r in ours], [r[name] for r in gensim]
        std = statistics.stdev(b) if len(b) > 1 else 0.0
        band = max(0.02, 2 * std)
        diff = statistics.fmean(a) - statistics.fmean(b)
        out[name] = {"ours": statistics.fmean(a), "gensim": statistics.fmean(b),
                     "ours_std": statistics.stdev(a) if len(a) > 1 else 0.0, "gensim_std": std,
                     "band": band, "diff": diff, "within": abs(diff) <= band, "not_worse": diff >= -band}
    return out


def summarize(runs: dict[str, list[dict]], epochs: int) -> dict:
    """``{name: {quality, speed}}`` for every system in ``runs`` but ``gensim``, each against gensim's runs.

    speed: median words/s of ours and of gensim, their ratio, and ``ratio_same_words``: gensim's corpus
    words x epochs over ours's median seconds, against gensim's median words/s (both counted in the same
    words)."""
    gensim = runs["gensim"]
    gensim_wps = statistics.median(r["words_per_second"] for r in gensim)
    gensim_words = gensim[0]["words"]
    systems = {}
    for name, ours in runs.items():
        if name == "gensim":
            continue
        wps = statistics.median(r["words_per_second"] for r in ours)
        seconds = statistics.median(r["seconds"] for r in ours)
        systems[name] = {"quality": quality_bands(ours, gensim),
                         "speed": {"ours": wps, "gensim": gensim_wps, "ratio": wps / gensim_wps,
                                   "ratio_same_words": gensim_words * epochs / seconds / gensim_wps}}
    return systems


def compare(prepared, method: str, seeds=(1, 2, 3), threads: int = 2, dim: int = 100, epochs: int = 5,
            variants: dict[str, dict] | None = None, log=None) -> dict:
    """Ours against gensim on ``prepared`` for one method, each seed run back to back.

    ``variants`` maps a name to Word2VecConfig overrides (default ``{"ours": {}}``), all compared with the
    same gensim runs. Returns {method, seeds, threads, dim, epochs, runs: {name: [per-seed dicts]},
    systems: {name: {quality: {bench: {ours, gensim, ours_std, gensim_std, band, diff, within, not_worse}},
    speed: {ours, gensim, ratio, ratio_same_words}}}, vocab_match}.
    """
    from w2v.config import Word2VecConfig
    from w2v.sampling import trainable_mask

    logging.getLogger("gensim").setLevel(logging.WARNING)
    variants = variants or {"ours": {}}
    min_count = int(prepared.config.get("min_count", 5))
    sentences = None
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    runs["gensim"] = []
    warmup = {name: warm_up(prepared, Word2VecConfig(method=method, dim=dim, threads=threads, **overrides))
              for name, overrides in variants.items()}
    for seed in seeds:
        base = dict(method=method, dim=dim, epochs=epochs, seed=seed, threads=threads)
        if sentences is None:
            sentences = gensim_sentences(prepared, Word2VecConfig(**base).max_sentence)
        for name, overrides in variants.items():
            runs[name].append(run_ours(prepared, Word2VecConfig(**dict(base, **overrides))))
        runs["gensim"].append(run_gensim(sentences, Word2VecConfig(**base), min_count))
        if log:
            log(f"  {method} seed {seed}: " + " | ".join(
                f"{name} " + " ".join(f"{k}={r[-1][k]:.4f}" for k in SCORES)
                + f" {r[-1]['words_per_second']:,.0f} w/s" for name, r in runs.items()))
    vocab = prepared.vocab
    trainable = int(trainable_mask(vocab.counts, [vocab.index[s] for s in vocab.specials]).sum())
    return {"method": method, "seeds": list(seeds), "threads": threads, "dim": dim, "epochs": epochs,
            "warmup_seconds": warmup, "runs": runs, "systems": summarize(runs, epochs), "vocab_match": runs["gensim"][0]["vocab"] == trainable}


def format_report(result: dict) -> list[str]:
    """Printable lines of one :func:`compare` result."""
    lines = [f"== {result['method']}: {result['threads']} threads, dim {result['dim']}, {result['epochs']} "
             f"epochs, seeds {result['seeds']}, same vocabulary as gensim: {result['vocab_match']}"]
    for name, system in result["systems"].items():
        s = system["speed"]
        lines.append(f"  [{name}] speed (median): ours {s['ours']:,.0f} words/s, gensim {s['gensim']:,.0f} "
                     f"words/s, ratio {s['ratio']:.2f} (counting gensim's words only: {s['ratio_same_words']:.2f})")
        for bench, q in system["quality"].items():
            verdict = "inside" if q["within"] else ("above (better)" if q["diff"] > 0 else "below (worse)")
            lines.append(f"  [{name}] {bench:9s} ours {q['ours']:.4f} (sd {q['ours_std']:.4f})  gensim "
                         f"{q['gensim']:.4f} (sd {q['gensim_std']:.4f})  diff {q['diff']:+.4f}  band "
                         f"{q['band']:.4f}: {verdict}")
    return lines
