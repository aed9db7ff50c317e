"""The budget sweep: budgets, arms, crossover by hand, reuse of compare's runs, resume, outputs, report."""

from __future__ import annotations

import json
import shutil

import pytest

from base.errors import InputError
from pipelines.options import parse_budgets
from study.plan import budget_label
from study.variants import parse_arms
from study.sweep_summary import crossover
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


def test_crossover_by_hand_from_the_adjusted_verdicts():
    budgets = [1, 2, 3, 4]
    better, equivalent, inconclusive, worse = "better", "equivalent", "inconclusive", "worse"
    assert crossover(budgets, [better] * 4) is None  # never crosses
    assert crossover(budgets, [better, better, equivalent, worse]) == 3  # crosses at 3 and stays
    assert crossover(budgets, [better, inconclusive, better, inconclusive]) == 4  # crosses, back, again: from 4 on
    assert crossover(budgets, [better, equivalent, equivalent, better]) is None  # crossed back at the largest
    assert crossover(budgets, [inconclusive] * 4) == 1


def test_the_crossover_uses_the_holm_adjusted_verdict_not_the_raw_interval():
    """Three budgets: the middle one's unadjusted interval excludes 0 (p about 0.03), but with three
    comparisons Holm's p is above 0.05, so from that budget on there is no shown advantage."""
    from study.sweep_summary import summarize_sweep
    from study.variants import known_arms
    from gpt.config import GPTConfig

    base = {1000: [5.0, 5.1, 5.2], 2000: [4.8, 4.9, 5.0], 4000: [4.6, 4.7, 4.8]}
    arm = {1000: [4.5, 4.61, 4.69], 2000: [4.7, 4.85, 4.94], 4000: [4.61, 4.68, 4.82]}
    results = {name: {b: [{"test_loss": x, "tokens": b, "record": {"variant": name}, "seed": s}
                          for s, x in enumerate(losses[b])] for b in base}
               for name, losses in (("learned", base), ("glove-init", arm))}
    arms = [known_arms()["learned"], known_arms()["glove-init"]]
    summary = summarize_sweep(arms, [1000, 2000, 4000], results, GPTConfig(), 3, 1000, "cpu")
    cells = summary["arms"]["glove-init"]["budgets"]
    middle = cells["2000"]["difference"]
    assert middle["ci_high"] < 0 and middle["p_value"] < 0.05 and middle["p_value_holm"] > 0.05
    assert [cells[b]["verdict"] for b in ("1000", "2000", "4000")][:2] == ["better", "inconclusive"]
    assert summary["arms"]["glove-init"]["crossover"] == 2000
    # learned's mean test loss is 5.1, 4.9, 4.7: glove-init's 4.6 at 1000 tokens is beyond the largest budget,
    # its 4.83 at 2000 sits between 2000 and 4000: 2000 * 2 ** ((4.9 - 4.83) / 0.2)
    assert cells["1000"]["effective_budget"] == {"value": None, "where": "beyond the largest"}
    assert cells["2000"]["effective_budget"]["value"] == pytest.approx(2000 * 2 ** ((4.9 - 4.83) / 0.2))


def test_bad_budgets_are_one_line(tmp_path):
    for budgets in ("0", "many", ""):
        result = run_cli("pipelines.sweep", "--run-dir", str(tmp_path / "run"), "--budgets", budgets)
        assert_one_line_error(result)
    assert_one_line_error(run_cli("pipelines.sweep", "--run-dir", str(tmp_path / "run"), "--arms", "bogus"))
    assert not (tmp_path / "run").exists()


def test_sweep_reuses_compare_resumes_and_reports(pretrained_run, tmp_path):
    from gpt.config import GPTConfig
    from gpt.train import train_variant

    run = pretrained_run
    assert run_cli("pipelines.compare", "--run-dir", str(run), "--tokens", "1024", *TINY).returncode == 0
    other = tmp_path / "other"
    shutil.copytree(run, other)
    compare_results = {p: p.read_bytes() for p in (run / "gpt").rglob("result.json")}

    # A killed sweep: one 512-token run of glove-init stopped after 3 of its 8 steps.
    config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=512, evals=4,
                       embedding="init", table="glove", seed=1)
    assert train_variant(run, config, variant="glove-init@512", quiet=True, stop_after=3,
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
