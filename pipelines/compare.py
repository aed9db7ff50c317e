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
from corpus.prepared import PreparedCorpus
from pipelines.common import (COUNT, TokenCount, device_option, handle_errors, main_entry, resolve_device,
                              run_dir_option, show_progress)
from pipelines.methods import METHODS
from vectors.trainer import table_dir

SHUFFLED_TABLE = "shuffled"
DEFAULT_TOKENS = 400_000  # per run: about 0.65 epochs of the default corpus
SHUFFLE_SEED = 1234


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
                  x_max: float, log) -> dict[str, list[dict]]:
    """Make sure the run has, for every seed k of the study, the tables the variants need trained with seed
    k; returns each needed method's reports, one per seed.

    Seed 0's table (``embeddings/<method>.npz``, what ``make pretrain`` wrote) is used as it is; when missing
    it is pretrained with pretrain's defaults at ``dim`` and ``x_max``. The other seeds' tables are trained
    with seed 0's very config, only the seed changed, so the tables differ by their randomness alone.
    """
    from pipelines.methods import config_from_dict
    from pipelines.pretrain import trainer_defaults, train_table, train_tables

    needed = {v.table for v in variants if v.table}
    methods = [m for m in METHODS if m in needed or (SHUFFLED_TABLE in needed and m == "skipgram")]
    first = table_dir(run_dir, 0)
    missing = [m for m in methods if not (first / f"{m}.npz").exists() or not (first / f"{m}.json").exists()]
    if missing:
        train_tables(run_dir, prepared, missing, dict(trainer_defaults(), dim=dim, x_max=x_max, seed=0), log=log)
    reports = {m: [json.loads((first / f"{m}.json").read_text(encoding="utf-8"))] for m in methods}
    for seed in range(1, seeds):
        for method in methods:
            config = dataclasses.replace(config_from_dict(method, reports[method][0]["config"]), seed=seed)
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


def run_study(run_dir: Path, variants: list[Variant], seeds: int, base_config, device: str, quiet: bool,
              log=click.echo) -> dict[str, list[dict]]:
    """Train every variant for every seed (seed-major, so a partial study is balanced); returns results."""
    from gpt.train import train_variant

    results: dict[str, list[dict]] = {v.name: [] for v in variants}
    for seed in range(seeds):
        for variant in variants:
            config = base_config.replace(seed=seed, **variant.fields)
            result = train_variant(run_dir, config, variant=variant.name, device=device, quiet=quiet, log=log)
            results[variant.name].append(result)
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
@click.option("--x-max", type=float, default=10.0, show_default=True,
              help="GloVe x_max, used only when the GloVe table is missing and pretrained here.")
@click.option("--layers", type=COUNT, default=None, help="Transformer blocks [GPT default].")
@click.option("--heads", type=COUNT, default=None, help="Attention heads [GPT default].")
@click.option("--context", type=COUNT, default=None, help="Tokens per window [GPT default].")
@click.option("--batch-size", type=COUNT, default=None, help="Windows per step [GPT default].")
@click.option("--evals", type=COUNT, default=None, help="Val evaluations per run after step 0, geometrically "
                                                         "spaced [GPT default].")
@click.option("--eval-windows", type=COUNT, default=None, help="Windows in the fixed val sample [GPT default].")
@click.option("--checkpoint-interval", type=COUNT, default=None, help="Steps between checkpoints [GPT default].")
@device_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
@handle_errors
def cli(run_dir: Path, seeds: int, tokens: int, positions: bool, controls: bool, dim: int, x_max: float,
        layers: int | None, heads: int | None, context: int | None, batch_size: int | None,
        evals: int | None, eval_windows: int | None, checkpoint_interval: int | None, device: str,
        quiet: bool) -> None:
    """Pretrained tables (init or frozen) against the jointly learned embedding, at equal budgets."""
    from gpt.config import GPTConfig
    from pipelines.summary import write_summary

    if positions and controls:
        raise InputError("--controls belongs to the token-embedding study, not --positions")
    device = resolve_device(device)
    prepared = PreparedCorpus.open(Path(run_dir) / "corpus")
    given = {"n_layer": layers, "n_head": heads, "context": context, "batch_size": batch_size,
             "evals": evals, "eval_windows": eval_windows, "checkpoint_interval": checkpoint_interval}
    base = GPTConfig(d_model=dim, tokens=tokens,
                     **{k: v for k, v in given.items() if v is not None})
    variants = position_variants() if positions else token_variants(controls)
    reports = {} if positions else ensure_tables(Path(run_dir), prepared, variants, seeds, dim, x_max, click.echo)
    results = run_study(Path(run_dir), variants, seeds, base, device, quiet=not show_progress(quiet))
    out = Path(run_dir) / ("compare-positions" if positions else "compare")
    summary = write_summary(out, Path(run_dir), variants, results, reports, base, seeds, device)
    click.echo(f"summary: {out / 'summary.md'}")
    for name, row in summary["variants"].items():
        verdict = row["verdict"] or "baseline"
        click.echo(f"  {name:16s} test loss {row['test_loss']['mean']:.4f}  {verdict}")


if __name__ == "__main__":
    main_entry(cli)
