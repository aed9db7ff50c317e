import json

import numpy as np

from tests.conftest import PRETRAIN, assert_one_line_error, lee_path, run_cli
from vectors import EmbeddingTable
from vectors.formats import load_vectors

LEE = ["--corpus", str(lee_path()), "--documents", "lines", "--min-count", "2", "--val-fraction", "0.05",
       "--test-fraction", "0.05"]
REPORT_KEYS = {"format_version", "method", "config", "corpus_hash", "tokens", "epochs", "train_seconds",
               "words_per_second", "loss_per_epoch"}
METHODS = ("cbow", "skipgram", "glove")


def test_pretrain_glove_writes_table_text_and_report_then_skips(tmp_path):
    run = tmp_path / "run"
    args = ["--run-dir", str(run), *LEE, "--methods", "glove", "--dim", "16", "--epochs", "2", "--threads", "1",
            "--x-max", "10", "--quiet"]
    first = run_cli("pipelines.pretrain", *args)
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
    again = run_cli("pipelines.pretrain", *args)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_pretrain_bad_options_exit_2(tmp_path):
    run = tmp_path / "run"
    bad_method = run_cli("pipelines.pretrain", "--run-dir", str(run), *LEE, "--methods", "fasttext")
    assert_one_line_error(bad_method)
    assert "--methods" in bad_method.stderr
    assert not run.exists()
    bad_window = run_cli("pipelines.pretrain", "--run-dir", str(run), *LEE, "--methods", "glove",
                         "--window", "0", "--quiet")
    assert_one_line_error(bad_window)
    assert "window" in bad_window.stderr
    assert not run.exists()
    for option in ("--threads", "--dim", "--epochs"):  # --threads 0 used to mean "all cores" silently
        bad = run_cli("pipelines.pretrain", "--run-dir", str(run), *LEE, "--methods", "cbow", option, "0")
        assert_one_line_error(bad)
        assert option in bad.stderr and not run.exists()


def test_pretrain_every_method_reproducibly_with_one_thread(pretrained, lee_corpus, tmp_path):
    """The shared run's tables (pretrain in a process of its own, on a corpus prepared beforehand) and this
    run's (pretrain here, preparing the corpus itself): the same corpus, the same tables bit for bit, and
    reports that say what was trained."""
    run = tmp_path / "b"
    result = run_cli("pipelines.pretrain", "--run-dir", str(run), *LEE, *PRETRAIN)
    assert result.returncode == 0, result.stderr
    corpus_hash = json.loads((run / "corpus" / "manifest.json").read_text())["content_hash"]
    assert corpus_hash == lee_corpus.content_hash
    # the method's own defaults where PRETRAIN gives none (pretrain --help), PRETRAIN's values elsewhere
    expected = {"cbow": {"window": 5, "alpha": 0.05}, "skipgram": {"window": 5, "alpha": 0.025},
                "glove": {"window": 10, "lr": 0.05, "x_max": 10.0}}
    vocab = lee_corpus.vocab
    for method in METHODS:
        report = json.loads((run / "embeddings" / f"{method}.json").read_text())
        assert REPORT_KEYS <= set(report) and report["method"] == method
        assert report["corpus_hash"] == corpus_hash
        assert report["tokens"] == len(lee_corpus.train_ids) == 60_521  # one pass over the train split
        assert report["epochs"] == 1 and len(report["loss_per_epoch"]) == 1
        config = report["config"]
        assert {k: config[k] for k in ("dim", "epochs", "seed", "threads")} == {"dim": 16, "epochs": 1, "seed": 0,
                                                                                 "threads": 1}
        assert {k: config[k] for k in expected[method]} == expected[method]
        ours = EmbeddingTable.load(run / "embeddings" / f"{method}.npz")
        shared = EmbeddingTable.load(pretrained / "embeddings" / f"{method}.npz")
        assert ours.words == shared.words == list(vocab.tokens)
        assert np.array_equal(ours.matrix, shared.matrix)
        # every word of the vocabulary (min count 2) is trained; the 3 specials are not
        assert report["untrained_rows"] == 3 and not ours.trained[:3].any() and ours.trained[3:].all()
