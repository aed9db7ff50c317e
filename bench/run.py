"""``make bench``: every stage's speed beside a peer measured in the same run, in one table and ``bench.json``.

Peers: gensim (CBOW, skip-gram, analogy evaluation), Hugging Face ``transformers``' GPT-2 of the same shape
and nanoGPT's model.py when a clone of it is given (the GPT), Stanford GloVe's C programs when a build of
them is given (an absent peer is skipped, and no number is shown for it). Speed sits beside quality (WS353,
SimLex-999, Google analogies of both systems' tables, from the same corpus), so a faster but worse table
cannot look good. The corpus is a given text file or, None, the default corpus repeated to 5M tokens. Each
``*_part`` returns the table's rows of one part (:data:`PARTS`); :func:`run_bench` runs the parts asked for,
prints the table and writes ``bench.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

from bench.quality import SCORES
from bench.timing import MIN_REPEATS, interleave, ratio, spread

PARTS = ("prepare", "w2v", "glove", "analogies", "gpt", "study")
W2V_METHODS = ("cbow", "skipgram")
DEFAULT_OUT = Path("runs/bench/bench.json")


def _row(stage: str, unit: str, ours, peer, peer_name: str, settings: dict, quality: dict | None = None,
         **extra) -> dict:
    """One line of the table: ``ours`` and ``peer`` are a figure or the list of its timings (None: no peer).

    The row holds each one's median (``ours``, ``peer``), min, max and every timing (``ours_runs``); the
    ratio is the ratio of the medians, and a higher figure is better for every unit but seconds."""
    ours_spread = spread(ours if isinstance(ours, (list, tuple)) else [ours])
    peer_spread = None if peer is None else spread(peer if isinstance(peer, (list, tuple)) else [peer])
    row = {"stage": stage, "unit": unit, "ours": ours_spread["median"],
           "peer": None if peer_spread is None else peer_spread["median"], "peer_name": peer_name,
           "ratio": ratio(ours_spread, peer_spread, unit), "settings": settings, "quality": quality}
    for name, found in (("ours", ours_spread), ("peer", peer_spread)):
        row.update({f"{name}_min": found and found["min"], f"{name}_max": found and found["max"],
                    f"{name}_runs": found and found["values"]})
    return {**row, **extra}


def bench_prepare_part(text: Path, repeats: int = MIN_REPEATS, log=print) -> list[dict]:
    """Prepare's tokens/s and peak memory on the bench text repeated to 20M and 40M tokens (no peer),
    each size ``repeats`` times in turn."""
    from bench.prepare import bench_prepare

    rounds = interleave({"prepare": lambda _: bench_prepare(text, targets=(20_000_000, 40_000_000))}, repeats,
                        log=log)["prepare"]
    rows = []
    for i, first in enumerate(rounds[0]):
        runs = [sizes[i] for sizes in rounds]
        rows.append(_row(f"prepare {first['tokens'] / 1e6:.0f}M tokens", "tokens/s",
                         [r["tokens_per_second"] for r in runs], None, "none", {"tokenizer": "word", "min_count": 5},
                         peak_rss_mb=max(r["peak_rss_mb"] for r in runs), tokens=first["tokens"],
                         seconds=[r["seconds"] for r in runs]))
    return rows


def bench_w2v_part(prepared, threads: int, seeds=(1, 2, 3, 4, 5), dim: int = 100, epochs: int = 5,
                   methods=W2V_METHODS, noise_window: bool = False, log=print) -> list[dict]:
    """A row per method: words/s of every seed (ours and gensim's alternating, seed by seed; the median is
    the figure), after a warm-up run that compiles or loads the kernels (``warmup_seconds``, apart); with
    ``noise_window`` skip-gram also runs with noise words shared across a centre's window (a row of its own,
    against the same gensim runs), and each method's quality bands are printed."""
    from bench.word2vec import NOISE_WINDOW, compare, format_report

    rows = []
    for method in methods:
        variants = {"ours": {}, **(NOISE_WINDOW if noise_window and method == "skipgram" else {})}
        result = compare(prepared, method, seeds, threads, dim, epochs, variants=variants, log=log)
        gensim = [r["words_per_second"] for r in result["runs"]["gensim"]]
        for name, system in result["systems"].items():
            overrides = variants[name]
            quality = {"ours": {k: q["ours"] for k, q in system["quality"].items()},
                       "peer": {k: q["gensim"] for k, q in system["quality"].items()}}
            rows.append(_row(method + "".join(f" {k}={v}" for k, v in overrides.items()), "words/s",
                             [r["words_per_second"] for r in result["runs"][name]], gensim, "gensim",
                             {"dim": dim, "epochs": epochs, "window": 5, "negative": 5, "threads": threads,
                              "seeds": list(seeds), "figure": "median over seeds", **overrides}, quality,
                             corpus_tokens=len(prepared.train_ids), vocab_match=result["vocab_match"],
                             warmup_seconds=result["warmup_seconds"][name]))
        if noise_window:
            for line in format_report(result):
                log(line)
    return rows


