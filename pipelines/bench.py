"""``python -m pipelines.bench`` (``make bench``): every stage's speed beside a peer measured in the same run.

Peers: gensim (CBOW, skip-gram, analogy evaluation), Hugging Face ``transformers``' GPT-2 of the same shape
(the GPT), Stanford GloVe's C programs when ``--glove-dir``/``GLOVE_DIR`` names a build (else skipped, and no
number is shown for them). Speed sits beside quality (WS353, SimLex-999, Google analogies of both systems'
tables, from the same corpus), so a faster but worse table cannot look good. The corpus is ``--bench-corpus``
or, unset, the default corpus repeated to 5M tokens. One table is printed and ``bench.json`` written.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

import click

from corpus.errors import InputError
from pipelines.common import device_option, handle_errors, main_entry, resolve_device

PARTS = ("prepare", "w2v", "glove", "analogies", "gpt", "study")
SCORES = ("ws353", "simlex999", "google")


def _row(stage: str, unit: str, ours: float, peer: float | None, peer_name: str, settings: dict,
         quality: dict | None = None, **extra) -> dict:
    """One line of the table: a higher figure is better for every unit but seconds."""
    if peer is None:
        ratio = None
    else:
        ratio = peer / ours if unit == "s" else ours / peer
    return {"stage": stage, "unit": unit, "ours": ours, "peer": peer, "peer_name": peer_name, "ratio": ratio,
            "settings": settings, "quality": quality, **extra}


def bench_prepare_part(text: Path, corpus: dict, threads: int, device: str) -> list[dict]:
    from corpus.bench import bench_prepare

    rows = []
    for r in bench_prepare(text, targets=(20_000_000, 40_000_000)):
        rows.append(_row(f"prepare {r['tokens'] / 1e6:.0f}M tokens", "tokens/s", r["tokens_per_second"], None,
                         "none", {"tokenizer": "word", "min_count": 5}, peak_rss_mb=r["peak_rss_mb"],
                         tokens=r["tokens"], seconds=r["seconds"]))
    return rows


def bench_w2v_part(prepared, threads: int, seeds=(1, 2, 3), dim: int = 100, epochs: int = 5) -> list[dict]:
    from w2v.bench import compare

    rows = []
    for method in ("cbow", "skipgram"):
        result = compare(prepared, method, seeds, threads, dim, epochs, log=click.echo)
        system = result["systems"]["ours"]
        quality = {"ours": {k: q["ours"] for k, q in system["quality"].items()},
                   "peer": {k: q["gensim"] for k, q in system["quality"].items()}}
        rows.append(_row(method, "words/s", system["speed"]["ours"], system["speed"]["gensim"], "gensim",
                         {"dim": dim, "epochs": epochs, "window": 5, "negative": 5, "threads": threads,
                          "seeds": list(seeds), "figure": "median over seeds"}, quality,
                         corpus_tokens=len(prepared.train_ids), vocab_match=result["vocab_match"]))
    return rows


def bench_glove_part(prepared, threads: int, glove_dir: Path | None, work: Path, dim: int = 100,
                     window: int = 10, x_max: float = 10.0, epochs: int = 15) -> list[dict]:
    from glove.bench import bench_count, evaluate
    from glove.config import GloveConfig
    from glove.stanford import find_programs, run_stanford
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
        click.echo("  Stanford GloVe: skipped (set GLOVE_DIR to a build of it to measure it here)")
    name = "Stanford GloVe" if peer else "Stanford GloVe (skipped: no GLOVE_DIR)"
    quality = {"ours": ours_quality, "peer": peer["quality"] if peer else None}
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
    from vectors.bench import bench_analogies

    r = bench_analogies()
    return [_row("analogy evaluation", "s", r["ours_seconds"], r["gensim_seconds"], "gensim",
                 {"questions": r["questions"], "words": r["words"], "dim": r["dim"], "restrict_vocab": 30000},
                 {"ours": {"accuracy": r["accuracy"]}, "peer": {"accuracy": r["gensim_accuracy"]}},
                 equal=r["equal"])]


def bench_gpt_part(threads: int, device: str, steps: int = 20, repeats: int = 3) -> list[dict]:
    from gpt.bench import bench_gpt

    r = bench_gpt(threads=threads, device=device, repeats=repeats, steps=steps)
    if r["peer"] is None:
        click.echo("  transformers: not installed (pip install -e .[bench]); no peer figure")
    peer = r["peer"]
    return [_row("gpt training", "tokens/s", r["ours"]["tokens_per_second"],
                 peer["tokens_per_second"] if peer else None, r["peer_name"] if peer else "none installed",
                 r["settings"], gflops=r["ours"]["gflops"], peer_gflops=peer["gflops"] if peer else None,
                 parameters=r["ours"]["parameters"], peer_parameters=peer["parameters"] if peer else None)]


def bench_study_part(work: Path, device: str) -> list[dict]:
    """A study's tokens/s at --jobs 1 and 2, recorded for --jobs auto."""
    from pipelines.scheduler import write_jobs_record
    from pipelines.study_bench import bench_study

    r = bench_study(work / "study", device=device, log=click.echo)
    one, two = r["tokens_per_second"]["1"], r["tokens_per_second"]["2"]
    path = write_jobs_record(r["best_jobs"], device, r["tokens_per_second"], datetime.date.today().isoformat())
    click.echo(f"  --jobs auto will use {r['best_jobs']} here (recorded in {path})")
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

    from vectors.trainer import available_cores

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    return {"cpu": model, "cores": available_cores(), "python": platform.python_version(),
            "torch": torch.__version__, "load_average": list(os.getloadavg())}


