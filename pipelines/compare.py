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
import time
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
from vectors.trainer import available_cores, table_dir

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


jobs_option = click.option(
    "--jobs", type=COUNT, default=1, show_default=True,
    help="Runs trained at once, each in a worker process with its share of the CPU threads (on CUDA, sharing "
         "the device). Results do not depend on it at a fixed --threads-per-run.")
threads_option = click.option(
    "--threads-per-run", type=COUNT, default=None,
    help="Torch threads of each run [the available cores / --jobs]; a run is bit-reproducible at a fixed value.")


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
              device: str, quiet: bool, fresh: bool = False, log=click.echo, jobs: int = 1,
              threads: int | None = None) -> dict[str, list[dict]]:
    """Train every variant for every seed (:func:`plan_study`, then :func:`train_planned`); returns results."""
    planned = plan_study(run_dir, prepared, variants, seeds, base_config, fresh, log)
    results: dict[str, list[dict]] = {v.name: [] for v in variants}
    for (_, run), result in zip(planned, train_planned(planned, device, quiet, fresh, log, jobs, threads)):
        results[run.record["variant"]].append(result)
    return results


def train_planned(planned: list[tuple[str, object]], device: str, quiet: bool, fresh: bool, log, jobs: int = 1,
                  threads: int | None = None) -> list[dict]:
    """Train (or find finished) each ``(label, planned run)`` and return their results in plan order.

    ``jobs`` runs train at once, each in a worker process of its own with ``threads`` torch threads (default:
    the available cores shared out); a run's result does not depend on ``jobs`` at a fixed ``threads``.
    One line per run as it ends, ``[7/21] glove-init seed 1: test loss 5.3200, 54 s, ETA 9 min``, the ETA
    from the tokens still to train at the pace so far (a finished run says "done before"). A failing run
    stops the study with its own error; the runs that finished are kept, and a rerun resumes the rest.
    """
    from gpt.runs import finished_result
    from gpt.train import train

    threads = threads or max(1, available_cores() // jobs)
    finished = [None if fresh else finished_result(run.files, run.record) for _, run in planned]
    pending = [i for i, result in enumerate(finished) if result is None]
    todo = sum(_tokens(planned[i][1]) for i in pending)
    progress = _Progress(len(planned), todo, log)
    results: list = list(finished)
    for i, result in enumerate(finished):
        if result is not None:
            progress.report(planned[i][0], result, None, 0)
    if jobs == 1 or len(pending) < 2:
        import torch

        torch.set_num_threads(threads)
        for i in pending:
            began = time.perf_counter()
            _, run = planned[i]
            results[i] = train(run.prepared, run.config, run.files, run.record, run.table, device, quiet=quiet,
                               fresh=fresh, log=lambda message: None)
            progress.report(planned[i][0], results[i], time.perf_counter() - began, _tokens(run))
        return results
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_train_in_worker, planned[i][1].files.directory.parents[2],
                               planned[i][1].config.to_dict(), planned[i][1].record["variant"], device, fresh): i
                   for i in pending}
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    pool.shutdown(wait=True, cancel_futures=True)  # the running ones finish and are kept
                    raise error
                i = futures[future]
                results[i], seconds = future.result()
                progress.report(planned[i][0], results[i], seconds, _tokens(planned[i][1]))
    return results


def plan_commands(planned: list[tuple[str, object]], device: str, fresh: bool = False) -> list[str]:
    """One self-contained ``python -m pipelines.train_gpt`` command per run still to train: the very run a
    worker would train (same record), idempotent (a finished run is skipped, a begun one resumes), for a
    cluster scheduler to run anywhere the project is installed and the run directory is shared."""
    import shlex

    from gpt.config import GPTConfig
    from gpt.runs import finished_result

    defaults = GPTConfig()
    fixed = ("init_std", "min_lr_ratio", "beta1", "beta2", "grad_clip", "frequent_words", "rope_base", "bias")
    commands = []
    for _, run in planned:
        if not fresh and finished_result(run.files, run.record) is not None:
            continue
        c = run.config
        if any(getattr(c, name) != getattr(defaults, name) for name in fixed):
            raise InputError(f"{run.files.directory}: its settings have no train_gpt flag; train it without --plan")
        embedding = c.embedding if c.embedding == "learned" else f"{c.embedding}:{c.table}"
        args = ["python", "-m", "pipelines.train_gpt", "--run-dir", str(run.files.directory.parents[2].resolve()),
                "--variant", run.record["variant"], "--seed", c.seed, "--embedding", embedding,
                "--position", c.position, "--tokens", c.tokens, "--d-model", c.d_model, "--layers", c.n_layer,
                "--heads", c.n_head, "--context", c.context, "--batch-size", c.batch_size, "--dropout", c.dropout,
                "--lr", c.lr, "--warmup-fraction", c.warmup_fraction, "--weight-decay", c.weight_decay,
                "--evals", c.evals, "--eval-windows", c.eval_windows, "--checkpoint-interval",
                c.checkpoint_interval, "--device", device, "--quiet"]
        args += (["--table-seed", c.table_seed] if c.table_seed is not None else []) + \
            ([] if c.rescale else ["--no-rescale"]) + (["--project"] if c.project else []) + \
            (["--fresh"] if fresh else [])
        commands.append(" ".join(shlex.quote(repr(a) if isinstance(a, float) else str(a)) for a in args))
    return commands


def _tokens(run) -> int:
    return run.config.steps * run.config.tokens_per_step


class _Progress:
    """The study's one line per finished run, with an ETA from the tokens trained so far."""

    def __init__(self, total: int, todo: int, log):
        self.total, self.todo, self.log = total, todo, log
        self.count, self.done, self.started = 0, 0, time.perf_counter()

    def report(self, label: str, result: dict, seconds: float | None, tokens: int) -> None:
        self.count += 1
        self.done += tokens
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.todo - self.done) if self.done else 0.0
        how = "done before" if seconds is None else f"{seconds:.0f} s"
        self.log(f"[{self.count}/{self.total}] {label}: test loss {result['test_loss']:.4f}, {how}, "
                 f"ETA {eta / 60:.0f} min")


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _train_in_worker(run_dir: Path, config: dict, variant: str, device: str, fresh: bool) -> tuple[dict, float]:
    """One run in a worker process: planned again from its config (nothing large crosses processes)."""
    from gpt.config import GPTConfig
    from gpt.runs import plan_run
    from gpt.train import train

    began = time.perf_counter()
    silent = lambda message: None  # noqa: E731
    run = plan_run(run_dir, GPTConfig.from_dict(config), variant, log=silent, warn=silent)
    result = train(run.prepared, run.config, run.files, run.record, run.table, device, quiet=True, fresh=fresh,
                   log=silent)
    return result, time.perf_counter() - began


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
        fresh: bool, jobs: int, threads_per_run: int | None, plan_file: Path | None, quiet: bool) -> None:
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
          fresh: bool, quiet: bool, jobs: int = 1, threads: int | None = None,
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
    results = run_study(run_dir, prepared, variants, seeds, base, device, quiet=jobs > 1 or not show_progress(quiet),
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
