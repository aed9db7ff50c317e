"""Nothing a user does destroys a finished result or slips a wrong input through (one test per failure
found by trying every command as a user and a QA engineer would)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from base.parse import comma_choices
from tests.conftest import assert_one_line_error, lee_path, run_cli, run_module

GPT = ["--d-model", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4",
       "--tokens", "512", "--evals", "4", "--quiet", "--device", "cpu"]
COMPARE = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4",
           "--tokens", "512", "--evals", "4", "--quiet", "--device", "cpu", "--seeds", "1"]
PRETRAIN = ["--dim", "16", "--epochs", "1", "--threads", "1", "--quiet"]
SWEEP = [a for i, a in enumerate(COMPARE) if "--tokens" not in COMPARE[max(0, i - 1):i + 1]]
LEE = ["--corpus", str(lee_path()), "--documents", "lines", "--min-count", "2", "--val-fraction", "0.05",
       "--test-fraction", "0.05"]


def _result(run_dir: Path, variant: str = "learned", seed: int = 0) -> Path:
    return run_dir / "gpt" / variant / f"seed{seed}" / "result.json"


# ---------------------------------------------------------------------------------------- data loss
def test_a_finished_run_with_other_settings_is_never_overwritten(run_dir):
    assert run_module("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT).returncode == 0
    finished = _result(run_dir).read_bytes()
    other = run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--lr", "1e-2")
    assert_one_line_error(other)
    assert "other settings" in other.stderr and "lr" in other.stderr and "--fresh" in other.stderr
    assert_one_line_error(run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--lr", "nan"))
    assert _result(run_dir).read_bytes() == finished
    replaced = run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--lr", "1e-2", "--fresh")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(_result(run_dir).read_text())["record"]["config"]["lr"] == 1e-2


def test_compare_validates_every_run_before_it_trains_any(pretrained_run):
    run_dir = pretrained_run
    assert run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE).returncode == 0
    stamps = {p: p.read_bytes() for p in (run_dir / "gpt").rglob("result.json")}
    wider = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE, "--dim", "32")
    assert_one_line_error(wider)
    assert "d_model 16 there, 32 asked" in wider.stderr  # the runs are checked before any table
    longer = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE, "--tokens", "1024")
    assert_one_line_error(longer)
    assert "other settings" in longer.stderr
    assert {p: p.read_bytes() for p in (run_dir / "gpt").rglob("result.json")} == stamps
    summary = json.loads((run_dir / "compare" / "summary.json").read_text())
    assert summary["variants"]["learned"]["test_loss"]["per_seed"] == [json.loads(stamps[_result(run_dir)])["test_loss"]]


def test_stale_tables_warn_in_train_gpt_and_are_retrained_by_compare(pretrained_run):
    run_dir = pretrained_run
    old_hash = json.loads((run_dir / "embeddings" / "skipgram.json").read_text())["corpus_hash"]
    shutil.rmtree(run_dir / "corpus")
    assert run_cli("pipelines.prepare", "--run-dir", str(run_dir), *LEE[:-4], "--min-count", "3").returncode == 0
    used = run_module("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--embedding", "init:skipgram")
    assert used.returncode == 0, used.stderr
    assert "warning: table skipgram was trained on another corpus" in used.stderr and "covers" in used.stderr
    shutil.rmtree(run_dir / "gpt")
    study = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE)
    assert study.returncode == 0, study.stderr
    new_hash = json.loads((run_dir / "corpus" / "manifest.json").read_text())["content_hash"]
    assert new_hash != old_hash
    for method in ("cbow", "skipgram", "glove"):  # every stale table retrained on the corpus now there
        assert json.loads((run_dir / "embeddings" / f"{method}.json").read_text())["corpus_hash"] == new_hash


def test_pretrain_force_trains_from_scratch(pretrained_run):
    run_dir = pretrained_run  # its cbow table is up to date for these settings
    args = ["pipelines.pretrain", "--run-dir", str(run_dir), *PRETRAIN, "--methods", "cbow"]
    assert "cbow: up to date" in run_cli(*args).stdout
    forced = run_cli(*args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((run_dir / "embeddings" / "cbow.json").read_text())["resumed_from_epoch"] == 0


def test_tables_ignore_the_thread_count_and_auto_means_the_cpu_kernels(pretrained_run):
    from glove.config import GloveConfig
    from study.table_configs import trainer_defaults
    from tabletrain.config import Device

    assert trainer_defaults()["device"] == "cpu" and GloveConfig().device is Device.CPU
    run_dir = pretrained_run  # its cbow table was trained with --threads 1
    before = (run_dir / "embeddings" / "cbow.npz").read_bytes()
    again = run_cli("pipelines.pretrain", "--run-dir", str(run_dir), "--dim", "16", "--epochs", "1",
                       "--methods", "cbow", "--threads", "2")
    assert again.returncode == 0 and "cbow: up to date" in again.stdout
    assert (run_dir / "embeddings" / "cbow.npz").read_bytes() == before


# ---------------------------------------------------------------------------------- corrupt corpora
def _corrupt_an_id(run_dir: Path, value: int) -> None:
    path = run_dir / "corpus" / "train.ids"
    data = bytearray(path.read_bytes())
    data[32 + 4 * 100: 32 + 4 * 101] = np.int32(value).tobytes()  # header is 32 bytes
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("value", [10**6, -1])
def test_ids_outside_the_vocabulary_are_one_line_everywhere(run_dir, value):
    _corrupt_an_id(run_dir, value)
    for module, args in (("pipelines.pretrain", PRETRAIN + ["--methods", "skipgram"]),
                         ("pipelines.train_gpt", GPT)):
        result = run_cli(module, "--run-dir", str(run_dir), *args)
        assert_one_line_error(result)
        assert "outside the vocabulary" in result.stderr and "train.ids" in result.stderr
    assert not (run_dir / "embeddings").exists() and not (run_dir / "gpt").exists()


def test_prepare_verifies_what_it_calls_up_to_date(tmp_path):
    run = tmp_path / "run"
    assert run_cli("pipelines.prepare", "--run-dir", str(run), *LEE).returncode == 0
    assert run_cli("pipelines.prepare", "--run-dir", str(run), "--verify").returncode == 0
    vocab = run / "corpus" / "vocab.tsv"
    lines = vocab.read_text(encoding="utf-8").splitlines()
    original = list(lines)
    a, b = lines[10].split("\t"), lines[11].split("\t")
    lines[10], lines[11] = "\t".join([b[0], *a[1:]]), "\t".join([a[0], *b[1:]])  # two tokens swapped
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_one_line_error(run_cli("pipelines.prepare", "--run-dir", str(run), "--verify"))
    rebuilt = run_cli("pipelines.prepare", "--run-dir", str(run), *LEE)
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("prepared:")
    assert vocab.read_text(encoding="utf-8").splitlines() == original
    manifest = run / "corpus" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["content_hash"] = "0" * 64
    manifest.write_text(json.dumps(data))
    edited = run_cli("pipelines.prepare", "--run-dir", str(run), "--verify")
    assert_one_line_error(edited)
    assert "manifest was edited" in edited.stderr


# ---------------------------------------------------------------------------------- one clear line
def test_bad_numbers_are_one_line(run_dir):
    assert_one_line_error(run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--lr", "nan"))
    short = run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--tokens", "32")
    assert_one_line_error(short)
    assert "less than one step" in short.stderr
    assert run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT).returncode == 0
    for temperature in ("nan", "inf"):
        result = run_cli("pipelines.sample", "--run-dir", str(run_dir), "--prompt", "the",
                            "--temperature", temperature)
        assert_one_line_error(result)
    assert not (run_dir / "gpt" / "learned" / "seed1").exists()


def test_sampling_an_unfinished_run_warns(run_dir):
    from gpt.config import GPTConfig
    from tests.conftest import train_run

    config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=512, evals=4)
    assert train_run(run_dir, config, stop_after=3, log=lambda *a: None) is None
    result = run_cli("pipelines.sample", "--run-dir", str(run_dir), "--prompt", "the", "--tokens", "3")
    assert result.returncode == 0
    assert "never finished" in result.stderr


@pytest.fixture
def tiny_disk(tmp_path):
    """A 600 kB tmpfs: room for the Lee corpus, not for much more."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_one_line_naming_the_path_and_exit_1(tiny_disk, lee_corpus):
    run = tiny_disk / "run"
    filler = tiny_disk / "filler"
    filler.write_bytes(b"\0" * (560 * 1024))  # about 40 kB left: too little for the prepared corpus
    prepare = run_cli("pipelines.prepare", "--run-dir", str(run), *LEE)
    lines = [line for line in prepare.stderr.splitlines() if line.strip()]
    assert prepare.returncode == 1 and len(lines) == 1, prepare.stderr
    assert "No space left on device" in lines[0] and str(run / "corpus") in lines[0]
    assert not run.exists()  # nothing half-written, no staging left
    filler.unlink()
    shutil.copytree(lee_corpus.path, run / "corpus", ignore=shutil.ignore_patterns("cooccurrence-*"))
    full = run_cli("pipelines.train_gpt", "--run-dir", str(run), *GPT)
    lines = [line for line in full.stderr.splitlines() if line.strip()]
    assert full.returncode == 1 and len(lines) == 1, full.stderr
    assert "No space left on device" in lines[0] and str(run) in lines[0]
    assert not _result(run).exists()
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]  # no temp file left behind
    pretrain = run_cli("pipelines.pretrain", "--run-dir", str(run), *PRETRAIN, "--dim", "300")
    assert pretrain.returncode == 1 and "No space left on device" in pretrain.stderr
    assert len([x for x in pretrain.stderr.splitlines() if x.strip()]) == 1, pretrain.stderr
    assert not list((run / "embeddings").glob("*.npz"))


