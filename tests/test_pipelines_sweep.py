"""The budget sweep command: budgets, arms, reuse of compare's runs, resume, outputs, report."""

from __future__ import annotations

import json
import shutil

import pytest

from base.errors import InputError
from pipelines.options import parse_budgets
from study.plan import budget_label
from study.variants import parse_arms
from tests.conftest import assert_one_line_error, run_cli, run_module

TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4", "--evals", "4",
        "--quiet", "--device", "cpu", "--seeds", "2"]


def test_budgets_and_arms_parse_like_token_counts_and_variant_names():
    assert parse_budgets("50k,200k,800k,3.2M") == [50_000, 200_000, 800_000, 3_200_000]
    assert parse_budgets(" 2e5, 50000,200k ") == [50_000, 200_000]  # sorted, duplicates once
    for bad in ("", "0", "lots", "1k,-5", "0.2"):
        with pytest.raises(InputError):
            parse_budgets(bad)
    assert [a.name for a in parse_arms("glove-init,shuffled-init")] == ["learned", "glove-init", "shuffled-init"]
    assert [a.name for a in parse_arms("learned")] == ["learned"]
    with pytest.raises(InputError, match="--arms"):
        parse_arms("")
    with pytest.raises(InputError, match="choose among"):
        parse_arms("glove-init,word2vec-init")
    assert [budget_label(n) for n in (200_000, 3_200_000, 4_000_000, 1234)] == ["200k", "3200k", "4M", "1234"]


def test_bad_budgets_are_one_line(tmp_path):
    for budgets in ("0", "many", ""):
        result = run_cli("pipelines.sweep", "--run-dir", str(tmp_path / "run"), "--budgets", budgets)
        assert_one_line_error(result)
    assert_one_line_error(run_cli("pipelines.sweep", "--run-dir", str(tmp_path / "run"), "--arms", "bogus"))
    assert not (tmp_path / "run").exists()


def test_sweep_reuses_compare_resumes_and_reports(pretrained_run, tmp_path):
    from gpt.config import GPTConfig
    from tests.conftest import auto_precision, train_run

    run = pretrained_run
    assert run_cli("pipelines.compare", "--run-dir", str(run), "--tokens", "1024", *TINY).returncode == 0
    other = tmp_path / "other"
    shutil.copytree(run, other)
    compare_results = {p: p.read_bytes() for p in (run / "gpt").rglob("result.json")}

    # A killed sweep: one 512-token run of glove-init stopped after 3 of its 8 steps.
    config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=512, evals=4,
                       embedding="init", table="glove", seed=1, precision=auto_precision())
    assert train_run(run, config, variant="glove-init@512", stop_after=3,
                         log=lambda *a: None) is None
    args = ["--budgets", "512,1024", "--arms", "glove-init", *TINY]
    sweep = run_module("pipelines.sweep", "--run-dir", str(run), *args)
    assert sweep.returncode == 0, sweep.stderr
    assert "[8/8]" in sweep.stdout and "ETA" in sweep.stdout and sweep.stdout.count("done before") == 4
    assert {p: p.read_bytes() for p in compare_results} == compare_results  # compare's runs reused as they are
    assert not list((run / "gpt").glob("*@1k"))
    summary = json.loads((run / "sweep" / "summary.json").read_text())
    assert summary["budgets"] == [512, 1024] and set(summary["arms"]) == {"learned", "glove-init"}
    cell = summary["arms"]["glove-init"]["budgets"]["1024"]
    compare = json.loads((run / "compare" / "summary.json").read_text())
    assert cell["test_loss"]["per_seed"] == compare["variants"]["glove-init"]["test_loss"]["per_seed"]
    assert cell["difference"]["mean"] == pytest.approx(compare["variants"]["glove-init"]["difference"]["mean"])
    assert {"p_value_holm", "ci_low", "ci_high", "verdict"} <= set(cell["difference"])
    assert "crossover" in summary["arms"]["glove-init"]
    assert (run / "sweep" / "sweep.png").read_bytes()[:4] == b"\x89PNG"

    # The same sweep uninterrupted elsewhere gives the same numbers; a rerun trains nothing.
    assert run_cli("pipelines.sweep", "--run-dir", str(other), *args).returncode == 0
    theirs = json.loads((other / "sweep" / "summary.json").read_text())
    for arm in ("learned", "glove-init"):
        for b in ("512", "1024"):
            assert theirs["arms"][arm]["budgets"][b]["test_loss"]["per_seed"] == pytest.approx(
                summary["arms"][arm]["budgets"][b]["test_loss"]["per_seed"], rel=1e-6)
    again = run_cli("pipelines.sweep", "--run-dir", str(run), *args)
    assert again.returncode == 0 and again.stdout.count("done before") == 8

    report = run_cli("pipelines.eval", "--run-dir", str(run))
    assert report.returncode == 0, report.stderr
    text = (run / "eval" / "report.md").read_text()
    assert "## When does a pretrained table stop helping?" in text and "| glove-init | 512 |" in text
    assert (run / "eval" / "sweep.png").is_file()
    assert json.loads((run / "eval" / "report.json").read_text())["sweep"] == summary
