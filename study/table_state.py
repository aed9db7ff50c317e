"""Whether a run holds a table of some settings: up to date, missing, trained on another corpus, of other
settings, or damaged; and the command that retrains one."""

from __future__ import annotations

import json
from dataclasses import dataclass

from base.errors import InputError
from base.layout import RunLayout

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
    """The command that retrains seed ``seed``'s table of ``method`` in place."""
    seed_arg = f" --seed {seed}" if seed else ""
    return f"`python -m pipelines.pretrain --methods {method}{seed_arg} --force`"
