"""``pipelines.train_gpt`` and ``pipelines.sample`` as a user runs them: files, text, one-line errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli, run_module
from vectors import EmbeddingTable

TINY = ["--d-model", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "8",
        "--tokens", "2k", "--evals", "8", "--lr", "1e-2", "--quiet"]


@pytest.fixture(scope="module")
def trained(lee_corpus, tmp_path_factory):
    """A run directory with a tiny learned-embedding GPT trained by the command."""
    run_dir = tmp_path_factory.mktemp("gpt-cli") / "run"
    shutil.copytree(lee_corpus.path, run_dir / "corpus")
    result = run_module("pipelines.train_gpt", "--run-dir", str(run_dir), *TINY)
    assert result.returncode == 0, result.stderr
    assert "learned seed 0: test loss" in result.stdout
    return run_dir


def test_train_writes_the_run_files(trained):
    seed_dir = trained / "gpt" / "learned" / "seed0"
    assert {p.name for p in seed_dir.iterdir()} >= {"config.json", "checkpoint.pt", "curve.csv", "result.json"}
    assert (seed_dir / "curve.csv").read_text().startswith("tokens,step,val_loss")
    result = json.loads((seed_dir / "result.json").read_text())
    assert result["tokens"] == 2048 and result["steps"] == 16
    config = json.loads((seed_dir / "config.json").read_text())["config"]
    assert config["d_model"] == 16 and config["embedding"] == "learned" and config["position"] == "learned"


def test_sample_prints_the_prompt_and_a_continuation(trained):
    result = run_module("pipelines.sample", "--run-dir", str(trained), "--prompt", "The Prime Minister",
                        "--tokens", "12", "--seed", "3")
    assert result.returncode == 0, result.stderr
    text = result.stdout.strip()
    assert text.startswith("the prime minister ") and len(text.split()) >= 8
    assert "<unk>" not in text and "<pad>" not in text
    from gpt.sample import sample_text

    # the same text in-process: seeded
    assert sample_text(trained, "learned", "The Prime Minister", n_tokens=12, seed=3) == text


def test_a_context_longer_than_the_learned_position_table_is_refused(trained):
    result = run_cli("pipelines.sample", "--run-dir", str(trained), "--prompt", "hello", "--context", "64")
    assert_one_line_error(result)
    assert "learned position table" in result.stderr


def test_a_table_with_no_word_of_the_vocabulary_is_refused(trained, tmp_path):
    path = tmp_path / "foreign.txt"
    path.write_text("3 16\n" + "\n".join(f"{w} " + " ".join(["0.5"] * 16) for w in ("zyx", "qwv", "xxq")) + "\n")
    result = run_cli("pipelines.train_gpt", "--run-dir", str(trained), "--embedding", f"init:{path}", *TINY)
    assert_one_line_error(result)
    assert not (trained / "gpt" / "file-foreign-init").exists()


def test_a_table_of_another_width_needs_project(trained, lee_corpus):
    words = lee_corpus.vocab.tokens[3:]
    table = EmbeddingTable(words, np.random.default_rng(0).normal(size=(len(words), 8)), {"method": "narrow"})
    table.save(trained / "embeddings" / "narrow.npz")
    result = run_cli("pipelines.train_gpt", "--run-dir", str(trained), "--embedding", "frozen:narrow", *TINY)
    assert_one_line_error(result)
    assert "--project" in result.stderr


def test_a_corrupt_checkpoint_is_one_line_exit_2(trained, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained / "corpus", run_dir / "corpus")
    seed_dir = run_dir / "gpt" / "learned" / "seed0"
    seed_dir.mkdir(parents=True)
    (seed_dir / "checkpoint.pt").write_bytes(b"\x80\x02garbage")
    assert_one_line_error(run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), *TINY))
    assert_one_line_error(run_cli("pipelines.sample", "--run-dir", str(run_dir), "--prompt", "the"))


@pytest.mark.parametrize("args", [["--embedding", "copy:glove"], ["--position", "spiral"], ["--tokens", "lots"],
                                  ["--tokens", "0"], ["--tokens", "0.4"], ["--evals", "0"], ["--batch-size", "0"],
                                  ["--checkpoint-interval", "0"], ["--table-seed", "1"]])
def test_bad_options_are_one_line_exit_2(trained, args):
    assert_one_line_error(run_cli("pipelines.train_gpt", "--run-dir", str(trained), *TINY, *args))


def test_missing_corpus_or_variant_is_one_line_exit_2(trained, tmp_path):
    assert_one_line_error(run_module("pipelines.train_gpt", "--run-dir", str(tmp_path / "nothing"), *TINY))
    result = run_cli("pipelines.sample", "--run-dir", str(trained), "--variant", "glove-init", "--prompt", "a")
    assert_one_line_error(result)
    assert "learned" in result.stderr  # lists what there is