# ------------------------------------------------------------------------------------- concurrency
def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    from base.locks import run_lock

    run = tmp_path / "run"
    with run_lock(run):
        busy = run_module("pipelines.prepare", "--run-dir", str(run), *LEE)
        assert_one_line_error(busy)
        assert f"pid {os.getpid()}" in busy.stderr
        assert not (run / "corpus").exists()
    assert run_module("pipelines.prepare", "--run-dir", str(run), *LEE).returncode == 0


def test_leftovers_of_a_killed_writer_are_swept_and_prepare_stages_inside_the_run(tmp_path):
    run = tmp_path / "runs" / "one"
    assert run_cli("pipelines.prepare", "--run-dir", str(run), *LEE).returncode == 0
    assert sorted(p.name for p in run.parent.iterdir()) == ["one"]  # nothing staged beside the run
    staged = run / ".one-corpus.k2j4h1.tmp"
    staged.mkdir()
    (staged / "provisional.raw").write_bytes(b"x" * 1000)
    (run / "embeddings").mkdir()
    half = run / "embeddings" / ".skipgram.a8b7c6.tmp.npz"
    half.write_bytes(b"half a table")
    assert run_cli("pipelines.pretrain", "--run-dir", str(run), *PRETRAIN, "--methods", "cbow").returncode == 0
    assert not staged.exists() and not half.exists()


