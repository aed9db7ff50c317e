"""The tables a study needs: the methods' configs, training one table into the run, and provisioning every
seed's tables before a study trains any GPT.

w2v/ and glove/ never import each other; they meet here. An option left unset (None) takes the method's own
default, so ``--window`` means 5 for word2vec and 10 for GloVe unless given.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
import json
import shutil
from pathlib import Path

import numpy as np

from base.cores import available_cores
from base.device import resolve_device
from base.errors import InputError
from base.layout import RunLayout

METHODS = ("cbow", "skipgram", "glove")
SHUFFLED_TABLE = "shuffled"
SHUFFLE_SEED = 1234
DEFAULT_X_MAX = 10.0  # GloVe's x_max for tables pretrained by a study: 10 suits corpora of a few million tokens

# pretrain's trainer options at their defaults: its click options and a study's tables both read them here
TRAINER_DEFAULTS = {"dim": 128, "window": None, "negative": 5, "noise": None, "sample": 1e-3, "epochs": None,
                    "alpha": None, "threads": None, "seed": 0, "export_vectors": None, "x_max": 100.0,
                    "memory_gb": 2.0, "device": "auto"}


def table_device(name: str) -> str:
    """The table trainers' device: ``auto`` means the CPU kernels, so a table does not depend on whether a
    GPU happens to be present; ``cuda`` must be asked for."""
    return "cpu" if name == "auto" else resolve_device(name)


def trainer_defaults() -> dict:
    """The trainer options of ``pretrain`` at their defaults, every core and the table device resolved."""
    options = dict(TRAINER_DEFAULTS, threads=available_cores())
    options["device"] = table_device(options["device"])
    return options


def _given(options: dict, *names: str) -> dict:
    """The options among ``names`` that were given a value (None means: the trainer's default)."""
    return {name: options[name] for name in names if options.get(name) is not None}


def build_config(method: str, options: dict):
    """The trainer config of ``method`` from the pretrain options (dim, window, epochs, seed, ...)."""
    if method == "glove":
        from glove.config import GloveConfig

        fields = _given(options, "dim", "window", "epochs", "seed", "threads", "x_max", "memory_gb", "device")
        if options.get("alpha") is not None:
            fields["lr"] = options["alpha"]  # --alpha is the initial learning rate for every method
        if options.get("export_vectors") is not None:
            fields["export_vectors"] = options["export_vectors"]
        return GloveConfig(**fields)
    if method in ("cbow", "skipgram"):
        from w2v.config import Word2VecConfig

        fields = _given(options, "dim", "window", "negative", "sample", "epochs", "alpha", "seed", "threads",
                        "export_vectors", "device", "noise")
        return Word2VecConfig(method=method, **fields)
    raise ValueError(f"unknown method {method!r}")


def config_from_dict(method: str, data: dict):
    """The trainer config of ``method`` saved as ``data`` (a table report's ``config``)."""
    if method == "glove":
        from glove.config import GloveConfig

        return GloveConfig.from_dict(data)
    if method in ("cbow", "skipgram"):
        from w2v.config import Word2VecConfig

        return Word2VecConfig.from_dict(data)
    raise ValueError(f"unknown method {method!r}")


def train_method(method: str, prepared, config, *, checkpoint_dir, progress: bool):
    """Train one table; returns a vectors.EmbeddingTable whose meta holds the report keys."""
    if method == "glove":
        from glove.train import train
    else:
        from w2v.train import train
    return train(prepared, config, checkpoint_dir=checkpoint_dir, progress=progress)


UP_TO_DATE_IGNORES = ("threads",)  # the same algorithm on another core count: not a reason to retrain
CURRENT, MISSING, STALE, OTHER, DAMAGED = "current", "missing", "stale", "other settings", "damaged"


@dataclass(frozen=True)
class TableState:
    """What a run holds where a table of some settings belongs: ``kind`` is one of CURRENT (this config on
    this corpus), MISSING, STALE (trained on another corpus), OTHER (other settings, ``why`` says which) or
    DAMAGED (a file missing, unreadable or corrupt; ``why`` says what)."""

    kind: str
    why: str = ""
    report: dict | None = None


def _settings(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in UP_TO_DATE_IGNORES}


def table_state(layout: RunLayout, method: str, seed: int, config_dict: dict, corpus_hash: str,
                fraction: float = 1.0) -> TableState:
    """Compare the table files of ``method``, ``seed`` and ``fraction`` with the table ``config_dict`` would
    make on the corpus of ``corpus_hash``; the table itself is loaded, so a truncated file is never taken as
    current."""
    from vectors import EmbeddingTable

    npz, report_path = (layout.table(method, seed, suffix, fraction) for suffix in (".npz", ".json"))
    if not npz.exists() and not report_path.exists():
        return TableState(MISSING)
    if not npz.exists() or not report_path.exists():
        return TableState(DAMAGED, f"{(report_path if npz.exists() else npz).name} is missing")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return TableState(DAMAGED, f"{report_path.name} is unreadable: {exc}")
    if not isinstance(report, dict) or not isinstance(report.get("config"), dict):
        return TableState(DAMAGED, f"{report_path.name} holds no config")
    try:
        EmbeddingTable.load(npz)
    except InputError as exc:
        return TableState(DAMAGED, str(exc).split(": ", 1)[-1])
    if report.get("corpus_hash") != corpus_hash:
        return TableState(STALE, "trained on another corpus", report)
    theirs, ours = _settings(report["config"]), _settings(config_dict)
    if theirs != ours:
        changed = [f"{k} {theirs.get(k)!r} there, {ours.get(k)!r} asked" for k in ours if theirs.get(k) != ours[k]]
        return TableState(OTHER, "; ".join(changed[:3]) or "another config", report)
    return TableState(CURRENT, report=report)


def retrain_hint(method: str, seed: int) -> str:
    seed_arg = f" --seed {seed}" if seed else ""
    return f"`python -m pipelines.pretrain --methods {method}{seed_arg} --force`"


def parse_methods(value: str) -> list[str]:
    methods = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(f"--methods takes a comma list of {', '.join(METHODS)}; got {value!r}")
    return list(dict.fromkeys(methods))


def train_tables(run_dir: Path, prepared: "PreparedCorpus", methods: list[str], options: dict,
                 force: bool = False, progress: bool = False, log=print) -> dict[str, dict]:
    """Train (or find up to date) each method's table with the options' seed; return the reports."""
    return {method: train_table(run_dir, prepared, method, build_config(method, options), force, progress, log)
            for method in methods}


def train_table(run_dir: Path, prepared: "PreparedCorpus", method: str, config, force: bool = False,
                progress: bool = False, log=print, fraction: float = 1.0) -> dict:
    """Train (or find up to date) one table of ``config`` into the run's directory for ``config.seed`` and
    ``fraction`` (:meth:`base.layout.RunLayout.tables`; ``prepared`` is then the fraction's
    :func:`corpus.fraction.fraction_view`): .npz, .txt and .json; return its report."""
    from base.atomic import write_json
    from vectors.formats import save_word2vec

    layout = RunLayout(run_dir)
    npz, txt, report = (layout.table(method, config.seed, suffix, fraction) for suffix in (".npz", ".txt", ".json"))
    if not force:  # --force retrains whatever is there, so the files need not be read
        state = table_state(layout, method, config.seed, config.to_dict(), prepared.content_hash, fraction)
        if state.kind == CURRENT:
            log(f"{method}: up to date ({npz})")
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


def ensure_tables(run_dir: Path, prepared: "PreparedCorpus", variants: list, seeds: int, dim: int,
                  x_max: float | None, log, threads: int | None = None, fresh: bool = False,
                  fractions: tuple = (1.0,), settings_from: Path | None = None) -> dict[str, list[dict]]:
    """Make sure the run has, for every seed k of the study, the tables the variants need trained with seed
    k on this very corpus; returns each needed method's reports, one per seed (per fraction, then seed).

    Seed 0's table (``embeddings/<method>.npz``, what ``make pretrain`` wrote) keeps its settings, but must
    have dim ``dim`` (and, for GloVe, ``x_max`` when given). A table trained on another corpus (stale) is
    retrained with its settings; a missing one is pretrained with pretrain's defaults at ``dim`` and ``x_max``
    (10 when not given). The other seeds' tables are trained with seed 0's very config, only the seed changed,
    so the tables differ by their randomness; ``threads`` (a study's ``--threads-per-run``), when given, is
    the thread count of every table trained here, so that the study's thread rule covers its tables too.
    ``fractions`` below 1: tables of the same config pretrained on that fraction of the train split (the
    documents seed k chooses, :func:`corpus.fraction.fraction_view`), so they differ from the run's tables by
    their text alone. ``settings_from``: the run directory whose seed-0 tables give the config (default: this
    one), so a second corpus's tables (``table-corpus/``) are made with the run's settings.
    Every table is checked before any is trained: a damaged one, or one of other settings where a seed's
    table belongs (unless ``fresh``), is one line naming the file and the remedy.
    """
    from corpus.fraction import fraction_view

    needed = {v.table for v in variants if v.table}
    methods = [m for m in METHODS if m in needed or (SHUFFLED_TABLE in needed and m == "skipgram")]
    layout = RunLayout(run_dir)
    settings = RunLayout(settings_from or run_dir)
    configs = {m: _seed0_config(settings, m, dim, x_max, threads) for m in methods}
    wanted = []  # (method, config, fraction, corpus, state) of every table, all checked before any is trained
    for fraction in fractions:
        for seed in range(seeds):
            corpus = fraction_view(prepared, fraction, seed)
            for method in methods:
                config = dataclasses.replace(configs[method], seed=seed)
                state = table_state(layout, method, seed, config.to_dict(), corpus.content_hash, fraction)
                path = layout.table(method, seed, fraction=fraction)
                if state.kind == DAMAGED and not fresh:
                    hint = retrain_hint(method, seed) if fraction == 1.0 and settings_from is None else "delete it"
                    raise InputError(f"{path} is damaged ({state.why}): {hint} or pass --fresh")
                if state.kind == OTHER and not fresh:
                    raise InputError(f"{path} holds a table of other settings ({state.why}); pass --fresh to "
                                     "replace it, or use another --run-dir")
                wanted.append((method, config, fraction, corpus, state))
    reports = {m: [] for m in methods}
    for method, config, fraction, corpus, state in wanted:
        if state.kind == CURRENT:
            log(f"{method}: up to date ({layout.table(method, config.seed, fraction=fraction)})")
            reports[method].append(state.report)
        else:
            reports[method].append(train_table(run_dir, corpus, method, config, log=log, fraction=fraction))
    if SHUFFLED_TABLE in needed:
        for seed in range(seeds):
            write_shuffled_table(run_dir, seed, log)
    return reports


def _seed0_config(layout: RunLayout, method: str, dim: int, x_max: float | None, threads: int | None):
    """The config of a study's tables of ``method``: seed 0's own (from its report), else pretrain's
    defaults at ``dim`` and ``x_max``; InputError when seed 0's table does not fit the study."""
    first, report = layout.table(method, 0), layout.table(method, 0, ".json")
    if first.exists() and report.exists():
        try:
            config = config_from_dict(method, json.loads(report.read_text(encoding="utf-8"))["config"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, InputError) as exc:
            raise InputError(f"{report} is damaged ({type(exc).__name__}): retrain it with "
                             f"{retrain_hint(method, 0)}") from None
    else:
        defaults = dict(trainer_defaults(), dim=dim, x_max=DEFAULT_X_MAX if x_max is None else x_max, seed=0)
        config = build_config(method, defaults)
    if config.dim != dim:
        raise InputError(f"{first} has dim {config.dim} but --dim is {dim}: retrain it (`python -m "
                         f"pipelines.pretrain --methods {method} --dim {dim}`) or pass --dim {config.dim}")
    if method == "glove" and x_max is not None and config.x_max != x_max:
        raise InputError(f"{first} was trained with x_max {config.x_max:g}, not {x_max:g}: "
                         f"retrain it (`python -m pipelines.pretrain --methods glove --x-max {x_max:g}`)")
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


