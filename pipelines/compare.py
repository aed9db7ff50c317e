"""``python -m pipelines.compare``: the same small GPT with each token embedding, several seeds, one summary.

Variants (ARCHITECTURE.md): ``learned`` (the baseline), ``<method>-init`` and ``<method>-frozen`` for cbow,
skipgram and glove; ``--controls`` adds ``shuffled-init`` (skip-gram rows permuted among the words: same
scale, no meaning) and ``glove-init-raw`` (GloVe not rescaled); ``--positions`` compares position embeddings
with learned tokens instead (``pos-learned`` is then the baseline). Every variant gets the same token budget
and, per seed, the same batches and the same init of every weight but the token embedding. Finished runs
are skipped and interrupted ones resume, so rerunning the command only does what is missing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from corpus.errors import InputError
from corpus.prepared import PreparedCorpus
from pipelines.common import device_option, handle_errors, main_entry, resolve_device, run_dir_option, show_progress
from pipelines.methods import METHODS

SHUFFLED_TABLE = "shuffled"
DEFAULT_TOKENS = 400_000  # per run: 21 runs of the default study fit in about 15 minutes on 2 CPU cores
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


def ensure_tables(run_dir: Path, prepared: PreparedCorpus, variants: list[Variant], dim: int, x_max: float,
                  log) -> dict:
    """Pretrain the tables the variants need and the run lacks (pretrain's defaults at ``dim``); tables
    already there are used as they are, whatever settings made them. Returns every needed table's report."""
    from pipelines.pretrain import trainer_defaults, train_tables

    needed = {v.table for v in variants if v.table}
    methods = [m for m in METHODS if m in needed or (SHUFFLED_TABLE in needed and m == "skipgram")]
    embeddings = Path(run_dir) / "embeddings"
    missing = [m for m in methods if not (embeddings / f"{m}.npz").exists() or not (embeddings / f"{m}.json").exists()]
    if missing:
        options = dict(trainer_defaults(), dim=dim, x_max=x_max)
        train_tables(run_dir, prepared, missing, options, log=log)
    if SHUFFLED_TABLE in needed:
        write_shuffled_table(run_dir, log)
    return {m: json.loads((embeddings / f"{m}.json").read_text(encoding="utf-8")) for m in methods}


def write_shuffled_table(run_dir: Path, log) -> None:
    """``embeddings/shuffled.npz``: skip-gram's rows permuted among the words (seeded), rebuilt when
    skip-gram's table changes."""
    from vectors import EmbeddingTable

    source = EmbeddingTable.load(Path(run_dir) / "embeddings" / "skipgram.npz")
    digest = hashlib.sha256(source.matrix.tobytes()).hexdigest()
    target = Path(run_dir) / "embeddings" / f"{SHUFFLED_TABLE}.npz"
    if target.exists():
        try:
            if EmbeddingTable.load(target).meta.get("source_sha256") == digest:
                return
        except InputError:
            pass
    permutation = np.random.default_rng(SHUFFLE_SEED).permutation(len(source))
    meta = {"method": SHUFFLED_TABLE, "source": "skipgram", "source_sha256": digest,
            "permutation_seed": SHUFFLE_SEED, "corpus_hash": source.meta.get("corpus_hash")}
    EmbeddingTable(list(source.words), source.matrix[permutation].copy(), meta).save(target)
    log(f"shuffled: skip-gram rows permuted among the words -> {target}")


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
@click.option("--seeds", type=int, default=3, show_default=True, help="Seeds per variant (paired across variants).")
@click.option("--tokens", type=int, default=None, help=f"Training tokens per run [{DEFAULT_TOKENS:,}].")
@click.option("--positions", is_flag=True, help="Compare position embeddings (learned tokens) instead.")
@click.option("--controls", is_flag=True, help="Add shuffled-init and glove-init-raw.")
@click.option("--dim", type=int, default=128, show_default=True, help="d_model, and the dim of tables pretrained here.")
@click.option("--x-max", type=float, default=10.0, show_default=True,
              help="GloVe x_max, used only when the GloVe table is missing and pretrained here.")
@click.option("--layers", type=int, default=None, help="Transformer blocks [GPT default].")
@click.option("--heads", type=int, default=None, help="Attention heads [GPT default].")
@click.option("--context", type=int, default=None, help="Tokens per window [GPT default].")
@click.option("--batch-size", type=int, default=None, help="Windows per step [GPT default].")
@click.option("--eval-interval", type=int, default=None, help="Steps between val evaluations [GPT default].")
@device_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
@handle_errors
def cli(run_dir: Path, seeds: int, tokens: int | None, positions: bool, controls: bool, dim: int, x_max: float,
        layers: int | None, heads: int | None, context: int | None, batch_size: int | None,
        eval_interval: int | None, device: str, quiet: bool) -> None:
    """Pretrained tables (init or frozen) against the jointly learned embedding, at equal budgets."""
    from gpt.config import GPTConfig
    from pipelines.summary import write_summary

    if seeds < 1:
        raise InputError(f"--seeds must be at least 1, not {seeds}")
    if positions and controls:
        raise InputError("--controls belongs to the token-embedding study, not --positions")
    device = resolve_device(device)
    prepared = PreparedCorpus.open(Path(run_dir) / "corpus")
    given = {"n_layer": layers, "n_head": heads, "context": context, "batch_size": batch_size,
             "eval_interval": eval_interval}
    base = GPTConfig(d_model=dim, tokens=tokens or DEFAULT_TOKENS,
                     **{k: v for k, v in given.items() if v is not None})
    variants = position_variants() if positions else token_variants(controls)
    reports = {} if positions else ensure_tables(Path(run_dir), prepared, variants, dim, x_max, click.echo)
    results = run_study(Path(run_dir), variants, seeds, base, device, quiet=not show_progress(quiet))
    out = Path(run_dir) / ("compare-positions" if positions else "compare")
    summary = write_summary(out, Path(run_dir), variants, results, reports, base, seeds, device)
    click.echo(f"summary: {out / 'summary.md'}")
    for name, row in summary["variants"].items():
        verdict = row["verdict"] or "baseline"
        click.echo(f"  {name:16s} test loss {row['test_loss']['mean']:.4f}  {verdict}")


if __name__ == "__main__":
    main_entry(cli)