# ------------------------------------------------------------------------------------------ formats
def test_a_file_copied_into_the_cache_by_hand_is_used_offline(tmp_path, monkeypatch):
    from corpus.download import DATASETS, fetch

    monkeypatch.setenv("W2V_GPT_MIRROR", "http://127.0.0.1:9")  # nothing listens: offline
    cached = tmp_path / DATASETS["tinystories"].filename
    cached.write_text("Once upon a time.\n<|endoftext|>\n", encoding="utf-8")
    assert fetch(DATASETS["tinystories"], tmp_path) == cached
    assert (tmp_path / (cached.name + ".sha256")).read_text().split()[0] == \
        __import__("hashlib").sha256(cached.read_bytes()).hexdigest()
    assert fetch(DATASETS["tinystories"], tmp_path) == cached  # verified from now on


def test_format_word2vec_reads_a_binary_file(tmp_path):
    from vectors import EmbeddingTable
    from vectors.formats import load_vectors, save_word2vec

    table = EmbeddingTable(["king", "queen"], np.array([[1.0, 2.0], [3.0, 4.5]], dtype=np.float32))
    path = tmp_path / "vectors.w2v"
    save_word2vec(table, path, binary=True)
    loaded = load_vectors(path, format="word2vec")
    assert loaded.words == table.words and np.array_equal(loaded.matrix, table.matrix)
    result = run_cli("pipelines.eval", "--vectors", str(path), "--format", "word2vec")
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------- a study never trusts a damaged file (#23)
def _snapshot_files(root: Path) -> dict:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_compare_refuses_a_seed_table_of_other_settings_before_writing_anything(pretrained_run):
    run_dir = pretrained_run
    made = run_cli("pipelines.pretrain", "--run-dir", str(run_dir), *PRETRAIN, "--methods", "glove",
                   "--epochs", "2", "--seed", "1")
    assert made.returncode == 0, made.stderr
    before = _snapshot_files(run_dir)
    study = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE, "--seeds", "2")
    assert_one_line_error(study)
    assert "embeddings/seed1/glove.npz holds a table with other settings" in study.stderr
    assert "epochs 2 there, 1 asked" in study.stderr and "--fresh" in study.stderr
    assert _snapshot_files(run_dir) == before  # no table retrained, no seed-1 table of another method made
    fresh = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE, "--seeds", "2", "--fresh")
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads((run_dir / "embeddings" / "seed1" / "glove.json").read_text())["config"]["epochs"] == 1


