"""make compare's engine on a tiny GPT: resume, idempotence, identical summaries, same batches."""

import hashlib
import json
import shutil

import numpy as np
import pytest
from scipy import stats

from corpus import PreparedCorpus
from study.stats import holm_adjust
from tests.conftest import REPO, assert_one_line_error, auto_precision, run_cli, run_module, train_run
from vectors import EmbeddingTable

TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4",
        "--tokens", "1024", "--evals", "6", "--quiet", "--device", "cpu"]
TIMING_KEYS = {"gpt_train_seconds", "gpt_eval_seconds", "pretrain_seconds"}


def _without_timings(summary: dict) -> dict:
    return {**summary, "variants": {name: {k: v for k, v in row.items() if k not in TIMING_KEYS}
                                    for name, row in summary["variants"].items()}}


def _assert_same_numbers(a, b, path="summary"):
    """Equal structure and values; floats to 1e-6 (relative, or absolute for values near 0 such as a std of
    differences, which magnifies last-bit changes), because separate CPU processes may round the same
    computation differently in the last bits (threaded reductions under load)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            _assert_same_numbers(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_numbers(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-6, abs=1e-6), path
    else:
        assert a == b, path


def test_token_study_end_to_end_is_idempotent_and_reproducible(pretrained, pretrained_run, tmp_path):
    run_dir = pretrained_run  # the corpus and seed 0's tables, as `make pretrain` leaves them
    other = tmp_path / "other"
    shutil.copytree(pretrained, other)

    study = ["--seeds", "2", "--controls", *TINY, "--threads-per-run", "1"]
    first = run_module("pipelines.compare", "--run-dir", str(run_dir), *study)
    assert first.returncode == 0, first.stderr
    progress = [line for line in first.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 18 and progress[-1].startswith("[18/18] glove-init-raw seed 1: test loss ")
    assert all("ETA" in line for line in progress)
    # where the time went: the runs' split (18 runs trained here), then the study's parts
    times = [line for line in first.stdout.splitlines() if line.startswith("time: ")]
    assert len(times) == 2 and times[0].startswith("time: 18 run(s) trained in ") and "val evaluations" in times[0]
    assert "table pretraining" in times[1] and "GPT runs" in times[1]
    out = run_dir / "compare"
    summary = json.loads((out / "summary.json").read_text())
    names = ["learned", "cbow-init", "cbow-frozen", "skipgram-init", "skipgram-frozen", "glove-init",
             "glove-frozen", "shuffled-init", "glove-init-raw"]
    assert list(summary["variants"]) == names
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| glove-init-raw |" in (out / "summary.md").read_text()
    assert summary["budget"]["tokens"] >= 1024 and summary["budget"]["seeds"] == 2
    assert summary["budget"]["evaluations"] >= 5 and "tables" in summary["interval_covers"]
    assert summary["interval_covers"] in (out / "summary.md").read_text() and "Holm" in (out / "summary.md").read_text()

    # Seed k of every table arm uses tables pretrained with seed k: the intervals hold the tables' luck.
    for method in ("cbow", "skipgram", "glove", "shuffled"):
        assert (run_dir / "embeddings" / "seed1" / f"{method}.npz").is_file()
    for name in ("skipgram-init", "glove-frozen", "shuffled-init"):
        records = [json.loads((run_dir / "gpt" / name / f"seed{s}" / "result.json").read_text())["record"]
                   for s in range(2)]
        files = [r["table"]["file"] for r in records]
        assert files[0] == f"embeddings/{records[0]['table']['name']}.npz"
        assert files[1] == f"embeddings/seed1/{records[0]['table']['name']}.npz"
        assert records[0]["table"]["file_sha256"] != records[1]["table"]["file_sha256"]
        for s, record in enumerate(records):
            assert record["table"]["file_sha256"] == hashlib.sha256((run_dir / files[s]).read_bytes()).hexdigest()
    first, second = (json.loads((run_dir / "embeddings" / d / "glove.json").read_text())["config"]
                     for d in (".", "seed1"))
    assert {**first, "seed": 1} == second  # seed 1's table: seed 0's settings, another seed
    p_values = {name: summary["variants"][name]["difference"]["p_value"] for name in names[1:]}
    holm = dict(zip(p_values, holm_adjust(list(p_values.values()))))
    for name in names[1:]:
        row = summary["variants"][name]
        assert row["difference"]["p_value_holm"] == pytest.approx(holm[name])
        assert row["verdict"] == row["difference"]["verdict"]
    # Which token rows train, from the vocabulary and the tables themselves: every row of an init (or
    # learned) embedding; of a frozen one the specials and the rows its table never trained. On the Lee
    # corpus at min count 2 every word is trained, so a frozen table trains the 3 specials alone.
    vocab = PreparedCorpus.open(run_dir / "corpus").vocab
    assert len(vocab.specials) == 3
    for name in names:
        expected = len(vocab)
        if name.endswith("-frozen"):
            table = EmbeddingTable.load(run_dir / "embeddings" / f"{name.removesuffix('-frozen')}.npz")
            assert table.words == list(vocab.tokens)
            expected = len(set(np.flatnonzero(~table.trained)) | {vocab.id_of(s) for s in vocab.specials})
            assert expected == 3
        assert summary["variants"][name]["trainable_token_rows"] == expected, name

    # The summary's statistics are those of the runs' own results.
    for name in names[1:]:
        row = summary["variants"][name]
        runs = [json.loads((run_dir / "gpt" / name / f"seed{s}" / "result.json").read_text()) for s in range(2)]
        base = [json.loads((run_dir / "gpt" / "learned" / f"seed{s}" / "result.json").read_text()) for s in range(2)]
        diffs = np.array([r["test_loss"] for r in runs]) - np.array([b["test_loss"] for b in base])
        low, high = stats.t.interval(0.95, df=1, loc=diffs.mean(), scale=stats.sem(diffs))
        assert row["difference"]["mean"] == pytest.approx(diffs.mean())
        assert (row["difference"]["ci_low"], row["difference"]["ci_high"]) == pytest.approx((low, high))
        assert row["test_loss"]["per_seed"] == [r["test_loss"] for r in runs]

    # A second invocation trains nothing and rewrites the same summary, byte for byte.
    mtimes = {p: p.stat().st_mtime_ns for p in (run_dir / "gpt").rglob("result.json")}
    before = (out / "summary.json").read_bytes()
    second = run_cli("pipelines.compare", "--run-dir", str(run_dir), *study)
    assert second.returncode == 0, second.stderr
    assert (out / "summary.json").read_bytes() == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # An identical invocation elsewhere gives the same numbers (timings aside): one thread per run, so not
    # even the order of a threaded reduction can differ.
    third = run_cli("pipelines.compare", "--run-dir", str(other), *study)
    assert third.returncode == 0, third.stderr
    _assert_same_numbers(_without_timings(json.loads((other / "compare" / "summary.json").read_text())),
                         _without_timings(summary))


def test_interrupted_study_resumes_to_the_same_summary(run_dir, tmp_path):
    from gpt.config import GPTConfig

    reference = tmp_path / "reference"
    shutil.copytree(run_dir, reference)
    args = ["--positions", "--seeds", "1", *TINY]
    assert run_cli("pipelines.compare", "--run-dir", str(reference), *args).returncode == 0

    # Simulate a kill in the middle of pos-rope: 3 of its 16 steps done, a checkpoint on disk.
    config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=1024, evals=6,
                       position="rope", seed=0, precision=auto_precision())
    assert train_run(run_dir, config, variant="pos-rope", stop_after=3, log=lambda *a: None) is None
    assert (run_dir / "gpt" / "pos-rope" / "seed0" / "checkpoint.pt").exists()
    assert not (run_dir / "gpt" / "pos-rope" / "seed0" / "result.json").exists()
    resumed = run_cli("pipelines.compare", "--run-dir", str(run_dir), *args)
    assert resumed.returncode == 0, resumed.stderr
    ours = json.loads((run_dir / "compare-positions" / "summary.json").read_text())
    theirs = json.loads((reference / "compare-positions" / "summary.json").read_text())
    _assert_same_numbers(_without_timings(ours), _without_timings(theirs))
    assert list(ours["variants"]) == ["pos-learned", "pos-sinusoidal", "pos-rope", "pos-alibi", "pos-none"]


def test_every_variant_of_a_seed_sees_the_same_batches(run_dir, monkeypatch):
    import gpt.train as gpt_train
    from gpt.config import GPTConfig

    seen = {}
    original = gpt_train.get_batch

    def recording(ids, offsets, context, device):
        seen.setdefault(current[0], []).append(np.array(offsets))
        return original(ids, offsets, context, device)

    monkeypatch.setattr(gpt_train, "get_batch", recording)
    current = [None]
    for position in ("learned", "rope", "none"):
        current[0] = position
        config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=512, evals=4,
                           position=position, seed=3)
        train_run(run_dir, config, variant=f"pos-{position}", log=lambda *a: None)
    assert len(seen["learned"]) == 8
    for position in ("rope", "none"):
        assert all((a == b).all() for a, b in zip(seen["learned"], seen[position]))


def test_compare_bad_input(run_dir, tmp_path):
    assert_one_line_error(run_module("pipelines.compare", "--run-dir", str(run_dir), "--seeds", "0", *TINY))
    for option in ("--tokens", "--evals", "--batch-size", "--context", "--dim"):
        result = run_cli("pipelines.compare", "--run-dir", str(run_dir), *TINY, option, "0")
        assert_one_line_error(result)
        assert option in result.stderr
    assert not (run_dir / "gpt").exists()  # nothing was trained
    missing = run_cli("pipelines.compare", "--run-dir", str(tmp_path / "nothing"), *TINY)
    assert_one_line_error(missing)
    assert "no prepared corpus" in missing.stderr


def test_report_over_a_small_run(pretrained_run):
    """pipelines.eval --run-dir: every section present, numbers consistent with summary.json."""
    run_dir = pretrained_run
    steps = [("pipelines.compare", "--run-dir", str(run_dir), "--seeds", "2", *TINY),
             ("pipelines.compare", "--run-dir", str(run_dir), "--seeds", "2", "--positions", *TINY),
             ("pipelines.eval", "--run-dir", str(run_dir))]
    for step in steps:
        result = run_cli(*step)
        assert result.returncode == 0, (step, result.stderr)
    out = run_dir / "eval"
    report = json.loads((out / "report.json").read_text())
    summary = json.loads((run_dir / "compare" / "summary.json").read_text())
    positions = json.loads((run_dir / "compare-positions" / "summary.json").read_text())
    assert report["compare"] == summary and report["compare_positions"] == positions
    assert set(report["tables"]) == {"cbow", "skipgram", "glove"}
    for table in report["tables"].values():
        assert {"ws353", "simlex999", "google"} <= set(table["benchmarks"])
    text = (out / "report.md").read_text()
    for heading in ("## Intrinsic evaluation", "### Nearest neighbours", "## Pretrained or learned token embeddings?",
                    "## Does intrinsic quality predict what helps the GPT?", "## Position embeddings", "## Samples"):
        assert heading in text
    for name, row in summary["variants"].items():
        assert f"| {name} | {row['test_loss']['mean']:.4f} |" in text
        if row["difference"]:
            assert f"{row['difference']['mean']:+.4f}" in text
        assert len(report["samples"][name]) == 3
        assert all(s.startswith("the history of the") for s in report["samples"][name])
    link = report["intrinsic_vs_gpt"]["methods"]
    assert link["glove"]["delta_init"] == summary["variants"]["glove-init"]["difference"]["mean"]
    for image in ("curves.png", "curves-positions.png", "intrinsic-vs-gpt.png", "table-map.png"):
        assert (out / image).read_bytes()[:4] == b"\x89PNG"
    # what the GPT did with its table: every init arm, over both seeds, beside learned's final embedding
    use = report["table_use"]
    assert "## What the GPT did with its table" in text and use["seeds"] == 2
    assert {v for v, a in use["arms"].items() if a["kind"] == "init"} == {"cbow-init", "skipgram-init", "glove-init"}
    assert use["arms"]["learned"]["kind"] == "learned"
    for variant in ("cbow-init", "skipgram-init", "glove-init"):
        arm = use["arms"][variant]
        record = json.loads((run_dir / "gpt" / variant / "seed0" / "config.json").read_text())
        assert sum(band["rows"] for band in arm["drift"].values()) <= record["table"]["found"]
        # 16 small steps move the rows of frequent words a little: they keep most of their direction
        assert 0.5 < arm["drift"]["1000+"]["mean"] <= 1.0 and arm["drift"]["1000+"]["n"] == 2
        assert set(arm["trained_scores"]) == set(arm["table_scores"]) >= {"ws353", "simlex999", "google"}
        assert len(use["maps"][variant]["table"]) == len(use["map_words"]) > 5


def test_parallel_runs_give_the_same_results_as_one_at_a_time(pretrained_run, tmp_path):
    """--jobs 2 trains two runs at once in worker processes; at a fixed --threads-per-run every result.json
    and curve.csv equals the --jobs 1 study's (over the same tables), timings aside, and so does the summary."""
    run_dir = pretrained_run
    args = ["--seeds", "2", *TINY, "--threads-per-run", "1"]
    one = run_cli("pipelines.compare", "--run-dir", str(run_dir), *args, "--jobs", "1")
    assert one.returncode == 0, one.stderr
    first = tmp_path / "first"
    first.mkdir()
    for name in ("gpt", "compare"):
        shutil.move(str(run_dir / name), str(first / name))
    two = run_module("pipelines.compare", "--run-dir", str(run_dir), *args, "--jobs", "2")
    assert two.returncode == 0, two.stderr
    assert len([line for line in two.stdout.splitlines() if line.startswith("[")]) == 14
    timing = {"train_seconds", "eval_seconds", "tokens_per_second"}
    results = sorted((run_dir / "gpt").rglob("result.json"))
    assert len(results) == 14
    for result in results:
        mirror = first / result.relative_to(run_dir)
        a, b = json.loads(result.read_text()), json.loads(mirror.read_text())
        assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
        curve_a = [line.rsplit(",", 1)[0] for line in (result.parent / "curve.csv").read_text().splitlines()]
        curve_b = [line.rsplit(",", 1)[0] for line in (mirror.parent / "curve.csv").read_text().splitlines()]
        assert curve_a == curve_b  # all but the wall-clock seconds column, bit for bit
    ours = _without_timings(json.loads((run_dir / "compare" / "summary.json").read_text()))
    theirs = _without_timings(json.loads((first / "compare" / "summary.json").read_text()))
    assert ours == theirs