def bench_glove_part(prepared, threads: int, glove_dir: Path | None, work: Path, dim: int = 100,
                     window: int = 10, x_max: float = 10.0, epochs: int = 15, random_baseline: bool = False,
                     repeats: int = MIN_REPEATS, log=print) -> list[dict]:
    """Counting (tokens/s) and training (entries/s) rows against Stanford GloVe's programs (skipped without
    ``glove_dir``), ours and theirs alternating for ``repeats`` rounds after a warm-up count that compiles
    our kernels; with ``random_baseline`` the training row's quality also holds random vectors' scores."""
    from bench.glove import bench_count, warm_up
    from bench.quality import evaluate, random_like
    from bench.stanford import find_programs, run_stanford
    from glove.config import GloveConfig
    from glove.train import train
    from vectors.formats import load_vectors

    programs = find_programs(glove_dir) if glove_dir is not None else None
    min_count = int(prepared.config.get("min_count", 5))
    config = GloveConfig(dim=dim, window=window, x_max=x_max, epochs=epochs, threads=threads)
    warmup_seconds = warm_up(prepared, window=window, threads=threads)
    systems = {"count": lambda _: bench_count(prepared, window=window, threads=threads),
               "train": lambda _: train(prepared, config, progress=False)}
    if programs is not None:
        systems["stanford"] = lambda _: run_stanford(programs, prepared, work / "stanford", min_count=min_count,
                                                     window=window, dim=dim, x_max=x_max, epochs=epochs,
                                                     threads=threads)
    else:
        log("  Stanford GloVe: skipped (set GLOVE_DIR to a build of it to measure it here)")
    runs = interleave(systems, repeats)
    counts, tables, peers = runs["count"], runs["train"], runs.get("stanford")
    ours_quality = evaluate(tables[-1])
    settings = {"dim": dim, "window": window, "x_max": x_max, "epochs": epochs, "threads": threads}
    peer_quality = evaluate(load_vectors(peers[-1]["vectors"], format="glove")) if peers else None
    name = "Stanford GloVe" if peers else "Stanford GloVe (skipped: no GLOVE_DIR)"
    quality = {"ours": ours_quality, "peer": peer_quality}
    if random_baseline:
        quality["random"] = evaluate(random_like(tables[-1]))
        log("  random vectors of the same shape and scale: " + " ".join(
            f"{k}={quality['random'][k]:.3f}" for k in SCORES))
    peer_of = lambda key: [p[key] for p in peers] if peers else None  # noqa: E731
    return [
        _row("glove counting", "tokens/s", [c["count_tokens_per_second"] for c in counts],
             peer_of("count_tokens_per_second"), name,
             dict(settings, peer_counting="vocab_count + cooccur + shuffle"), nonzeros=counts[0]["nonzeros"],
             peer_nonzeros=peers[0]["nonzeros"] if peers else None, corpus_tokens=counts[0]["tokens"],
             warmup_seconds=warmup_seconds),
        _row("glove training", "entries/s", [t.meta["entries_per_second"] for t in tables],
             peer_of("entries_per_second"), name, settings, quality,
             train_seconds=[t.meta["train_seconds"] for t in tables], peer_train_seconds=peer_of("train_seconds")),
    ]


def bench_analogies_part(repeats: int = MIN_REPEATS, log=print) -> list[dict]:
    """Seconds of our analogy evaluation against gensim's on a 30,000-word synthetic table, the two
    alternating for ``repeats`` rounds."""
    from bench.analogies import bench_analogies, synthetic_analogy_table

    table = synthetic_analogy_table()
    runs = interleave({"analogies": lambda _: bench_analogies(table)}, repeats, log=log)["analogies"]
    r = runs[0]
    return [_row("analogy evaluation", "s", [x["ours_seconds"] for x in runs], [x["gensim_seconds"] for x in runs],
                 "gensim", {"questions": r["questions"], "words": r["words"], "dim": r["dim"], "restrict_vocab": 30000},
                 {"ours": {"accuracy": r["accuracy"]}, "peer": {"accuracy": r["gensim_accuracy"]}},
                 equal=all(x["equal"] for x in runs))]


