"""``make bench``: every stage's speed beside a peer measured in the same run (:mod:`bench.run`).

Peers: gensim (CBOW, skip-gram, analogy evaluation), Hugging Face ``transformers``' GPT-2 of the same shape
and nanoGPT's model.py when ``--nanogpt-dir``/``NANOGPT_DIR`` names a clone of it (the GPT), Stanford GloVe's
C programs when ``--glove-dir``/``GLOVE_DIR`` names a build (an absent peer is skipped, and no number is
shown for it). Every figure is timed ``--repeats`` times, ours and the peer in turn, and
reported as median [min, max] (:mod:`bench.timing`); compile and warm-up time is measured apart. Speed sits beside quality (WS353, SimLex-999, Google analogies of both systems'
tables, from the same corpus), so a faster but worse table cannot look good. The corpus is ``--bench-corpus``
or, unset, the default corpus repeated to 5M tokens. One table is printed and ``bench.json`` written.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.atomic import check_writable
from base.errors import InputError
from base.limits import MAX_SEED
from base.parse import comma_choices, comma_list
from bench.run import DEFAULT_OUT, PARTS, W2V_METHODS
from bench.timing import MIN_REPEATS
from gpt.config import PRECISIONS
from pipelines.common import device_option, handle_errors, main_entry, resolve_device


@click.command()
@click.option("--bench-corpus", type=click.Path(path_type=Path), default=None,
              help="Any text file (.gz/.bz2/.xz allowed) [the default corpus repeated to 5M tokens].")
@click.option("--glove-dir", type=click.Path(path_type=Path), default=None, envvar="GLOVE_DIR",
              help="A build of Stanford GloVe (vocab_count, cooccur, shuffle, glove) to measure beside ours "
                   "[$GLOVE_DIR; unset: skipped].")
@click.option("--nanogpt-dir", type=click.Path(path_type=Path), default=None, envvar="NANOGPT_DIR",
              help="A clone of karpathy/nanoGPT: its model.py, trained as its train.py does, timed beside our GPT "
                   "[$NANOGPT_DIR; unset: skipped].")
@click.option("--only", default=",".join(PARTS), show_default=True, help="Comma list of parts to run.")
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True,
              help="Threads of every system (ours and the peers alike).")
@click.option("--repeats", type=click.IntRange(min=1), default=MIN_REPEATS, show_default=True,
              help="Timings of every figure, ours and the peer in turn (median, min and max are reported).")
@click.option("--seeds", default=None,
              help="Seeds of the word2vec runs, one timing each (median speed, mean quality) [1..--repeats].")
@click.option("--w2v-methods", default=",".join(W2V_METHODS), show_default=True,
              help="Comma list of the word2vec methods the w2v part compares with gensim.")
@click.option("--w2v-dim", type=click.IntRange(min=1), default=100, show_default=True,
              help="Dimension of the word2vec tables (ours and gensim's).")
@click.option("--noise-window", is_flag=True,
              help="w2v part: also run skip-gram with noise words shared across a centre's window (--noise "
                   "window) against the same gensim runs, and print every method's quality bands.")
@click.option("--random-baseline", is_flag=True,
              help="glove part: also score random vectors of the table's shape and scale (the chance level).")
@click.option("--gpt-steps", type=click.IntRange(min=1), default=20, show_default=True,
              help="Timed GPT steps per repeat.")
@click.option("--gpt-repeats", type=click.IntRange(min=1), default=None,
              help="Timings of the GPT part's systems, in turn [--repeats].")
@click.option("--gpt-precisions", default="fp32,bf16", show_default=True,
              help="Comma list of the precisions our GPT is timed at (fp32, bf16), each beside the peer's fp32.")
@click.option("--gpt-compile", is_flag=True,
              help="Also time our GPT torch.compiled (train_gpt --compile) at each precision; the compile time "
                   "is reported apart as its warm-up.")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the bench text, its prepared corpus and the peers' files go, kept for the next run "
                   "[a temporary folder, removed at the end].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Where bench.json goes.")
@device_option
@handle_errors
def cli(bench_corpus: Path | None, glove_dir: Path | None, nanogpt_dir: Path | None, only: str, threads: int,
        repeats: int, seeds: str | None, w2v_methods: str, w2v_dim: int, noise_window: bool, random_baseline: bool,
        gpt_steps: int, gpt_repeats: int | None, gpt_precisions: str, gpt_compile: bool, work_dir: Path | None,
        out: Path, device: str) -> None:
    """Measure every stage against a peer measured in the same run."""
    from bench.run import BenchSettings, run_bench
    from bench.text import check_bench_corpus

    parts = comma_choices(only, "--only", PARTS, "parts")  # a name given twice is measured once
    methods = comma_choices(w2v_methods, "--w2v-methods", W2V_METHODS, "methods")
    precisions = comma_choices(gpt_precisions, "--gpt-precisions", PRECISIONS, "precisions")
    seeds = seeds if seeds is not None else ",".join(str(k) for k in range(1, repeats + 1))
    check_bench_corpus(bench_corpus)
    if glove_dir is not None and "glove" in parts:
        from bench.stanford import find_programs

        find_programs(glove_dir)  # a wrong GLOVE_DIR is one line before anything runs
    if nanogpt_dir is not None and "gpt" in parts:
        from bench.nanogpt import load_model_module

        load_model_module(nanogpt_dir)  # and a wrong NANOGPT_DIR
    try:
        seed_list = tuple(dict.fromkeys(int(x) for x in comma_list(seeds, "--seeds", "seeds")))
    except (ValueError, InputError):
        seed_list = ()
    if not seed_list or not all(0 <= x <= MAX_SEED for x in seed_list):
        raise InputError(f"--seeds takes a comma list of seeds in 0..{MAX_SEED:,}, got {seeds!r}")
    check_writable(out)  # an unwritable --out fails now, not after the whole bench
    if work_dir is not None:
        check_writable(work_dir / "bench.txt")
    settings = BenchSettings(bench_corpus=bench_corpus, glove_dir=glove_dir,
                             nanogpt_dir=nanogpt_dir if "gpt" in parts else None, threads=threads, repeats=repeats,
                             seeds=seed_list, w2v_methods=tuple(methods), w2v_dim=w2v_dim, noise_window=noise_window,
                             random_baseline=random_baseline, gpt_steps=gpt_steps, gpt_repeats=gpt_repeats,
                             precisions=tuple(precisions), gpt_compile=gpt_compile, device=resolve_device(device),
                             work_dir=work_dir, out=out)
    run_bench(parts, settings, log=click.echo)

if __name__ == "__main__":
    main_entry(cli)