def test_a_plans_lines_run_at_once_give_the_summary_compare_writes_itself(pretrained, pretrained_run, tmp_path):
    import os
    import subprocess
    import sys

    run_dir = pretrained_run
    other = tmp_path / "other"
    shutil.copytree(pretrained, other)
    args = ["--seeds", "1", *TINY, "--threads-per-run", "1"]  # one torch thread per run, as the lines below
    plan = tmp_path / "plan.txt"
    written = run_cli("pipelines.compare", "--run-dir", str(run_dir), *args, "--plan", str(plan))
    assert written.returncode == 0, written.stderr
    lines = plan.read_text().splitlines()
    assert len(lines) == 7 and all(" -m pipelines.train_gpt " in line for line in lines)
    assert not (run_dir / "gpt").exists()  # nothing trained
    assert all(line.endswith(" --threads 1 --quiet") for line in lines)  # the study's thread count
    # every line at once, as a cluster array would run them, with the cluster's environment (no thread
    # setting: the line carries it): each holds only its own run's lock
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}", PYTHONPATH=str(REPO))
    env.pop("OMP_NUM_THREADS", None)
    jobs = [subprocess.Popen(["bash", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env) for line in lines]
    for job in jobs:
        _, stderr = job.communicate(timeout=600)
        assert job.returncode == 0, stderr
    summarized = run_cli("pipelines.compare", "--run-dir", str(run_dir), *args)
    assert summarized.returncode == 0 and summarized.stdout.count("done before") == 7, summarized.stdout
    itself = run_cli("pipelines.compare", "--run-dir", str(other), *args)
    assert itself.returncode == 0
    # the very numbers, not only within float noise: the lines train with the study's threads
    assert _without_timings(json.loads((run_dir / "compare" / "summary.json").read_text())) == \
        _without_timings(json.loads((other / "compare" / "summary.json").read_text()))
