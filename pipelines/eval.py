"""``python -m pipelines.eval``: intrinsic evaluation of embedding tables (word pairs, analogies, neighbours).

- ``--vectors FILE``: one table (native ``.npz``, word2vec text or binary, GloVe text; plain or compressed).
  Prints one table of the built-in benchmarks (WS353, SimLex-999, Google analogies) plus every ``--pairs``
  and ``--analogies`` file; ``--json PATH`` writes ``{"benchmarks": {NAME: {...}}}``.
- without ``--vectors``: every table of the run (``<run-dir>/embeddings/<method>.npz``), written to
  ``<run-dir>/eval/report.md`` and ``report.json`` (``{"tables": {method: {"benchmarks": ...}}, "compare":
  <compare/summary.json or null>}``).

The numbers equal gensim's evaluate_word_pairs / evaluate_word_analogies on the same vectors (``oov_ratio``
is a fraction, gensim's a percentage). Bad input: one line on stderr, exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.errors import InputError
from base.layout import RunLayout
from study import format as study_format
from pipelines.common import handle_errors, main_entry, run_dir_option
from vectors.table import whole_word_view


def format_benchmarks(benchmarks: dict, sections: bool = False) -> list[str]:
    """Rows of a fixed-width text table: benchmark, kind, score (Spearman | accuracy), pearson, n, oov."""
    width = max([9] + [len(name) for name in benchmarks])
    lines = [f"{'benchmark':<{width}}  {'kind':<9}  {'score':>7}  {'pearson':>7}  {'n':>6}  {'oov':>6}"]
    for name, r in benchmarks.items():
        score = r["spearman"] if r["kind"] == "pairs" else r["accuracy"]
        lines.append(f"{name:<{width}}  {r['kind']:<9}  {study_format.number(score):>7}  {study_format.number(r.get('pearson')):>7}  "
                     f"{r['n']:>6}  {study_format.share(r['oov_ratio']):>6}")
        if sections and r["kind"] == "analogies":
            for sec, s in r["sections"].items():
                lines.append(f"  {sec:<{width + 9}}  {s['accuracy']:>7.4f}  {'':>7}  {s['total']:>6}")
    return lines


def _score_line(options: dict) -> str:
    return (f"score: Spearman for pairs, accuracy for analogies ({options['method']}, restrict-vocab "
            f"{options['restrict_vocab']}); oov: share of items with a word outside the vocabulary")


@click.command()
@run_dir_option
@click.option("--vectors", "vectors_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Evaluate this vector file instead of the run's tables.")
@click.option("--format", "vectors_format", type=click.Choice(["auto", "native", "word2vec", "word2vec-binary", "glove"]),
              default="auto", show_default=True, help="Format of --vectors (auto: by extension and header).")
@click.option("--pairs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A word-pair file (word1<TAB>word2<TAB>score); repeatable.")
@click.option("--analogies", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="An analogy file in questions-words format; repeatable.")
@click.option("--restrict-vocab", type=int, default=30000, show_default=True,
              help="Analogies use only the first N rows of a table (as gensim).")
@click.option("--pairs-restrict-vocab", type=int, default=300000, show_default=True,
              help="Word pairs use only the first N rows (gensim's default).")
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd", show_default=True,
              help="How analogies are solved.")
@click.option("--case-sensitive", is_flag=True, help="Do not fold case (gensim's case_insensitive=False).")
@click.option("--no-builtin", is_flag=True, help="Skip the built-in WS353, SimLex-999 and Google sets.")
@click.option("--neighbours", multiple=True, metavar="WORD", help="Print the nearest neighbours of WORD.")
@click.option("--topn", type=int, default=10, show_default=True, help="How many neighbours to print.")
@click.option("--sections", is_flag=True, help="Also print each analogy section's accuracy.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the results as JSON here.")
@handle_errors
def cli(run_dir: Path, vectors_path: Path | None, vectors_format: str, pairs, analogies, restrict_vocab: int,
        pairs_restrict_vocab: int, method: str, case_sensitive: bool, no_builtin: bool, neighbours,
        topn: int, sections: bool, json_path: Path | None) -> None:
    """Evaluate embedding tables on word-pair and analogy benchmarks."""
    from base.atomic import write_json
    from vectors.evaluate import evaluate_table, nearest_neighbours
    from vectors.formats import load_vectors

    if restrict_vocab < 1 or pairs_restrict_vocab < 1:
        raise InputError("--restrict-vocab and --pairs-restrict-vocab must be >= 1")
    if topn < 1:
        raise InputError(f"--topn must be >= 1, got {topn}")
    for path in (*pairs, *analogies):
        if not path.is_file():
            raise InputError(f"no such benchmark file: {path}")
    options = dict(pairs=[str(p) for p in pairs], analogies=[str(p) for p in analogies],
                   restrict_vocab=restrict_vocab, pairs_restrict_vocab=pairs_restrict_vocab, method=method,
                   builtin=not no_builtin, case_insensitive=not case_sensitive)
    if vectors_path is None:
        if neighbours:
            raise InputError("--neighbours needs --vectors FILE")
        from base.locks import run_lock
        from study.report import evaluate_run_tables, write_report

        with run_lock(run_dir):
            tables = evaluate_run_tables(run_dir, **options)
            for name, table in tables.items():
                note = table.get("whole_words")
                click.echo(f"table: {name}" + (f" (subword: {note['whole_words']:,} whole-word tokens of "
                                               f"{note['tokens']:,} evaluated)" if note else ""))
                for line in format_benchmarks(table["benchmarks"], sections):
                    click.echo("  " + line)
            click.echo(_score_line(options))
            out = RunLayout(run_dir).eval
            report = write_report(Path(run_dir), tables)
        if json_path is not None:
            write_json(json_path, report)
        click.echo(f"wrote {out / 'report.md'} and {out / 'report.json'}")
        return

    table, whole_words = whole_word_view(load_vectors(vectors_path, format=vectors_format))
    result = evaluate_table(table, **options)
    click.echo(f"vectors: {vectors_path} ({len(table):,} words x {table.dim})")
    if whole_words is not None:
        result["whole_words"] = whole_words
        click.echo(f"subword table: {whole_words['whole_words']:,} whole-word tokens of {whole_words['tokens']:,} "
                   "evaluated")
    for line in format_benchmarks(result["benchmarks"], sections):
        click.echo(line)
    click.echo(_score_line(options))
    if neighbours:
        found = nearest_neighbours(table, list(neighbours), k=topn)
        result["neighbours"] = {w: None if n is None else [[x, s] for x, s in n] for w, n in found.items()}
        for word, near in found.items():
            shown = "not in the table" if near is None else ", ".join(f"{x} {s:.3f}" for x, s in near)
            click.echo(f"{word}: {shown}")
    if json_path is not None:
        write_json(json_path, result)
        click.echo(f"wrote {json_path}")


if __name__ == "__main__":
    main_entry(cli)
