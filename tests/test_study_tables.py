"""study.tables and study.table_state: a study's seed tables made once and checked, and a table whose
report a kill left unwritten repaired from the table's own meta, in a study as in pretrain."""

from __future__ import annotations

import json

import pytest

from base.errors import InputError
from corpus import PreparedCorpus
from gpt.config import GPTConfig
from study.settings import StudySettings, TableSettings
from study.table_state import CURRENT, DAMAGED, table_state
from study.tables import ensure_tables
from study.variants import known_arms
from tests.conftest import run_cli
from vectors import EmbeddingTable

TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4", "--evals", "4",
        "--quiet", "--device", "cpu", "--seeds", "2", "--threads-per-run", "1", "--x-max", "10"]


def settings(run_dir, seeds=2):
    return StudySettings(run_dir, GPTConfig(d_model=16, n_head=2), seeds=seeds, tables=TableSettings(x_max=10.0),
                         threads=1, log=lambda m: None)


def _killed_before_the_report(monkeypatch, name: str):
    """write_json dies (as a kill -9 would stop the process) when it would write ``name``."""
    import base.atomic

    original = base.atomic.write_json

    def dying(path, data, *args, **kwargs):
        if str(path).endswith(name):
            raise KeyboardInterrupt("killed")
        return original(path, data, *args, **kwargs)

    monkeypatch.setattr(base.atomic, "write_json", dying)


def test_seed_tables_are_made_once_with_seed_zeros_settings(pretrained_run):
    prepared = PreparedCorpus.open(pretrained_run / "corpus")
    reports = ensure_tables(settings(pretrained_run), prepared, [known_arms()["glove-init"]])
    assert [r["config"]["seed"] for r in reports["glove"]] == [0, 1]
    first = json.loads((pretrained_run / "embeddings" / "glove.json").read_text())["config"]
    second = reports["glove"][1]["config"]
    assert {k: v for k, v in second.items() if k not in ("seed", "threads")} == \
        {k: v for k, v in first.items() if k not in ("seed", "threads")}
    before = (pretrained_run / "embeddings" / "seed1" / "glove.npz").read_bytes()
    again = ensure_tables(settings(pretrained_run), prepared, [known_arms()["glove-init"]])
    assert again == reports and (pretrained_run / "embeddings" / "seed1" / "glove.npz").read_bytes() == before


def test_a_study_repairs_a_table_killed_between_its_npz_and_its_report(pretrained_run, monkeypatch):
    """The kill falls after glove.npz (and .txt) of seed 1 were written and before glove.json: the sweep
    run after it finds the table whole, rewrites its report from the table's meta and goes on (before, it
    stopped with "glove.json is missing: ... or pass --fresh")."""
    prepared = PreparedCorpus.open(pretrained_run / "corpus")
    _killed_before_the_report(monkeypatch, "seed1/glove.json")
    with pytest.raises(KeyboardInterrupt):
        ensure_tables(settings(pretrained_run), prepared, [known_arms()["glove-init"]])
    seed1 = pretrained_run / "embeddings" / "seed1"
    assert (seed1 / "glove.npz").exists() and not (seed1 / "glove.json").exists()
    monkeypatch.undo()
    table = EmbeddingTable.load(seed1 / "glove.npz")
    config = dict(table.meta["config"])
    assert table_state(settings(pretrained_run).layout, "glove", 1, config, prepared.content_hash).kind == CURRENT

    result = run_cli("pipelines.sweep", "--run-dir", str(pretrained_run), "--arms", "glove-init", "--budgets",
                     "256", *TINY)
    assert result.returncode == 0, result.stderr
    assert json.loads((seed1 / "glove.json").read_text()) == table.meta
    assert (seed1 / "glove.txt").read_text().splitlines()[0] == f"{len(table)} {table.dim}"
    assert EmbeddingTable.load(seed1 / "glove.npz").meta == table.meta  # the table itself was not retrained


def test_a_table_without_its_npz_or_with_a_broken_one_is_damaged(pretrained_run):
    layout = settings(pretrained_run).layout
    report = json.loads((pretrained_run / "embeddings" / "cbow.json").read_text())
    corpus = report["corpus_hash"]
    (pretrained_run / "embeddings" / "cbow.npz").write_bytes(b"not a table")
    assert table_state(layout, "cbow", 0, report["config"], corpus).kind == DAMAGED
    (pretrained_run / "embeddings" / "cbow.npz").unlink()
    state = table_state(layout, "cbow", 0, report["config"], corpus)
    assert state.kind == DAMAGED and state.why == "cbow.npz is missing"


def test_a_damaged_same_text_table_names_files_whose_deletion_lets_the_study_go_on(pretrained_run):
    from study.sources import TableSource
    from study.variants import datasweep_arms

    prepared = PreparedCorpus.open(pretrained_run / "corpus")
    arms = [datasweep_arms()["glove-init"]]
    ensure_tables(settings(pretrained_run, seeds=1), prepared, arms, TableSource.FRACTION, (0.25,))
    folder = pretrained_run / "embeddings" / "frac0.25"
    (folder / "glove.npz").unlink()  # the report is there, the table is not
    with pytest.raises(InputError, match=rf"delete glove.npz, .txt and .json in {folder} and rerun"):
        ensure_tables(settings(pretrained_run, seeds=1), prepared, arms, TableSource.FRACTION, (0.25,))
    for suffix in (".txt", ".json"):
        (folder / f"glove{suffix}").unlink(missing_ok=True)
    reports = ensure_tables(settings(pretrained_run, seeds=1), prepared, arms, TableSource.FRACTION, (0.25,))
    assert (folder / "glove.npz").is_file() and reports["glove"][0]["config"]["seed"] == 0
