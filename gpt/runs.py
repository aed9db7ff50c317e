"""One GPT run before it trains: where its files live, the record that identifies it, and the checks that
keep a finished result from being overwritten by a run of other settings.

A run's record (config, vocabulary size, corpus hash, table file and digest) says which run a directory
holds: equal records mean a finished run is skipped and a checkpoint resumed; a directory holding a run of
another record is refused unless the caller asks for a fresh start.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import sys
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from base.errors import InputError, other_settings_error
from base.layout import RunFiles, RunLayout  # noqa: F401 (RunFiles: a run's files, re-exported)
from gpt.config import FORMAT_VERSION, GPTConfig
from gpt.embedding import AlignedTable, align_table


@dataclass(frozen=True)
class TableInput:
    """A table as its caller hands it to a run: the ``vectors.EmbeddingTable``; what the run's record says of
    its file (``{"file": path, "file_sha256": ...}``, or ``{"file": None}`` for a table made in memory); and
    whether it was pretrained on other text than the run's corpus on purpose (the record then says which,
    instead of a warning)."""

    table: object
    file: dict = dataclasses.field(default_factory=lambda: {"file": None})
    other_text: bool = False


def make_record(config: GPTConfig, variant: str, vocab_size: int, corpus_hash: str,
                table: AlignedTable | None, file: dict | None) -> dict:
    """What identifies a run: equal records mean a finished run is skipped and a checkpoint resumed.

    ``file``: what :attr:`TableInput.file` says of the table's file."""
    return {
        "format_version": FORMAT_VERSION,
        "variant": variant,
        "config": config.to_dict(),
        "vocab_size": vocab_size,
        "corpus_hash": corpus_hash,
        "table": None if table is None else {"name": config.table, **(file or {"file": None}),
                                             "trainable_rows": int(table.trainable.sum()), **table.summary()},
        "head": "tied" if config.head_tied else "untied",
    }


def _damaged(path: Path, why: str, files: RunFiles) -> InputError:
    return InputError(f"{path} of a finished run is damaged ({why}); delete {files.directory} and rerun the same "
                      "command to train that run again")