def bench_gpt_part(settings: "BenchSettings", log=print) -> list[dict]:
    """GPT training tokens/s at each of ``settings.precisions`` (``gpt_compile``: also torch.compiled) against
    each peer: transformers' GPT-2 of the same shape in fp32 (no peer figure without it) and, given
    ``nanogpt_dir``, nanoGPT's model.py in its train.py's precision (fp32 on a CPU, bf16 on CUDA; rows ``...
    vs nanoGPT``), all in turn for ``gpt_repeats`` (else ``repeats``) rounds of ``gpt_steps`` steps."""
    from bench.gpt import PEER_NAME, bench_gpt
    from bench.nanogpt import PEER_NAME as NANOGPT

    c = settings
    r = bench_gpt(threads=c.threads, device=c.device, repeats=c.gpt_repeats or c.repeats, steps=c.gpt_steps,
                  precisions=c.precisions, compiled=c.gpt_compile, nanogpt_dir=c.nanogpt_dir, log=log)
    if PEER_NAME not in r["peers"]:
        log("  transformers: not installed (pip install -e .[bench]); no peer figure")
    if c.nanogpt_dir is None:
        log("  nanoGPT: skipped (set NANOGPT_DIR to a clone of karpathy/nanoGPT to measure it here)")
    rows = []
    for peer_name, suffix in ((PEER_NAME, ""), (NANOGPT, " vs nanoGPT")):
        peer = r["peers"].get(peer_name)
        if peer is None and suffix:
            continue  # nanoGPT's rows only where it ran; transformers' rows stand, with a dash, without it
        for name, ours in r["ours"].items():
            precision, _, compiled_ = name.partition(" ")
            rows.append(_row(f"gpt training {name}{suffix}", "tokens/s", ours["tokens_per_second"],
                             peer["tokens_per_second"] if peer else None,
                             f"{peer_name} {peer['precision']}" if peer else "none installed",
                             dict(r["settings"], precision=precision, compile=bool(compiled_)),
                             gflops=ours["gflops"], peer_gflops=peer["gflops"] if peer else None,
                             parameters=ours["parameters"], peer_parameters=peer["parameters"] if peer else None,
                             warmup_seconds=ours["warmup_seconds"]))
    return rows


def bench_study_part(work: Path, device: str, repeats: int = MIN_REPEATS, log=print) -> list[dict]:
    """A study's tokens/s at --jobs 1 and 2 (alternating for ``repeats`` rounds), recorded for --jobs auto."""
    from bench.study import bench_study
    from study.scheduler import write_jobs_record

    r = bench_study(work / "study", device=device, repeats=repeats, log=log)
    one, two = r["tokens_per_second"]["1"], r["tokens_per_second"]["2"]
    path = write_jobs_record(r["best_jobs"], device, {k: spread(v)["median"] for k, v in r["tokens_per_second"].items()},
                             datetime.date.today().isoformat())
    log(f"  --jobs auto will use {r['best_jobs']} here (recorded in {path})")
    settings = {k: r[k] for k in ("runs", "tokens_per_run", "cores", "corpus")}
    return [_row("study, --jobs 2 vs 1", "tokens/s", two, one, "the same study at --jobs 1", settings,
                 best_jobs=r["best_jobs"], time_shares=r["time_shares"])]


