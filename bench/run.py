"""``make bench``: every stage's speed beside a peer measured in the same run, in one table and ``bench.json``.

Peers: gensim (CBOW, skip-gram, analogy evaluation), Hugging Face ``transformers``' GPT-2 of the same shape
(the GPT), Stanford GloVe's C programs when a build of them is given (else skipped, and no number is shown
for them). Speed sits beside quality (WS353, SimLex-999, Google analogies of both systems' tables, from the
same corpus), so a faster but worse table cannot look good. The corpus is a given text file or, None, the
default corpus repeated to 5M tokens. Each ``*_part`` returns the table's rows of one part (:data:`PARTS`);
:func:`run_bench` runs the parts asked for, prints the table and writes ``bench.json``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

from bench.quality import SCORES

PARTS = ("prepare", "w2v", "glove", "analogies", "gpt", "study")
W2V_METHODS = ("cbow", "skipgram")
DEFAULT_OUT = Path("runs/bench/bench.json")


def _row(stage: str, unit: str, ours: float, peer: float | None, peer_name: str, settings: dict,
         quality: dict | None = None, **extra) -> dict:
    """One line of the table: a higher figure is better for every unit but seconds."""
    if peer is None:
        ratio = None
    else:
        ratio = peer / ours if unit == "s" else ours / peer
    return {"stage": stage, "unit": unit, "ours": ours, "peer": peer, "peer_name": peer_name, "ratio": ratio,
            "settings": settings, "quality": quality, **extra}


def bench_prepare_part(text: Path) -> list[dict]:
    """Prepare's tokens/s and peak memory on the bench text repeated to 20M and 40M tokens (no peer)."""
    from bench.prepare import bench_prepare

    rows = []
    for r in bench_prepare(text, targets=(20_000_000, 40_000_000)):
        rows.append(_row(f"prepare {r['tokens'] / 1e6:.0f}M tokens", "tokens/s", r["tokens_per_second"], None,
                         "none", {"tokenizer": "word", "min_count": 5}, peak_rss_mb=r["peak_rss_mb"],
                         tokens=r["tokens"], seconds=r["seconds"]))
    return rows


def bench_w2v_part(prepared, threads: int, seeds=(1, 2, 3), dim: int = 100, epochs: int = 5,
                   methods=W2V_METHODS, noise_window: bool = False, log=print) -> list[dict]:
    """A row per method (median words/s over ``seeds`` against gensim's); with ``noise_window`` skip-gram
    also runs with noise words shared across a centre's window (a row of its own, against the same gensim
    runs), and each method's quality bands are printed."""
    from bench.word2vec import NOISE_WINDOW, compare, format_report

    rows = []
    for method in methods:
        variants = {"ours": {}, **(NOISE_WINDOW if noise_window and method == "skipgram" else {})}
        result = compare(prepared, method, seeds, threads, dim, epochs, variants=variants, log=log)
        for name, system in result["systems"].items():
            overrides = variants[name]
            quality = {"ours": {k: q["ours"] for k, q in system["quality"].items()},
                       "peer": {k: q["gensim"] for k, q in system["quality"].items()}}
            rows.append(_row(method + "".join(f" {k}={v}" for k, v in overrides.items()), "words/s",
                             system["speed"]["ours"], system["speed"]["gensim"], "gensim",
                             {"dim": dim, "epochs": epochs, "window": 5, "negative": 5, "threads": threads,
                              "seeds": list(seeds), "figure": "median over seeds", **overrides}, quality,
                             corpus_tokens=len(prepared.train_ids), vocab_match=result["vocab_match"]))
        if noise_window:
            for line in format_report(result):
                log(line)
    return rows