@click.command()
@click.option("--bench-corpus", type=click.Path(path_type=Path), default=None,
              help="Any text file (.gz/.bz2/.xz allowed) [the default corpus repeated to 5M tokens].")
@click.option("--glove-dir", type=click.Path(path_type=Path), default=None, envvar="GLOVE_DIR",
              help="A build of Stanford GloVe (vocab_count, cooccur, shuffle, glove) to measure beside ours "
                   "[$GLOVE_DIR; unset: skipped].")
@click.option("--only", default=",".join(PARTS), show_default=True, help="Comma list of parts to run.")
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads of every system (ours and the peers alike).")
@click.option("--seeds", default="1,2,3", show_default=True, help="Seeds of the word2vec runs (median speed, mean quality).")
@click.option("--gpt-steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed GPT steps per repeat.")
@click.option("--gpt-repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Timings of ours and of the peer, alternating; the best of each is kept.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("runs/bench/bench.json"),
              show_default=True, help="Where bench.json goes.")
@device_option
@handle_errors
def cli(bench_corpus: Path | None, glove_dir: Path | None, only: str, threads: int, seeds: str, gpt_steps: int,
        gpt_repeats: int, out: Path, device: str) -> None:
    """Measure every stage against a peer measured in the same run."""
    from corpus.benchtext import write_bench_text
    from glove.bench import prepare_bench_corpus

    parts = [p.strip() for p in only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown or not parts:
        raise InputError(f"--only takes parts among {', '.join(PARTS)}; got {only!r}")
    if bench_corpus is not None and not bench_corpus.is_file():
        raise InputError(f"bench corpus not found: {bench_corpus} (BENCH_CORPUS takes a text file; leave it unset "
                         "to use the default corpus repeated)")
    if glove_dir is not None and "glove" in parts:
        from glove.stanford import find_programs

        find_programs(glove_dir)  # a wrong GLOVE_DIR is one line before anything runs
    try:
        seed_list = tuple(int(x) for x in seeds.split(",") if x.strip())
    except ValueError:
        seed_list = ()
    if not seed_list:
        raise InputError(f"--seeds takes a comma list of integers, got {seeds!r}")
    device = resolve_device(device)
    rows, corpus = [], None
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        prepared = None
        if any(p in parts for p in ("prepare", "w2v", "glove")):
            corpus = write_bench_text(work / "bench.txt", bench_corpus)
            click.echo(f"bench corpus: {corpus['source']}, {corpus['tokens']:,} tokens")
        for part in parts:
            click.echo(f"== {part}")
            if part in ("w2v", "glove") and prepared is None:
                prepared = prepare_bench_corpus(work / "bench.txt", work / "prepared")
            if part == "prepare":
                rows += bench_prepare_part(work / "bench.txt", corpus, threads, device)
            elif part == "w2v":
                rows += bench_w2v_part(prepared, threads, seed_list)
            elif part == "glove":
                rows += bench_glove_part(prepared, threads, glove_dir, work)
            elif part == "analogies":
                rows += bench_analogies_part()
            elif part == "gpt":
                rows += bench_gpt_part(threads, device, gpt_steps, gpt_repeats)
            else:
                rows += bench_study_part(work, device)
    lines = format_table(rows)
    click.echo("")
    for line in lines:
        click.echo(line)
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
              "threads": threads, "device": device, "corpus": corpus, "stages": rows}
    from corpus.atomic import atomic_file

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    click.echo(f"bench.json: {out}")


if __name__ == "__main__":
    main_entry(cli)
