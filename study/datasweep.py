"""The data sweep: the compare study across the GPT's data size, to find how much text a table is worth.

Every arm trains on a fraction of the train split (:func:`corpus.fraction.fraction_ids`: a seeded, nested
choice of whole documents, the same for every arm of one seed); the vocabulary and the val and test splits
stay the corpus's own, so every test loss is on the same targets. A run trains for ``epochs`` of its own
fraction and reports the test loss of its state at its best val evaluation (``test_loss_best_val``), the
measure of this study: with little data a fixed budget would either stop early or overfit.

``learned`` trains at every fraction (its curve over fractions is what the effective data is read off);
the other arms at their fractions (by default those up to 1/4, where a table has the most to add). Arms
``<method>-init``/``-frozen`` use tables pretrained on the very documents the GPT sees (same text, same
trainer settings as the run's tables); ``<method>-init-transfer``/``-frozen-transfer`` use tables from more
text: the run's own tables (the whole train split), or those of a second corpus prepared in
``<run>/table-corpus/`` (its own vocabulary, aligned to the GPT's by word). Seed k of a table arm uses
tables pretrained with seed k. A run lives in ``gpt/<arm>@frac<F>/seed<k>/``; everything is planned and
checked before anything trains, finished runs are skipped and a killed sweep resumes.

Output: ``runs/<name>/datasweep/`` ``summary.json`` (key ``fractions``; per arm and fraction
``effective_data``), ``summary.md`` and ``datasweep.png`` (see :mod:`study.datasweep_summary`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from base.errors import InputError
from base.parse import exact_number
from corpus.fraction import fraction_ids
from corpus.prepared import PreparedCorpus
from gpt.data import require_window
from study.format import size_interval
from study.plan import check_cells, datasweep_cells, plan, write_plan
from study.scheduler import StudyClock, train_planned
from study.sources import TableSource
from study.table_files import cache_files, resolve_arms
from study.tables import ensure_tables
from study.variants import arm_source

DEFAULT_FRACTIONS = "1/16,1/8,1/4,1/2,1"
DEFAULT_ARMS = "learned,glove-init,glove-init-transfer"
ARM_FRACTIONS_UP_TO = 0.25  # the table arms' default fractions: those of --fractions up to this
DEFAULT_EPOCHS = 4.0  # of a run's own fraction; the best val state is kept, so overfitting late costs nothing
DATASWEEP_EVALS = 48  # val evaluations per run unless --evals is given: the best state is picked among them


def default_arm_fractions(fractions: list[float]) -> list[float]:
    """The table arms' fractions when none are given: those up to :data:`ARM_FRACTIONS_UP_TO` (the
    smallest fraction when none is that small)."""
    return [f for f in fractions if f <= ARM_FRACTIONS_UP_TO] or fractions[:1]


def arm_fractions(arms: list, fractions: list[float], table_fractions: list[float] | None) -> dict:
    """Which fractions each arm trains at: learned at every one, the others at ``table_fractions``, which
    must be among ``fractions`` (learned is needed at each, to pair with and to read effective data off)."""
    chosen = default_arm_fractions(fractions) if table_fractions is None else table_fractions
    outside = [f for f in chosen if f not in fractions]
    if outside:
        raise InputError(f"--arm-fractions {', '.join(map(exact_number, outside))} not among --fractions: learned "
                         "trains at every --fractions value and each arm is paired with it")
    return {arm.name: list(fractions) if arm.name == "learned" else sorted(chosen) for arm in arms}


def run_tokens(prepared, fractions: list[float], seeds: int, epochs: float, base) -> dict:
    """The budget of each (fraction, seed): ``epochs`` of that fraction's train ids, at least one step;
    InputError, before anything is trained, for a fraction too small to hold one window of ``base``."""
    tokens = {}
    for fraction in fractions:
        for seed in range(seeds):
            n = len(fraction_ids(prepared.train_ids, prepared.vocab.eos_id, fraction, seed))
            require_window(n, base.context, f"fraction {exact_number(fraction)} (for seed {seed})",
                           "use larger --fractions or a smaller --context")
            tokens[(fraction, seed)] = max(base.tokens_per_step, round(epochs * n))
    return tokens


@dataclass(frozen=True)
class DataSweep:
    """What a data sweep trains: its ``arms`` (learned first), learned's ``fractions`` (ascending), the other
    arms' ``arm_fractions`` (None: :func:`default_arm_fractions`), each run's ``epochs`` of its own fraction,
    and the table corpus (prepared, with the ``table_corpus_source`` it was prepared from) of the transfer
    arms, when one is given."""

    arms: list
    fractions: list[float]
    arm_fractions: list[float] | None = None
    epochs: float = DEFAULT_EPOCHS
    table_corpus: object = None
    table_corpus_source: str | None = None


def _ensure_arm_tables(settings, prepared, sweep: DataSweep, fractions: dict) -> None:
    """Every table the arms need: same-text tables at each fraction (the run's own at 1), transfer tables
    from the table corpus (same trainer settings as the run's tables) or the run's own."""
    same = [a for a in sweep.arms if arm_source(a) is TableSource.FRACTION]
    transfer = [a for a in sweep.arms if arm_source(a) is TableSource.TABLE_CORPUS]
    if same:  # every table arm trains at the same fractions (arm_fractions), so one call checks them all first
        ensure_tables(settings, prepared, same, TableSource.FRACTION, tuple(fractions[same[0].name]))
    if transfer and sweep.table_corpus is not None:
        ensure_tables(settings, sweep.table_corpus, transfer, TableSource.TABLE_CORPUS)
    elif transfer:
        ensure_tables(settings, prepared, transfer)


LOW_COVERAGE = 0.5  # a table corpus whose words cover less of the GPT's vocabulary than this gets a warning


def vocabulary_coverage(prepared, table_corpus) -> tuple[int, int]:
    """(words of the GPT's vocabulary the table corpus's vocabulary holds, words of the GPT's vocabulary),
    specials aside: the rows a transfer table can give at most."""
    specials = set(prepared.vocab.specials)
    words = [w for w in prepared.vocab.tokens if w not in specials]
    theirs = set(table_corpus.vocab.tokens)
    return sum(w in theirs for w in words), len(words)


def describe_table_corpus(table_corpus, source: str) -> dict:
    """What the summary records of the table corpus."""
    counts = table_corpus.manifest["counts"]
    return {"source": source, "corpus_hash": table_corpus.content_hash, "tokens": counts["tokens"]["train"],
            "vocab_size": counts["vocab_size"]}


def check_datasweep(settings, sweep: DataSweep, table_corpus: bool) -> tuple[list, DataSweep, dict]:
    """The data sweep's cells, each checked against what its folder holds (:func:`study.plan.check_cells`),
    before any table corpus is prepared or table trained (``table_corpus``: whether the transfer arms take
    their tables from one); with the sweep whose file arms are resolved, and the located files
    (:func:`study.table_files.resolve_arms`)."""
    prepared = PreparedCorpus.open(settings.layout.corpus)
    arms, files = resolve_arms(settings, prepared, sweep.arms)
    sweep = dataclasses.replace(sweep, arms=arms)
    at = arm_fractions(sweep.arms, sweep.fractions, sweep.arm_fractions)
    tokens = run_tokens(prepared, sweep.fractions, settings.seeds, sweep.epochs, settings.base)
    cells = datasweep_cells(sweep.arms, at, settings.seeds, settings.base, tokens, table_corpus)
    check_cells(settings, cells)
    return cells, sweep, files


def run_datasweep(settings, sweep: DataSweep, plan_file: Path | None = None) -> dict | None:
    """Tables, runs and summary of the data sweep (:class:`study.settings.StudySettings`; the caller holds
    the run's lock, and has prepared the table corpus when one was given); returns the summary, or None
    after writing ``plan_file`` instead of training."""
    from study.datasweep_summary import write_datasweep

    layout, log, clock = settings.layout, settings.log, StudyClock()
    prepared = PreparedCorpus.open(layout.corpus)
    cells, sweep, files = check_datasweep(settings, sweep, sweep.table_corpus is not None)
    described = cache_files(settings, prepared, files)
    if sweep.table_corpus is not None:
        found, words = vocabulary_coverage(prepared, sweep.table_corpus)
        if found < LOW_COVERAGE * words:
            log(f"warning: the table corpus {sweep.table_corpus_source} covers {found / words:.2%} of the GPT's "
                f"vocabulary ({found:,} of {words:,} words); the transfer tables leave the other rows random")
    with clock.part("table pretraining"):
        _ensure_arm_tables(settings, prepared, sweep, arm_fractions(sweep.arms, sweep.fractions, sweep.arm_fractions))
    planned = plan(settings, prepared, cells, table_lines=False)
    if plan_file is not None:
        write_plan(settings, planned, plan_file)
        return None
    results: dict = {}
    with clock.part("GPT runs"):
        trained = train_planned(planned, settings)
    for (cell, _), result in zip(planned, trained):
        results.setdefault(cell.arm, {}).setdefault(cell.size, []).append(result)
    table_corpus = None if sweep.table_corpus is None else describe_table_corpus(sweep.table_corpus,
                                                                                 sweep.table_corpus_source)
    facts = {"epochs": sweep.epochs, "train_tokens": len(prepared.train_ids), "table_corpus": table_corpus,
             "table_files": described}
    summary = write_datasweep(settings, sweep.arms, sweep.fractions, results, facts)
    log(f"summary: {layout.datasweep / 'summary.md'}")
    for arm, row in summary["arms"].items():
        if arm == summary["baseline"]:
            continue
        for label, cell in row["fractions"].items():
            found = cell["effective_data"]
            worth = ("beyond the largest fraction" if found["value"] is None else
                     f"learned matches it at {found['value']:.3g} of the train split ({found['ratio']:.2f}x)")
            interval = size_interval(found.get("interval"), lambda bound: f"{bound['ratio']:.2f}x")
            worth += f", {interval}" if interval else ""
            log(f"  {arm:22s} at {label:>5s}: {cell['verdict']}, {worth}")
    log(clock.line())
    return summary