@pytest.mark.parametrize("damage", ["empty", "truncated", "not a number", "empty baseline"])
def test_a_damaged_curve_of_a_finished_run_is_one_line_naming_it(pretrained_run, damage):
    run_dir = pretrained_run
    assert run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE).returncode == 0
    curve = run_dir / "gpt" / ("learned" if damage == "empty baseline" else "glove-init") / "seed0" / "curve.csv"
    rows = curve.read_text().splitlines()
    curve.write_text({"empty": "", "empty baseline": rows[0] + "\n", "truncated": "\n".join(rows[:3]) + "\n",
                      "not a number": "\n".join(rows[:2] + [rows[2].replace(rows[2].split(",")[2], "x", 1)]
                                                 + rows[3:]) + "\n"}[damage])
    summary = (run_dir / "compare" / "summary.json").read_bytes()
    again = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE)
    assert_one_line_error(again)
    assert f"{curve} of a finished run is damaged" in again.stderr and "rerun" in again.stderr
    assert (run_dir / "compare" / "summary.json").read_bytes() == summary


@pytest.mark.parametrize("content", ["[1, 2]", '"a string"', "{}", "KEYLESS", "{not json"])
def test_a_damaged_result_is_one_line_naming_it(pretrained_run, content):
    run_dir = pretrained_run
    assert run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE).returncode == 0
    result = _result(run_dir, "cbow-init")
    if content == "KEYLESS":
        data = json.loads(result.read_text())
        del data["test_loss"]
        content = json.dumps(data)
    result.write_text(content)
    for study in (COMPARE, ["--arms", "cbow-init", "--budgets", "512", *SWEEP]):
        command = "pipelines.compare" if study is COMPARE else "pipelines.sweep"
        again = run_cli(command, "--run-dir", str(run_dir), *study)
        assert_one_line_error(again)
        assert f"{result} of a finished run is damaged" in again.stderr


def test_damaged_summaries_stop_eval_before_it_writes_any_of_the_report(pretrained_run):
    run_dir = pretrained_run
    assert run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE).returncode == 0
    assert run_cli("pipelines.eval", "--run-dir", str(run_dir)).returncode == 0
    report = _snapshot_files(run_dir / "eval")
    good = (run_dir / "compare" / "summary.json").read_text()
    for damaged in (good[: len(good) // 2], json.dumps({"baseline": "learned"}), "[]"):
        (run_dir / "compare" / "summary.json").write_text(damaged)
        result = run_cli("pipelines.eval", "--run-dir", str(run_dir))
        assert_one_line_error(result)
        assert "compare/summary.json is damaged" in result.stderr and "rerun" in result.stderr
        assert _snapshot_files(run_dir / "eval") == report
    (run_dir / "compare" / "summary.json").write_text(good)
    (run_dir / "sweep").mkdir()
    (run_dir / "sweep" / "summary.json").write_text(json.dumps({"budgets": [512]}))
    result = run_cli("pipelines.eval", "--run-dir", str(run_dir))
    assert_one_line_error(result)
    assert "sweep/summary.json is damaged" in result.stderr


@pytest.mark.parametrize("file", ["glove.npz", "glove.json"])
def test_a_truncated_table_is_never_up_to_date(pretrained_run, file):
    run_dir = pretrained_run
    path = run_dir / "embeddings" / file
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2] if file.endswith(".npz") else b"")
    study = run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE)
    assert_one_line_error(study)
    assert f"{path} is damaged" in study.stderr
    assert f"python -m pipelines.pretrain --run-dir {run_dir} --methods glove --dim 16 --x-max 10 --force" \
        in study.stderr
    assert not (run_dir / "gpt").exists()
    if file.endswith(".json"):  # the remedy as shown, then the study: no second refusal
        import shlex

        remedy = shlex.split(study.stderr.split("`")[1])
        assert remedy[:3] == ["python", "-m", "pipelines.pretrain"]
        assert run_cli(remedy[2], *remedy[3:], "--epochs", "1", "--quiet").returncode == 0
        assert run_cli("pipelines.compare", "--run-dir", str(run_dir), *COMPARE).returncode == 0
    if file.endswith(".npz"):
        again = run_cli("pipelines.pretrain", "--run-dir", str(run_dir), *PRETRAIN, "--x-max", "10")
        assert again.returncode == 0, again.stderr
        assert "glove: up to date" not in again.stdout and "damaged" in again.stdout
        EmbeddingTable_load = __import__("vectors").EmbeddingTable.load
        assert len(EmbeddingTable_load(path)) > 0