def figure(value: float) -> str:
    """A table cell: whole numbers with thousands separators from 100 up, three significant digits below."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def cell(row: dict, name: str) -> str:
    """``median [min, max]`` of ``ours`` or ``peer`` (the median alone for one timing; ``-`` for none)."""
    if row[name] is None:
        return "-"
    low, high = row.get(f"{name}_min"), row.get(f"{name}_max")
    if low is None or low == high:
        return figure(row[name])
    return f"{figure(row[name])} [{figure(low)}, {figure(high)}]"


def format_table(rows: list[dict]) -> list[str]:
    """The printed table: median [min, max] of ours and of the peer, the ratio of medians, then the peer
    and the quality of both tables (WS353, SimLex-999, Google)."""
    lines = [f"{'stage':30s} {'ours: median [min, max]':>32s} {'peer: median [min, max]':>32s} {'ratio':>6s}  "
             "peer / quality (WS353, SimLex-999, Google: ours | peer)"]
    for r in rows:
        ratio_ = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        tail = r["peer_name"]
        q = r.get("quality") or {}
        if q.get("ours") and all(k in q["ours"] for k in SCORES):
            ours = " ".join(f"{q['ours'][k]:.3f}" for k in SCORES)
            theirs = " ".join(f"{q['peer'][k]:.3f}" for k in SCORES) if q.get("peer") else "-"
            tail += f"; {ours} | {theirs}"
        if r.get("gflops"):
            tail += f"; {r['gflops']:.1f} GFLOP/s" + (f" | {r['peer_gflops']:.1f}" if r.get("peer_gflops") else "")
        if r.get("warmup_seconds") is not None:
            tail += f"; warm-up {r['warmup_seconds']:.1f} s apart"
        lines.append(f"{r['stage']:30s} {cell(r, 'ours'):>32s} {cell(r, 'peer'):>32s} {ratio_:>6s}  "
                     f"{r['unit']}, {tail}")
    return lines


def machine() -> dict:
    """The machine a bench ran on: its CPU, the bf16 matrix units it has (avx512_bf16, amx_bf16), cores,
    versions and the load average at the end."""
    import torch

    from base.cores import available_cores, bf16_units

    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                 platform.processor())
    return {"cpu": model, "bf16_units": bf16_units(),
            "cores": available_cores(), "python": platform.python_version(), "torch": torch.__version__,
            "load_average": list(os.getloadavg())}


@dataclasses.dataclass(frozen=True)
class BenchSettings:
    """What one ``make bench`` measures and how (``python -m pipelines.bench``'s options, checked there).

    ``bench_corpus``: the bench text (None: the default corpus repeated to 5M tokens); ``glove_dir``: a build
    of Stanford GloVe (None: skipped); ``nanogpt_dir``: a clone of nanoGPT (None: skipped); ``threads`` of
    every system, ours and the peers; ``repeats``: timings of every figure, the systems in turn (the word2vec
    parts: one per seed of ``seeds``); the GPT part's ``gpt_steps`` timed steps, ``gpt_repeats`` (None:
    ``repeats``), ``precisions`` and ``gpt_compile``; ``work_dir`` keeps the bench's files (None: a temporary
    folder); ``out``: where bench.json goes."""

    bench_corpus: Path | None = None
    glove_dir: Path | None = None
    nanogpt_dir: Path | None = None
    threads: int = 2
    repeats: int = MIN_REPEATS
    seeds: tuple = (1, 2, 3, 4, 5)
    w2v_methods: tuple = W2V_METHODS
    w2v_dim: int = 100
    noise_window: bool = False
    random_baseline: bool = False
    gpt_steps: int = 20
    gpt_repeats: int | None = None
    precisions: tuple = ("fp32",)
    gpt_compile: bool = False
    device: str = "cpu"
    work_dir: Path | None = None
    out: Path = DEFAULT_OUT

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


def run_bench(parts, settings: BenchSettings = BenchSettings(), log=print) -> dict:
    """Run ``parts`` (in that order) as ``settings`` say, print the table and write the report (``{date,
    machine, threads, device, corpus, repeats, settings, stages}``) to ``settings.out``; return the report.
    Every figure is timed ``settings.repeats`` times, the systems in turn (:mod:`bench.timing`).

    The bench text, its prepared corpus and the peers' files go in ``work_dir`` (kept, and a corpus prepared
    there before is reused), else in a temporary folder removed at the end. Inputs are taken as valid
    (``python -m pipelines.bench`` checks them first).
    """
    from base.atomic import atomic_file
    from bench.text import prepare_bench_corpus, write_bench_text

    c = settings
    rows, corpus = [], None
    if c.work_dir is not None:
        Path(c.work_dir).mkdir(parents=True, exist_ok=True)
        folder = contextlib.nullcontext(c.work_dir)
    else:
        folder = tempfile.TemporaryDirectory(prefix="bench-")
    with folder as where:
        work = Path(where)
        prepared = None
        if any(p in parts for p in ("prepare", "w2v", "glove")):
            corpus = write_bench_text(work / "bench.txt", c.bench_corpus)
            log(f"bench corpus: {corpus['source']}, {corpus['tokens']:,} tokens")
        for part in parts:
            log(f"== {part}")
            if part in ("w2v", "glove") and prepared is None:
                prepared = prepare_bench_corpus(work / "bench.txt", work / "prepared" / "corpus")
            if part == "prepare":
                rows += bench_prepare_part(work / "bench.txt", c.repeats, log=log)
            elif part == "w2v":
                rows += bench_w2v_part(prepared, c.threads, tuple(c.seeds), c.w2v_dim, methods=c.w2v_methods,
                                       noise_window=c.noise_window, log=log)
            elif part == "glove":
                rows += bench_glove_part(prepared, c.threads, c.glove_dir, work, random_baseline=c.random_baseline,
                                         repeats=c.repeats, log=log)
            elif part == "analogies":
                rows += bench_analogies_part(c.repeats, log=log)
            elif part == "gpt":
                rows += bench_gpt_part(c, log=log)
            else:
                rows += bench_study_part(work, c.device, c.repeats, log=log)
    log("")
    for line in format_table(rows):
        log(line)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "threads": c.threads, "device": c.device, "corpus": corpus, "repeats": c.repeats,
              "settings": c.to_dict(), "stages": rows}
    out = Path(c.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    log(f"bench.json: {out}")
    return report