def read_result(files: RunFiles) -> dict | None:
    """The run's ``result.json`` as a dict, None when there is none; InputError when it is damaged
    (unreadable, not an object, or without a finite test loss)."""
    if not files.result.is_file():
        return None
    try:
        result = json.loads(files.result.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _damaged(files.result, f"{type(exc).__name__}: {exc}", files) from None
    if not isinstance(result, dict) or not isinstance(result.get("record"), dict):
        raise _damaged(files.result, "not a result object", files)
    for key in RESULT_NUMBERS:
        value = result.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _damaged(files.result, f"its {key} is {value!r}", files)
    return result


RESULT_NUMBERS = ("test_loss", "trainable_token_rows", "trainable_parameters", "tokens", "steps")


def curve_digest(data: bytes) -> dict:
    """What a result records of its curve, so that a damaged curve is noticed when it is read: its row count
    and the sha256 of every column but the last, the wall-clock seconds (so that two identical runs record
    the same digest)."""
    lines = data.decode("utf-8").splitlines()
    kept = "\n".join(line.rsplit(",", 1)[0] for line in lines).encode("utf-8")
    return {"rows": len(lines) - 1, "sha256": hashlib.sha256(kept).hexdigest()}


def read_curve(files: RunFiles, result: dict) -> tuple[list[float], list[float]]:
    """(tokens, val_loss) of a finished run's ``curve.csv``, checked against its result: the digest it
    recorded, or (a run finished before results recorded one) one row per evaluation of its schedule.
    InputError naming the file when it is damaged."""
    try:
        data = files.curve.read_bytes()
    except OSError as exc:
        raise _damaged(files.curve, exc.strerror or type(exc).__name__, files) from None
    recorded = result.get("curve")
    try:
        if isinstance(recorded, dict) and curve_digest(data) != recorded:
            raise _damaged(files.curve, "it differs from the curve its result recorded", files)
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        tokens = [float(r["tokens"]) for r in rows]
        losses = [float(r["val_loss"]) for r in rows]
    except (UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise _damaged(files.curve, f"{type(exc).__name__}: {exc}", files) from None
    try:
        expected = len(GPTConfig.from_dict(result["record"]["config"]).eval_steps())
    except (KeyError, TypeError, InputError) as exc:
        raise _damaged(files.result, f"its record holds no valid config ({type(exc).__name__})", files) from None
    if len(rows) != expected or not all(math.isfinite(x) for x in tokens):
        raise _damaged(files.curve, f"{len(rows)} rows, its schedule has {expected}", files)
    return tokens, losses


def finished_result(files: RunFiles, record: dict) -> dict | None:
    """The result of a finished run with this record, its curve checked; None when none finished here with
    this record; InputError when its files are damaged."""
    result = read_result(files)
    if result is None or result.get("record") != record:
        return None
    read_curve(files, result)
    return result


def _stored_records(files: RunFiles):
    """The records a run's folder holds: its finished result's, then its config.json (a begun run's); an
    absent or unreadable config.json holds none (nothing finished to protect there)."""
    yield (read_result(files) or {}).get("record")
    try:
        yield json.loads(files.config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return


def _config_changes(theirs: dict, new: dict) -> list[str]:
    """Each field whose value differs, a field a record leaves out (at its default) read as that default; a
    precision says how to continue the stored run, since ``--precision auto`` differs by machine."""
    old = theirs.get("config") or {}
    if not isinstance(old, dict):
        old = {}
    defaults = {f.name: f.default for f in dataclasses.fields(GPTConfig)}
    names = list(new) + [k for k in old if k not in new]
    value = lambda config, k: config.get(k, defaults.get(k))  # noqa: E731
    hint = lambda k: f": --precision {value(old, k)} continues it" if k == "precision" else ""  # noqa: E731
    return [f"{k} {value(old, k)!r} there, {value(new, k)!r} asked{hint(k)}" for k in names
            if value(old, k) != value(new, k)]


def other_settings(files: RunFiles, record: dict) -> str | None:
    """What differs, when the run's directory holds a run (finished or begun) of another record; else None."""
    for theirs in _stored_records(files):
        if isinstance(theirs, dict) and theirs != record:
            changed = _config_changes(theirs, record["config"])
            changed += [f"another {k.replace('_', ' ')}" + (" (the table changed since this run)" if k == "table" else "")
                        for k in record if k != "config" and theirs.get(k) != record[k]]
            return "; ".join(changed[:3]) or "another format"
    return None


def other_config(files: RunFiles, config: GPTConfig) -> str | None:
    """What differs, when the run's directory holds a run (finished or begun) of another config; else None.
    A check that needs no table: it can refuse before any table is trained."""
    new = config.to_dict()
    for theirs in _stored_records(files):
        if isinstance(theirs, dict) and theirs.get("config") != new:
            return "; ".join(_config_changes(theirs, new)[:3]) or "another config"
    return None


def check_run_directory(files: RunFiles, record: dict, fresh: bool) -> None:
    """InputError unless the run's directory is free, holds this very run, or ``fresh`` allows replacing it:
    a finished result made with other settings is never overwritten silently."""
    difference = None if fresh else other_settings(files, record)
    if difference:
        raise other_settings_error(files.directory, "a run", difference, "another --variant or --run-dir")


@dataclass(frozen=True)
class PlannedRun:
    """One run resolved before anything is written: its corpus, files, record and aligned table, and
    ``target_groups``: named (V,) boolean masks over target ids whose test loss the result reports apart
    (``test_loss_<name>``, ``<name>_share``; its caller's measures, such as targets rare in the run's text)."""

    prepared: object  # corpus.PreparedCorpus
    config: GPTConfig
    files: RunFiles
    record: dict
    table: AlignedTable | None
    target_groups: dict = dataclasses.field(default_factory=dict)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def plan_run(run_dir: str | Path, config: GPTConfig, variant: str, table: TableInput | None = None,
             prepared=None, log=print, warn=_stderr) -> PlannedRun:
    """Open the run's prepared corpus (unless given), align the table, name the run; write nothing.

    ``variant``: the run's folder under ``gpt/``. ``table``: the table of a config with one (its caller,
    the study layer, finds it). A table trained on another corpus than the run's, not on purpose, is used
    with a warning that gives its coverage.
    """
    from corpus import PreparedCorpus

    if prepared is None:
        prepared = PreparedCorpus.open(RunLayout(run_dir).corpus)
    if config.tokens < config.tokens_per_step:
        raise InputError(f"--tokens {config.tokens:,} is less than one step of --batch-size x --context = "
                         f"{config.tokens_per_step:,} tokens; raise --tokens or lower those")
    if (config.embedding == "learned") != (table is None):
        raise ValueError(f"a config with embedding {config.embedding!r} is planned with{'out' if table is None else ''} "
                         "a table")
    aligned = corpus = None
    files = RunFiles.of(run_dir, variant, config.seed)
    if table is not None:
        aligned = align_table(table.table, prepared.vocab.tokens, config, prepared.vocab.specials)
        scale = f", rows rescaled x{aligned.rescale_factor:.4g}" if aligned.rescale_factor is not None else ""
        log(f"table {config.table}: {int(aligned.found.sum()):,} of {len(aligned.found):,} vocabulary words "
            f"({aligned.coverage:.1%}), dim {aligned.dim}{scale}")
        trained_on = table.table.meta.get("corpus_hash")
        if table.other_text:  # pretrained on other text on purpose: the run records which
            corpus = {"corpus_hash": trained_on, "tokens": table.table.meta.get("tokens"),
                      "vocab_coverage": aligned.coverage}
        elif trained_on and trained_on != prepared.content_hash:
            warn(f"warning: table {config.table} was trained on another corpus ({trained_on[:12]}, this one "
                 f"is {prepared.content_hash[:12]}); it covers {aligned.coverage:.1%} of the vocabulary")
    record = make_record(config, variant, len(prepared.vocab), prepared.content_hash, aligned,
                         None if table is None else table.file)
    if corpus is not None:  # only for tables of other text, so the records of earlier runs stay as they were
        record["table"]["corpus"] = corpus
    return PlannedRun(prepared, config, files, record, aligned)