def bench_glove_part(prepared, threads: int, glove_dir: Path | None, work: Path, dim: int = 100,
                     window: int = 10, x_max: float = 10.0, epochs: int = 15, random_baseline: bool = False,
                     log=print) -> list[dict]:
    """Counting (tokens/s) and training (entries/s) rows against Stanford GloVe's programs (skipped without
    ``glove_dir``); with ``random_baseline`` the training row's quality also holds random vectors' scores."""
    from bench.glove import bench_count
    from bench.quality import evaluate, random_like
    from bench.stanford import find_programs, run_stanford
    from glove.config import GloveConfig
    from glove.train import train
    from vectors.formats import load_vectors

    programs = find_programs(glove_dir) if glove_dir is not None else None
    count = bench_count(prepared, window=window, threads=threads)
    table = train(prepared, GloveConfig(dim=dim, window=window, x_max=x_max, epochs=epochs, threads=threads),
                  progress=False)
    ours_quality = evaluate(table)
    settings = {"dim": dim, "window": window, "x_max": x_max, "epochs": epochs, "threads": threads}
    peer = None
    if programs is not None:
        min_count = int(prepared.config.get("min_count", 5))
        peer = run_stanford(programs, prepared, work / "stanford", min_count=min_count, window=window, dim=dim,
                            x_max=x_max, epochs=epochs, threads=threads)
        peer["quality"] = evaluate(load_vectors(peer["vectors"], format="glove"))
    else:
        log("  Stanford GloVe: skipped (set GLOVE_DIR to a build of it to measure it here)")
    name = "Stanford GloVe" if peer else "Stanford GloVe (skipped: no GLOVE_DIR)"
    quality = {"ours": ours_quality, "peer": peer["quality"] if peer else None}
    if random_baseline:
        quality["random"] = evaluate(random_like(table))
        log("  random vectors of the same shape and scale: " + " ".join(
            f"{k}={quality['random'][k]:.3f}" for k in SCORES))
    return [
        _row("glove counting", "tokens/s", count["count_tokens_per_second"],
             peer["count_tokens_per_second"] if peer else None, name, dict(settings, peer_counting=
                                                                          "vocab_count + cooccur + shuffle"),
             nonzeros=count["nonzeros"], peer_nonzeros=peer["nonzeros"] if peer else None,
             corpus_tokens=count["tokens"]),
        _row("glove training", "entries/s", table.meta["entries_per_second"],
             peer["entries_per_second"] if peer else None, name, settings, quality,
             train_seconds=table.meta["train_seconds"], peer_train_seconds=peer["train_seconds"] if peer else None),
    ]


def bench_analogies_part() -> list[dict]:
    """Seconds of our analogy evaluation against gensim's on a 30,000-word synthetic table."""
    from bench.analogies import bench_analogies

    r = bench_analogies()
    return [_row("analogy evaluation", "s", r["ours_seconds"], r["gensim_seconds"], "gensim",
                 {"questions": r["questions"], "words": r["words"], "dim": r["dim"], "restrict_vocab": 30000},
                 {"ours": {"accuracy": r["accuracy"]}, "peer": {"accuracy": r["gensim_accuracy"]}},
                 equal=r["equal"])]


def bench_gpt_part(threads: int, device: str, steps: int = 20, repeats: int = 3, log=print) -> list[dict]:
    """GPT training tokens/s against transformers' GPT-2 of the same shape (no peer figure without it)."""
    from bench.gpt import bench_gpt

    r = bench_gpt(threads=threads, device=device, repeats=repeats, steps=steps)
    if r["peer"] is None:
        log("  transformers: not installed (pip install -e .[bench]); no peer figure")
    peer = r["peer"]
    return [_row("gpt training", "tokens/s", r["ours"]["tokens_per_second"],
                 peer["tokens_per_second"] if peer else None, r["peer_name"] if peer else "none installed",
                 r["settings"], gflops=r["ours"]["gflops"], peer_gflops=peer["gflops"] if peer else None,
                 parameters=r["ours"]["parameters"], peer_parameters=peer["parameters"] if peer else None)]


def bench_study_part(work: Path, device: str, log=print) -> list[dict]:
    """A study's tokens/s at --jobs 1 and 2, recorded for --jobs auto."""
    from bench.study import bench_study
    from study.scheduler import write_jobs_record

    r = bench_study(work / "study", device=device, log=log)
    one, two = r["tokens_per_second"]["1"], r["tokens_per_second"]["2"]
    path = write_jobs_record(r["best_jobs"], device, r["tokens_per_second"], datetime.date.today().isoformat())
    log(f"  --jobs auto will use {r['best_jobs']} here (recorded in {path})")
    settings = {k: r[k] for k in ("runs", "tokens_per_run", "cores", "corpus")}
    return [_row("study, --jobs 2 vs 1", "tokens/s", two, one, "the same study at --jobs 1", settings,
                 best_jobs=r["best_jobs"])]


