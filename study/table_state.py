"""Whether a run holds a table of some settings: up to date, missing, trained on another corpus, of other
settings, or damaged; and the command that retrains one."""

from __future__ import annotations

import json
from dataclasses import dataclass

from base.errors import InputError
from base.layout import TABLE_SUFFIXES, RunLayout

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
    repair: bool = False  # the .json (and maybe the .txt) is missing but the .npz is whole: rewrite them

    def fix(self, layout: RunLayout, method: str, seed: int, fraction: float = 1.0) -> None:
        """Rewrite the files a kill between the table's writes left missing, from the ``.npz``'s own meta
        (the report the trainer wrote there first): ``.json`` and, when missing, the word2vec ``.txt``."""
        if not self.repair:
            return
        from base.atomic import write_json
        from vectors import EmbeddingTable
        from vectors.formats import save_word2vec

        npz, txt, report = (layout.table(method, seed, suffix, fraction) for suffix in TABLE_SUFFIXES)
        if not txt.exists():
            save_word2vec(EmbeddingTable.load(npz), txt)
        write_json(report, self.report)


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
    if not npz.exists():
        return TableState(DAMAGED, f"{npz.name} is missing")
    try:
        table = EmbeddingTable.load(npz)
    except InputError as exc:
        return TableState(DAMAGED, str(exc).split(": ", 1)[-1])
    repair = not report_path.exists()  # killed between the .npz and the .json: the .npz holds the report
    try:
        report = table.meta if repair else json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return TableState(DAMAGED, f"{report_path.name} is unreadable: {exc}")
    if not isinstance(report, dict) or not isinstance(report.get("config"), dict):
        return TableState(DAMAGED, f"{(npz if repair else report_path).name} holds no config")
    if report.get("corpus_hash") != corpus_hash:
        return TableState(STALE, "trained on another corpus", report)
    theirs, ours = _settings(report["config"]), _settings(config_dict)
    if theirs != ours:
        changed = [f"{k} {theirs.get(k)!r} there, {ours.get(k)!r} asked" for k in ours if theirs.get(k) != ours[k]]
        return TableState(OTHER, "; ".join(changed[:3]) or "another config", report)
    return TableState(CURRENT, report=report, repair=repair)


def retrain_hint(settings, method: str, seed: int) -> str:
    """The command that retrains seed ``seed``'s table of ``method`` in place, with the run directory, dim
    and (GloVe) x_max of the study (:class:`study.settings.StudySettings`), so that it works as shown and the
    study then takes the table it makes."""
    from study.table_configs import DEFAULT_X_MAX

    x_max = settings.tables.x_max if settings.tables.x_max is not None else DEFAULT_X_MAX
    args = f" --x-max {x_max:g}" if method == "glove" else ""
    args += f" --seed {seed}" if seed else ""
    return (f"`python -m pipelines.pretrain --run-dir {settings.run_dir} --methods {method} --dim {settings.dim}"
            f"{args} --force`")
