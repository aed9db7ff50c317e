"""``python -m pipelines.bench`` (``make bench``): speed figures beside their references, on this machine.

Each part measures ours and, where the reference can run here (gensim), the reference in the same run, and
prints the ratio; where it cannot (Stanford GloVe, nanoGPT), it prints the issue's reference figure.
"""

from __future__ import annotations

from pathlib import Path

import click

from corpus.errors import InputError
from pipelines.common import handle_errors, main_entry

PARTS = ("prepare", "analogies", "w2v", "glove")


def bench_prepare_part(bench_corpus: Path) -> None:
    from corpus.bench import bench_prepare

    click.echo("== prepare: end-to-end tokens/s and peak RSS (target: >= 1M tokens/s, RSS flat in size)")
    for row in bench_prepare(bench_corpus):
        click.echo(f"  {row['tokens'] / 1e6:6.1f}M tokens  {row['tokens_per_second'] / 1e6:5.2f}M tokens/s  "
                   f"peak RSS {row['peak_rss_mb']:6.0f} MB  ({row['seconds']:.1f} s)")


def bench_analogies_part(bench_corpus: Path) -> None:
    from vectors.bench import bench_analogies

    click.echo("== analogies: 19,544 Google questions x 30k words, dim 128 (target: a few seconds)")
    r = bench_analogies()
    click.echo(f"  ours {r['ours_seconds']:.2f} s  gensim {r['gensim_seconds']:.2f} s  ({r['speedup']:.0f}x)  "
               f"accuracy {r['accuracy']:.4f} vs gensim {r['gensim_accuracy']:.4f}  equal={r['equal']}")


def bench_w2v_part(bench_corpus: Path) -> None:
    from w2v.bench import bench_word2vec

    click.echo("== word2vec vs gensim 4.4: 2 threads, dim 100, 5 epochs, median of 3 seeds "
               "(target: ratio >= 1.0, quality inside max(0.02, 2 x gensim sd) of gensim's mean)")
    bench_word2vec(bench_corpus, log=click.echo)


def bench_glove_part(bench_corpus: Path) -> None:
    import tempfile

    from glove.bench import bench_count, bench_quality, bench_train, evaluate, prepare_bench_corpus
    from w2v.config import Word2VecConfig
    from w2v.train import train as train_word2vec

    with tempfile.TemporaryDirectory(prefix="bench-glove-") as work:
        prepared = prepare_bench_corpus(bench_corpus, work)
        count, fit = bench_count(prepared), bench_train(prepared)
        click.echo("== GloVe: window 10, dim 100, 2 threads; reference Stanford GloVe (C, 2 threads, 4M-word "
                   "corpus): counting 610k tokens/s, training 1.1M entries/s")
        click.echo(f"  counting {count['count_tokens_per_second'] / 1e3:,.0f}k tokens/s ({count['nonzeros']:,} "
                   f"non-zeros, {count['count_seconds']:.2f} s)  ratio {count['count_tokens_per_second'] / 610e3:.2f}")
        click.echo(f"  training {fit['entries_per_second'] / 1e6:.2f}M entries/s ({fit['epoch_seconds']:.2f} s/epoch)"
                   f"  ratio {fit['entries_per_second'] / 1.1e6:.2f}")
        quality = bench_quality(prepared)
        skipgram = evaluate(train_word2vec(prepared, Word2VecConfig(dim=100, threads=2), progress=False))
        click.echo("  quality (WS353 / SimLex-999 / Google analogies, restrict 30000):")
        for name, scores in (("glove x_max 10", quality["glove"]), ("skipgram", skipgram),
                             ("random", quality["random"])):
            click.echo(f"    {name:15s} {scores['ws353']:.3f} / {scores['simlex999']:.3f} / {scores['google']:.3f}")


@click.command()
@click.option("--bench-corpus", type=click.Path(path_type=Path), default=Path("../shared/corpora/bench-en.txt.xz"),
              show_default=True, help="An .xz English corpus of a few million words.")
@click.option("--only", default=",".join(PARTS), show_default=True, help="Comma list of parts to run.")
@handle_errors
def cli(bench_corpus: Path, only: str) -> None:
    """Measure speed against the references."""
    parts = [p.strip() for p in only.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise InputError(f"--only takes parts among {', '.join(PARTS)}; got {', '.join(unknown)}")
    if not bench_corpus.is_file():
        raise InputError(f"bench corpus not found: {bench_corpus} (set BENCH_CORPUS=path/to/corpus.txt.xz)")
    runners = {"prepare": bench_prepare_part, "analogies": bench_analogies_part, "w2v": bench_w2v_part,
               "glove": bench_glove_part}
    for part in parts:
        runners[part](bench_corpus)


if __name__ == "__main__":
    main_entry(cli)
