"""``python -m pipelines.compare``: the same small GPT with each token embedding, several seeds, one summary.

Variants (ARCHITECTURE.md): ``learned`` (the baseline), ``<method>-init`` and ``<method>-frozen`` for cbow,
skipgram and glove; ``--controls`` adds ``shuffled-init`` (skip-gram rows permuted among the words: same
scale, no meaning) and ``glove-init-raw`` (GloVe not rescaled); ``--positions`` compares position embeddings
with learned tokens instead (``pos-learned`` is then the baseline). Every variant gets the same token budget
and, per seed, the same batches and the same init of every weight but the token embedding; seed k of every
table variant uses the tables pretrained with seed k, so the intervals cover the tables' randomness too.
Finished runs are skipped and interrupted ones resume, so rerunning the command only does what is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from corpus.errors import InputError
from corpus.lock import run_lock
from corpus.prepared import PreparedCorpus
from pipelines.common import (COUNT, TokenCount, device_option, handle_errors, main_entry, resolve_device,
                              run_dir_option, show_progress)
from pipelines.methods import METHODS, build_config
from pipelines.scheduler import jobs_option, plan_commands, threads_option, train_planned
from vectors.trainer import table_dir

SHUFFLED_TABLE = "shuffled"
DEFAULT_TOKENS = 400_000  # per run: about 0.65 epochs of the default corpus
SHUFFLE_SEED = 1234
DEFAULT_X_MAX = 10.0  # GloVe's x_max for tables pretrained here: 10 suits corpora of a few million tokens


@dataclass(frozen=True)
class Variant:
    """One arm of the study: its name and the GPT config fields that make it."""

    name: str
    fields: dict

    @property
    def table(self) -> str | None:
        return self.fields.get("table")


def token_variants(controls: bool) -> list[Variant]:
    variants = [Variant("learned", {"embedding": "learned"})]
    for method in METHODS:
        variants += [Variant(f"{method}-init", {"embedding": "init", "table": method}),
                     Variant(f"{method}-frozen", {"embedding": "frozen", "table": method})]
    if controls:
        variants += [Variant("shuffled-init", {"embedding": "init", "table": SHUFFLED_TABLE}),
                     Variant("glove-init-raw", {"embedding": "init", "table": "glove", "rescale": False})]
    return variants


def position_variants() -> list[Variant]:
    return [Variant(f"pos-{p}", {"embedding": "learned", "position": p})
            for p in ("learned", "sinusoidal", "rope", "alibi", "none")]


def ensure_tables(run_dir: Path, prepared: PreparedCorpus, variants: list[Variant], seeds: int, dim: int,
                  x_max: float | None, log) -> dict[str, list[dict]]:
    """Make sure the run has, for every seed k of the study, the tables the variants need trained with seed
    k on this very corpus; returns each needed method's reports, one per seed.

    Seed 0's table (``embeddings/<method>.npz``, what ``make pretrain`` wrote) keeps its settings, but must
    have dim ``dim`` (and, for GloVe, ``x_max`` when given): otherwise one line says so before anything is
    trained. A table trained on another corpus (stale) is retrained with its settings; a missing one is
    pretrained with pretrain's defaults at ``dim`` and ``x_max`` (10 when not given). The other seeds' tables
    are trained with seed 0's very config, only the seed changed, so the tables differ by their randomness.
    """
    from pipelines.methods import config_from_dict
    from pipelines.pretrain import trainer_defaults, train_table

    needed = {v.table for v in variants if v.table}
    methods = [m for m in METHODS if m in needed or (SHUFFLED_TABLE in needed and m == "skipgram")]
    first = table_dir(run_dir, 0)
    configs = {}
    for method in methods:
        report = first / f"{method}.json"
        if (first / f"{method}.npz").exists() and report.exists():
            config = config_from_dict(method, json.loads(report.read_text(encoding="utf-8"))["config"])
        else:
            defaults = dict(trainer_defaults(), dim=dim, x_max=DEFAULT_X_MAX if x_max is None else x_max, seed=0)
            config = build_config(method, defaults)
        if config.dim != dim:
            raise InputError(f"{first / method}.npz has dim {config.dim} but --dim is {dim}: retrain it (`python -m "
                             f"pipelines.pretrain --methods {method} --dim {dim}`) or pass --dim {config.dim}")
        if method == "glove" and x_max is not None and config.x_max != x_max:
            raise InputError(f"{first / method}.npz was trained with x_max {config.x_max:g}, not {x_max:g}: "
                             f"retrain it (`python -m pipelines.pretrain --methods glove --x-max {x_max:g}`)")
        configs[method] = config
    reports = {m: [] for m in methods}
    for seed in range(seeds):
        for method in methods:
            config = dataclasses.replace(configs[method], seed=seed)
            reports[method].append(train_table(run_dir, prepared, method, config, log=log))
    if SHUFFLED_TABLE in needed:
        for seed in range(seeds):
            write_shuffled_table(run_dir, seed, log)
    return reports


def write_shuffled_table(run_dir: Path, seed: int, log) -> None:
    """``shuffled.npz`` beside seed ``seed``'s skip-gram table: its rows (and trained flags) permuted among
    the words by a permutation of that seed, rebuilt when the skip-gram table changes."""
    from vectors import EmbeddingTable

    directory = table_dir(run_dir, seed)
    source = EmbeddingTable.load(directory / "skipgram.npz")
    digest = hashlib.sha256(source.matrix.tobytes()).hexdigest()
    target = directory / f"{SHUFFLED_TABLE}.npz"
    if target.exists():
        try:
            if EmbeddingTable.load(target).meta.get("source_sha256") == digest:
                return
        except InputError:
            pass
    permutation = np.random.default_rng([SHUFFLE_SEED, seed]).permutation(len(source))
    meta = {"method": SHUFFLED_TABLE, "source": "skipgram", "source_sha256": digest,
            "config": {"seed": seed, "permutation_seed": [SHUFFLE_SEED, seed]},
            "corpus_hash": source.meta.get("corpus_hash")}
    source.subset(permutation, words=list(source.words), meta=meta).save(target)
    log(f"shuffled: skip-gram rows of seed {seed} permuted among the words -> {target}")


def plan_study(run_dir: Path, prepared: PreparedCorpus, variants: list[Variant], seeds: int, base_config,
               fresh: bool = False, log=click.echo) -> list[tuple[str, object]]:
    """Every run of the study (seed-major, so a partial study is balanced), planned and checked before any
    trains: tables found and aligned, no finished run of other settings in the way unless ``fresh``."""
    from gpt.runs import check_run_directory, plan_run

    planned = [(f"{variant.name} seed {seed}",
                plan_run(run_dir, base_config.replace(seed=seed, **variant.fields), variant.name, prepared=prepared,
                         log=log))
               for seed in range(seeds) for variant in variants]
    for _, run in planned:
        check_run_directory(run.files, run.record, fresh)
    return planned


def run_study(run_dir: Path, prepared: PreparedCorpus, variants: list[Variant], seeds: int, base_config,
              device: str, quiet: bool, fresh: bool = False, log=click.echo, jobs: int | str = 1,
              threads: int | None = None) -> dict[str, list[dict]]:
    """Train every variant for every seed (:func:`plan_study`, then :func:`train_planned`); returns results."""
    planned = plan_study(run_dir, prepared, variants, seeds, base_config, fresh, log)
    results: dict[str, list[dict]] = {v.name: [] for v in variants}
    for (_, run), result in zip(planned, train_planned(planned, device, quiet, fresh, log, jobs, threads)):
        results[run.record["variant"]].append(result)
    return results


@click.command()
@run_dir_option
@click.option("--seeds", type=COUNT, default=3, show_default=True,
              help="Seeds per variant, paired across variants; seed k uses tables pretrained with seed k.")
@click.option("--tokens", type=TokenCount(), default=DEFAULT_TOKENS, show_default=True,
              help="Training tokens per run (400000, 400k and 4e5 all work).")
@click.option("--positions", is_flag=True, help="Compare position embeddings (learned tokens) instead.")
@click.option("--controls", is_flag=True, help="Add shuffled-init and glove-init-raw.")
@click.option("--dim", type=COUNT, default=128, show_default=True, help="d_model, and the dim of tables pretrained here.")
@click.option("--x-max", type=float, default=None,
              help="GloVe x_max of the tables: checked against the run's GloVe table, used when it is pretrained "
                   "here [10, which suits small corpora].")
@click.option("--layers", type=COUNT, default=None, help="Transformer blocks [GPT default].")
@click.option("--heads", type=COUNT, default=None, help="Attention heads [GPT default].")
@click.option("--context", type=COUNT, default=None, help="Tokens per window [GPT default].")
@click.option("--batch-size", type=COUNT, default=None, help="Windows per step [GPT default].")
@click.option("--evals", type=COUNT, default=None, help="Val evaluations per run after step 0, geometrically "
                                                         "spaced [GPT default].")
@click.option("--eval-windows", type=COUNT, default=None, help="Windows in the fixed val sample [GPT default].")
@click.option("--checkpoint-interval", type=COUNT, default=None, help="Steps between checkpoints [GPT default].")
@device_option
@click.option("--fresh", is_flag=True, help="Train every run of the study again, replacing finished runs (also "
                                           "those made with other settings).")
@jobs_option
@threads_option
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write one self-contained train_gpt command per run still to train into this file (for a "
                   "SLURM array, GNU parallel, ...) instead of training; rerun without --plan to summarize.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@handle_errors
def cli(run_dir: Path, seeds: int, tokens: int, positions: bool, controls: bool, dim: int, x_max: float | None,
        layers: int | None, heads: int | None, context: int | None, batch_size: int | None,
        evals: int | None, eval_windows: int | None, checkpoint_interval: int | None, device: str,
        fresh: bool, jobs: int | str, threads_per_run: int | None, plan_file: Path | None, quiet: bool) -> None:
    """Pretrained tables (init or frozen) against the jointly learned embedding, at equal budgets."""
    from gpt.config import GPTConfig

    if positions and controls:
        raise InputError("--controls belongs to the token-embedding study, not --positions")
    given = {"n_layer": layers, "n_head": heads, "context": context, "batch_size": batch_size, "evals": evals,
             "eval_windows": eval_windows, "checkpoint_interval": checkpoint_interval}
    base = GPTConfig(d_model=dim, tokens=tokens, **{k: v for k, v in given.items() if v is not None})
    device = resolve_device(device)
    with run_lock(run_dir):
        study(Path(run_dir), base, seeds, positions, controls, x_max, device, fresh, quiet, jobs, threads_per_run,
              plan_file)


def study(run_dir: Path, base, seeds: int, positions: bool, controls: bool, x_max: float | None, device: str,
          fresh: bool, quiet: bool, jobs: int | str = 1, threads: int | None = None,
          plan_file: Path | None = None) -> dict | None:
    """Tables, runs and summary of one study (the caller holds the run's lock); returns the summary, or
    None after writing ``plan_file`` instead of training."""
    from corpus.atomic import atomic_file
    from pipelines.summary import write_summary

    prepared = PreparedCorpus.open(run_dir / "corpus")
    variants = position_variants() if positions else token_variants(controls)
    reports = {} if positions else ensure_tables(run_dir, prepared, variants, seeds, base.d_model, x_max,
                                                 click.echo)
    if plan_file is not None:
        commands = plan_commands(plan_study(run_dir, prepared, variants, seeds, base, fresh), device, fresh)
        with atomic_file(plan_file, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in commands))
        click.echo(f"plan: {len(commands)} run(s) to train, one command per line, in {plan_file}; rerun this "
                   "command without --plan once they are done, to summarize")
        return None
    results = run_study(run_dir, prepared, variants, seeds, base, device, quiet=not show_progress(quiet),
                        fresh=fresh, jobs=jobs, threads=threads)
    out = run_dir / ("compare-positions" if positions else "compare")
    summary = write_summary(out, run_dir, variants, results, reports, base, seeds, device)
    click.echo(f"summary: {out / 'summary.md'}")
    for name, row in summary["variants"].items():
        verdict = row["verdict"] or "baseline"
        click.echo(f"  {name:16s} test loss {row['test_loss']['mean']:.4f}  {verdict}")
    return summary


if __name__ == "__main__":
    main_entry(cli)
