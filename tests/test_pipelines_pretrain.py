import json

import numpy as np
import pytest

from tests.conftest import assert_one_line_error, lee_path, run_module
from vectors import EmbeddingTable
from vectors.formats import load_vectors

LEE = ["--corpus", str(lee_path()), "--documents", "lines", "--min-count", "2", "--val-fraction", "0.05",
       "--test-fraction", "0.05"]
REPORT_KEYS = {"format_version", "method", "config", "corpus_hash", "tokens", "epochs", "train_seconds",
               "words_per_second", "loss_per_epoch"}


def test_pretrain_glove_writes_table_text_and_report_then_skips(tmp_path):
    run = tmp_path / "run"
    args = ["--run-dir", str(run), *LEE, "--methods", "glove", "--dim", "16", "--epochs", "2", "--threads", "1",
            "--x-max", "10", "--quiet"]
    first = run_module("pipelines.pretrain", *args)
    assert first.returncode == 0, first.stderr
    out = run / "embeddings"
    report = json.loads((out / "glove.json").read_text())
    assert REPORT_KEYS | {"count_seconds", "count_tokens_per_second", "nonzeros", "entries_per_second"} <= set(report)
    assert report["method"] == "glove" and len(report["loss_per_epoch"]) == 2
    table = EmbeddingTable.load(out / "glove.npz")
    text = load_vectors(out / "glove.txt", format="word2vec")
    assert table.words == text.words and table.dim == 16
    np.testing.assert_allclose(table.matrix, text.matrix, atol=1e-5)
    vocab_lines = (run / "corpus" / "vocab.tsv").read_text().splitlines()[2:]
    assert table.words == [line.split("\t")[1] for line in vocab_lines]
    again = run_module("pipelines.pretrain", *args)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_pretrain_bad_options_exit_2(tmp_path):
    run = tmp_path / "run"
    bad_method = run_module("pipelines.pretrain", "--run-dir", str(run), *LEE, "--methods", "fasttext")
    assert_one_line_error(bad_method)
    assert "--methods" in bad_method.stderr
    assert not run.exists()
    bad_window = run_module("pipelines.pretrain", "--run-dir", str(run), *LEE, "--methods", "glove",
                            "--window", "0", "--quiet")
    assert_one_line_error(bad_window)
    assert "window" in bad_window.stderr
    assert not run.exists()
    for option in ("--threads", "--dim", "--epochs"):  # --threads 0 used to mean "all cores" silently
        bad = run_module("pipelines.pretrain", "--run-dir", str(run), *LEE, "--methods", "cbow", option, "0")
        assert_one_line_error(bad)
        assert option in bad.stderr and not run.exists()


def test_pretrain_every_method_reproducibly_with_one_thread(tmp_path):
    tables = {}
    for name in ("a", "b"):
        run = tmp_path / name
        result = run_module("pipelines.pretrain", "--run-dir", str(run), *LEE, "--dim", "16", "--epochs", "1",
                            "--threads", "1", "--x-max", "10", "--quiet")
        assert result.returncode == 0, result.stderr
        for method in ("cbow", "skipgram", "glove"):
            report = json.loads((run / "embeddings" / f"{method}.json").read_text())
            assert REPORT_KEYS <= set(report) and report["method"] == method
            assert report["words_per_second"] == pytest.approx(
                report["tokens"] * report["epochs"] / report["train_seconds"])
        tables[name] = {m: EmbeddingTable.load(run / "embeddings" / f"{m}.npz") for m in ("cbow", "skipgram", "glove")}
    for method in ("cbow", "skipgram", "glove"):
        assert np.array_equal(tables["a"][method].matrix, tables["b"][method].matrix)