def figure(value: float) -> str:
    """A table cell: whole numbers with thousands separators from 100 up, three significant digits below."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def format_table(rows: list[dict]) -> list[str]:
    lines = [f"{'stage':24s} {'ours':>14s} {'peer':>14s} {'ratio':>6s}  peer / quality (WS353, SimLex-999, "
             "Google: ours | peer)"]
    for r in rows:
        peer = "-" if r["peer"] is None else figure(r["peer"])
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        tail = r["peer_name"]
        q = r.get("quality") or {}
        if q.get("ours") and all(k in q["ours"] for k in SCORES):
            ours = " ".join(f"{q['ours'][k]:.3f}" for k in SCORES)
            theirs = " ".join(f"{q['peer'][k]:.3f}" for k in SCORES) if q.get("peer") else "-"
            tail += f"; {ours} | {theirs}"
        if r.get("gflops"):
            tail += f"; {r['gflops']:.1f} GFLOP/s" + (f" | {r['peer_gflops']:.1f}" if r.get("peer_gflops") else "")
        lines.append(f"{r['stage']:24s} {figure(r['ours']):>14s} {peer:>14s} {ratio:>6s}  {r['unit']}, {tail}")
    return lines


def machine() -> dict:
    import torch

    from base.cores import available_cores

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    return {"cpu": model, "cores": available_cores(), "python": platform.python_version(),
            "torch": torch.__version__, "load_average": list(os.getloadavg())}


def run_bench(parts, *, bench_corpus: Path | None = None, glove_dir: Path | None = None, threads: int = 2,
              seeds=(1, 2, 3), gpt_steps: int = 20, gpt_repeats: int = 3, out: Path = DEFAULT_OUT,
              device: str = "cpu", work_dir: Path | None = None, w2v_methods=W2V_METHODS, w2v_dim: int = 100,
              noise_window: bool = False, random_baseline: bool = False, log=print) -> dict:
    """Run ``parts`` (in that order) on the bench text of ``bench_corpus``, print the table and write the
    report (``{date, machine, threads, device, corpus, stages}``) to ``out``; return the report.

    The bench text, its prepared corpus and the peers' files go in ``work_dir`` (kept, and a corpus prepared
    there before is reused), else in a temporary folder removed at the end. Inputs are taken as valid
    (``python -m pipelines.bench`` checks them first).
    """
    from base.atomic import atomic_file
    from bench.text import prepare_bench_corpus, write_bench_text

    rows, corpus = [], None
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        folder = contextlib.nullcontext(work_dir)
    else:
        folder = tempfile.TemporaryDirectory(prefix="bench-")
    with folder as where:
        work = Path(where)
        prepared = None
        if any(p in parts for p in ("prepare", "w2v", "glove")):
            corpus = write_bench_text(work / "bench.txt", bench_corpus)
            log(f"bench corpus: {corpus['source']}, {corpus['tokens']:,} tokens")
        for part in parts:
            log(f"== {part}")
            if part in ("w2v", "glove") and prepared is None:
                prepared = prepare_bench_corpus(work / "bench.txt", work / "prepared" / "corpus")
            if part == "prepare":
                rows += bench_prepare_part(work / "bench.txt")
            elif part == "w2v":
                rows += bench_w2v_part(prepared, threads, tuple(seeds), w2v_dim, methods=w2v_methods,
                                       noise_window=noise_window, log=log)
            elif part == "glove":
                rows += bench_glove_part(prepared, threads, glove_dir, work, random_baseline=random_baseline,
                                         log=log)
            elif part == "analogies":
                rows += bench_analogies_part()
            elif part == "gpt":
                rows += bench_gpt_part(threads, device, gpt_steps, gpt_repeats, log=log)
            else:
                rows += bench_study_part(work, device, log=log)
    log("")
    for line in format_table(rows):
        log(line)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "threads": threads, "device": device, "corpus": corpus, "stages": rows}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    log(f"bench.json: {out}")
    return report