def test_seeds_out_of_range_and_a_forged_table_header_are_one_line(run_dir, tmp_path):
    import zipfile

    from vectors import EmbeddingTable

    for command, flag in (("pipelines.pretrain", "--seed"), ("pipelines.train_gpt", "--seed"),
                          ("pipelines.prepare", "--seed"), ("pipelines.sample", "--seed")):
        result = run_cli(command, "--run-dir", str(run_dir), flag, "99999999999999999999",
                         *(["--prompt", "a"] if command == "pipelines.sample" else []))
        assert_one_line_error(result)
        assert "4294967295" in result.stderr
    path = tmp_path / "forged.npz"
    EmbeddingTable(["a", "b"], np.ones((2, 3)), {}).save(path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    header = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10176, 10**12)})
    members["matrix.npy"] = header.getvalue() + members["matrix.npy"][-24:]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = run_cli("pipelines.eval", "--vectors", str(path))
    assert_one_line_error(result)
    assert "claims shape (10176, 1000000000000)" in result.stderr and "holds 24" in result.stderr


def test_budgets_no_machine_can_train_are_refused_naming_the_limit(run_dir):
    for command, args in (("pipelines.sweep", ["--budgets", "1e99"]), ("pipelines.train_gpt", ["--tokens", "1e99"]),
                          ("pipelines.compare", ["--tokens", "2e12"])):
        result = run_cli(command, "--run-dir", str(run_dir), *args)
        assert_one_line_error(result)
        assert "1,000,000,000,000" in result.stderr
    assert not (run_dir / "gpt").exists()


def test_bench_validates_every_option_and_its_output_before_measuring(tmp_path):
    from pipelines import bench

    for args, words in ((["--seeds", "1,-2"], "--seeds"), (["--seeds", "1,x"], "--seeds"),
                        (["--only", "w2v,nope"], "--only")):
        result = run_cli("pipelines.bench", *args, "--out", str(tmp_path / "b.json"))
        assert_one_line_error(result)
        assert words in result.stderr
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = run_cli("pipelines.bench", "--only", "analogies", "--out", str(blocked / "bench.json"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert str(blocked / "bench.json") in result.stderr and "== " not in result.stdout  # nothing measured
    assert comma_choices("gpt,gpt,study", "--only", bench.PARTS, "parts") == ["gpt", "study"]


def test_an_os_error_names_the_path_the_user_gave_not_a_temporary_one(pretrained_run, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    plan = blocked / "plan.txt"
    result = run_cli("pipelines.compare", "--run-dir", str(pretrained_run), *COMPARE, "--plan", str(plan))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.strip() == f"error: Not a directory: {plan}"


def test_an_outside_table_is_named_as_outside_and_its_seed_is_refused(pretrained_run, tmp_path):
    run_dir = pretrained_run
    outside = tmp_path / "glove.txt"
    shutil.copy(run_dir / "embeddings" / "glove.txt", outside)
    used = run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--embedding", f"init:{outside}",
                   "--threads", "1")
    assert used.returncode == 0, used.stderr
    assert (run_dir / "gpt" / "file-glove-init" / "seed0" / "result.json").is_file()
    assert not (run_dir / "gpt" / "glove-init").exists()
    seeded = run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *GPT, "--embedding", f"init:{outside}",
                     "--table-seed", "1")
    assert_one_line_error(seeded)
    assert "vector file" in seeded.stderr


def test_small_things_users_meet(pretrained_run):
    run_dir = pretrained_run
    empty = run_cli("pipelines.sweep", "--run-dir", str(run_dir), "--arms", "", *SWEEP)
    assert_one_line_error(empty)
    assert "--arms" in empty.stderr
    learned_only = ["--arms", "learned", "--budgets", "512", *SWEEP[:-2], "--seeds", "2"]
    alone = run_cli("pipelines.sweep", "--run-dir", str(run_dir), *learned_only)
    assert alone.returncode == 0, alone.stderr
    assert "Warning" not in alone.stderr and "legend" not in alone.stderr.lower()
    other = run_cli("pipelines.sweep", "--run-dir", str(run_dir), *learned_only[:3], "1024", *learned_only[4:])
    assert other.returncode == 0, other.stderr
    assert "sweep/summary.json holds another sweep (arms learned, budgets 512)" in other.stdout
    sampled = run_cli("pipelines.sample", "--run-dir", str(run_dir), "--variant", "learned@1024",
                      "--prompt", "qqqzzz xxyyw the", "--tokens", "3")
    assert sampled.returncode == 0, sampled.stderr
    assert "qqqzzz, xxyyw are not in the vocabulary" in sampled.stderr
