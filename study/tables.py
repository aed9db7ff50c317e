"""Provisioning a study's tables: training one table into the run, and making sure every seed's tables
exist and fit before a study trains any GPT (configs: :mod:`study.table_configs`; up-to-date checks:
:mod:`study.table_state`; where a table comes from: :mod:`study.sources`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from base.errors import InputError, other_settings_error
from base.layout import TABLE_SUFFIXES, RunLayout
from study.table_configs import (DEFAULT_X_MAX, METHODS, SHUFFLE_SEED, SHUFFLED_TABLE, build_config,
                                 config_from_dict, method_of, train_method, trainer_defaults)
from study.table_state import CURRENT, DAMAGED, OTHER, retrain_hint, table_state


def train_tables(run_dir: Path, prepared, methods: list[str], options: dict,
                 force: bool = False, progress: bool = False, log=print) -> dict[str, dict]:
    """Train (or find up to date) each method's table with the options' seed; return the reports."""
    return {method: train_table(run_dir, prepared, build_config(method, options), force=force, progress=progress,
                                log=log) for method in methods}


def train_table(run_dir: Path, prepared, config, fraction: float = 1.0, force: bool = False,
                progress: bool = False, log=print) -> dict:
    """Train (or find up to date) one table of trainer ``config`` into the run's directory for ``config.seed``
    and ``fraction`` (:meth:`base.layout.RunLayout.tables`; ``prepared`` is then the fraction's
    :func:`corpus.fraction.fraction_view`): .npz, .txt and .json; return its report."""
    from base.atomic import write_json
    from vectors.formats import save_word2vec

    layout, method = RunLayout(run_dir), method_of(config)
    npz, txt, report = (layout.table(method, config.seed, suffix, fraction) for suffix in TABLE_SUFFIXES)
    if not force:  # --force retrains whatever is there, so the files need not be read
        state = table_state(layout, method, config.seed, config.to_dict(), prepared.content_hash, fraction)
        if state.kind == CURRENT:
            state.fix(layout, method, config.seed, fraction)
            log(f"{method}: up to date ({npz}{'; its report rewritten from it' if state.repair else ''})")
            return state.report
        if state.kind == DAMAGED:
            log(f"{method}: {npz} is damaged ({state.why}); training it again")
    checkpoints = layout.checkpoints(method, config.seed, fraction)
    if force:
        shutil.rmtree(checkpoints, ignore_errors=True)  # --force trains from scratch, not from the last epoch
    table = train_method(method, prepared, config, checkpoint_dir=checkpoints, progress=progress)
    table.save(npz)
    save_word2vec(table, txt)
    write_json(report, table.meta)
    meta = table.meta
    heldout = [x for x in meta.get("heldout_loss_per_epoch", []) if x is not None]
    log(f"{method}: {len(table):,} x {table.dim} in {meta['train_seconds']:.1f}s "
        f"({meta['words_per_second']:,.0f} words/s), loss per epoch "
        + " ".join(f"{x:.4f}" for x in meta["loss_per_epoch"])
        + (", held-out " + " ".join(f"{x:.4f}" for x in heldout) if heldout else "") + f" -> {npz}")
    return meta


def table_methods(arms: list) -> list[str]:
    """The methods whose tables the arms need (the shuffled control needs skip-gram's)."""
    needed = {arm.table for arm in arms if arm.table}
    return [m for m in METHODS if m in needed or (SHUFFLED_TABLE in needed and m == "skipgram")]


def ensure_tables(settings, prepared, arms: list, source=None,
                  fractions: tuple = (1.0,)) -> dict[str, list[dict]]:
    """Make sure the run has, for every seed k of the study (:class:`study.settings.StudySettings`), the
    tables the arms need trained with seed k on this very corpus, where ``source``
    (:class:`study.sources.TableSource`, default the run's own) keeps them; returns each needed method's
    reports, one per seed (per fraction, then seed).

    Seed 0's table (``embeddings/<method>.npz``, what ``make pretrain`` wrote) keeps its settings, but must
    have the study's dim (and, for GloVe, its ``x_max`` when given). A table trained on another corpus (stale)
    is retrained with its settings; a missing one is pretrained with pretrain's defaults at the study's dim
    and ``x_max`` (10 when not given). The other seeds' tables are trained with seed 0's very config, only the
    seed changed, so the tables differ by their randomness; the study's ``threads``, when given, is the thread
    count of every table trained here, so that the study's thread rule covers its tables too.
    Same-text tables (``fractions`` below 1): the same config pretrained on that fraction of the train split
    (the documents seed k chooses, :func:`corpus.fraction.fraction_view`), so they differ from the run's tables
    by their text alone. Table-corpus tables: ``prepared`` is the second corpus, its tables are made with the
    run's seed-0 settings and live in ``table-corpus/``.
    Every table is checked before any is trained: a damaged one, or one of other settings where a seed's
    table belongs (unless ``fresh``), is one line naming the file and the remedy.
    """
    from study.sources import TableSource

    source = source or TableSource.RUN
    methods = table_methods(arms)
    layout = settings.layout.table_corpus if source is TableSource.TABLE_CORPUS else settings.layout
    configs = {m: _seed0_config(settings, m) for m in methods}
    wanted = _check_tables(settings, layout, prepared, configs, fractions)
    reports = {m: [] for m in methods}
    for config, fraction, corpus, state in wanted:
        method = method_of(config)
        if state.kind == CURRENT:
            state.fix(layout, method, config.seed, fraction)
            repaired = "; its report rewritten from it" if state.repair else ""
            settings.log(f"{method}: up to date ({layout.table(method, config.seed, fraction=fraction)}{repaired})")
            reports[method].append(state.report)
        else:
            reports[method].append(train_table(layout.root, corpus, config, fraction, log=settings.log))
    if SHUFFLED_TABLE in {arm.table for arm in arms}:
        for seed in range(settings.seeds):
            write_shuffled_table(layout.root, seed, settings.log)
    return reports


def _check_tables(settings, layout: RunLayout, prepared, configs: dict, fractions: tuple) -> list[tuple]:
    """(config, fraction, corpus, state) of every table of every seed, each checked: InputError for a
    damaged one or one of other settings (unless ``fresh``), before any table is trained."""
    from corpus.fraction import fraction_view

    wanted = []
    for fraction in fractions:
        for seed in range(settings.seeds):
            corpus = fraction_view(prepared, fraction, seed)
            for method, config in configs.items():
                config = dataclasses.replace(config, seed=seed)
                state = table_state(layout, method, seed, config.to_dict(), corpus.content_hash, fraction)
                path = layout.table(method, seed, fraction=fraction)
                if state.kind == DAMAGED and not settings.fresh:
                    run_table = fraction == 1.0 and layout == settings.layout
                    hint = retrain_hint(settings, method, seed) if run_table else \
                        f"delete {method}.npz, .txt and .json in {path.parent} and rerun (the study trains it again)"
                    raise InputError(f"{path} is damaged ({state.why}): {hint} or pass --fresh")
                if state.kind == OTHER and not settings.fresh:
                    raise other_settings_error(path, "a table", state.why)
                wanted.append((config, fraction, corpus, state))
    return wanted


def _seed0_config(settings, method: str):
    """The config of a study's tables of ``method``: the run's seed-0 table's own (from its report), else
    pretrain's defaults at the study's dim and ``x_max``; InputError when seed 0's table does not fit."""
    dim, x_max, threads = settings.dim, settings.tables.x_max, settings.threads
    first, report = settings.layout.table(method, 0), settings.layout.table(method, 0, ".json")
    if first.exists() and report.exists():
        try:
            config = config_from_dict(method, json.loads(report.read_text(encoding="utf-8"))["config"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, InputError) as exc:
            raise InputError(f"{report} is damaged ({type(exc).__name__}): retrain it with "
                             f"{retrain_hint(settings, method, 0)}") from None
    else:
        defaults = dict(trainer_defaults(), dim=dim, x_max=DEFAULT_X_MAX if x_max is None else x_max, seed=0)
        config = build_config(method, defaults)
    if config.dim != dim:
        raise InputError(f"{first} has dim {config.dim} but --dim is {dim}: retrain it with "
                         f"{retrain_hint(settings, method, 0)} or pass --dim {config.dim}")
    if method == "glove" and x_max is not None and config.x_max != x_max:
        raise InputError(f"{first} was trained with x_max {config.x_max:g}, not {x_max:g}: retrain it with "
                         f"{retrain_hint(settings, method, 0)}")
    return config if threads is None else dataclasses.replace(config, threads=threads)


def write_shuffled_table(run_dir: Path, seed: int, log) -> None:
    """``shuffled.npz`` beside seed ``seed``'s skip-gram table: its rows (and trained flags) permuted among
    the words by a permutation of that seed, rebuilt when the skip-gram table changes."""
    from vectors import EmbeddingTable

    layout = RunLayout(run_dir)
    source = EmbeddingTable.load(layout.table("skipgram", seed))
    digest = hashlib.sha256(source.matrix.tobytes()).hexdigest()
    target = layout.table(SHUFFLED_TABLE, seed)
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


