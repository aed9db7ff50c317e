"""Vector files users bring as study arms: the streaming read keeps only the vocabulary's rows, in every
format and compression; the casing rule by hand; PCA against an eigendecomposition; the width rules; the
cache; a file arm that differs from learned only in its token embedding; bad input as one line."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from base.errors import InputError
from gpt.config import GPTConfig
from study.settings import StudySettings, TableSettings
from study.table_files import FileArm, TableFile, cache_rows, check_name, locate, pca_table
from tests.conftest import assert_one_line_error, run_cli
from vectors import EmbeddingTable
from vectors.align import load_for_vocab
from vectors.formats import save_vectors

TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4", "--tokens", "256",
        "--evals", "2", "--quiet", "--device", "cpu", "--seeds", "1", "--threads-per-run", "1"]


def fasttext_path():
    from gensim.test.utils import datapath

    return Path(datapath("lee_fasttext.vec"))  # 1,762 fastText vectors of the Lee corpus, 10 wide


def test_the_streaming_read_keeps_only_the_vocabularys_rows(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(500)]
    table = EmbeddingTable(words, rng.normal(size=(500, 4)).astype(np.float32), {})
    path = tmp_path / "big.txt"
    save_vectors(table, path, "word2vec")
    wanted = ["w3", "w499", "w17", "absent"]
    found = load_for_vocab(path, wanted)
    assert found.words == ["w3", "w499", "w17"]  # vocabulary order, absent words left out
    assert found.meta["rows_scanned"] == 500 and len(found) == 3
    assert np.array_equal(found.matrix, table.matrix[[3, 499, 17]])


@pytest.mark.parametrize("fmt, suffix", [("word2vec", ".txt"), ("word2vec-binary", ".bin"), ("glove", ".txt"),
                                         ("word2vec", ".vec")])
@pytest.mark.parametrize("compress", [None, gzip, bz2, lzma])
def test_every_format_and_compression_gives_the_same_rows(tmp_path, fmt, suffix, compress):
    rng = np.random.default_rng(1)
    table = EmbeddingTable(["the", "cat", "Sat", "on", "mat"], rng.normal(size=(5, 3)).astype(np.float32), {})
    plain = tmp_path / f"vectors{suffix}"
    save_vectors(table, plain, fmt)
    path = plain
    if compress is not None:
        ending = {gzip: ".gz", bz2: ".bz2", lzma: ".xz"}[compress]
        path = tmp_path / f"vectors{suffix}{ending}"
        path.write_bytes(compress.compress(plain.read_bytes()))
        plain.unlink()
    found = load_for_vocab(path, ["mat", "sat", "dog", "the"])
    assert found.words == ["mat", "sat", "the"]
    expected = table.matrix[[4, 2, 0]]
    assert np.allclose(found.matrix, expected, atol=1e-6 if fmt != "word2vec-binary" else 0)


def test_casing_rule_by_hand(tmp_path):
    """paris: the file has paris itself (after Paris): the same word wins. london: only London and LONDON,
    London first: the first of that lower-case form. berlin: not in the file."""
    rows = {"Paris": 1.0, "London": 2.0, "paris": 3.0, "LONDON": 4.0, "Rome": 5.0}
    path = tmp_path / "cased.txt"
    path.write_text(f"{len(rows)} 2\n" + "".join(f"{w} {v} {v}\n" for w, v in rows.items()))
    found = load_for_vocab(path, ["paris", "london", "berlin"])
    assert found.words == ["paris", "london"]
    assert found.matrix[:, 0].tolist() == [3.0, 2.0]
    assert found.meta["exact"] == 1 and found.meta["case_folded"] == 1


def test_pca_keeps_the_leading_components_of_the_rows():
    """Against an eigendecomposition of the covariance (not the SVD the code uses): the reduced columns are
    uncorrelated, their variances are the largest eigenvalues in order, and the variance kept is their share."""
    rng = np.random.default_rng(2)
    mixing = rng.normal(size=(6, 6)) * np.array([5.0, 3.0, 2.0, 0.5, 0.2, 0.1])[:, None]
    rows = (rng.normal(size=(400, 6)) @ mixing + 7.0).astype(np.float32)
    table = EmbeddingTable([f"w{i}" for i in range(400)], rows, {})
    reduced = pca_table(table, 3)
    eigen = np.sort(np.linalg.eigvalsh(np.cov(rows.astype(np.float64), rowvar=False)))[::-1]
    cov = np.cov(reduced.matrix.astype(np.float64), rowvar=False)
    assert np.allclose(np.diag(cov), eigen[:3], rtol=1e-4)
    assert np.allclose(cov - np.diag(np.diag(cov)), 0.0, atol=1e-3 * eigen[0])
    assert reduced.meta["pca"]["variance_kept"] == pytest.approx(eigen[:3].sum() / eigen.sum(), rel=1e-5)
    assert reduced.dim == 3 and reduced.words == table.words


def settings(run_dir, dim=16, width=None) -> StudySettings:
    return StudySettings(run_dir, GPTConfig(d_model=dim, n_head=2), seeds=1, log=lambda m: None,
                         tables=TableSettings(width=width))


def test_widths_are_matched_by_rule_never_truncated(run_dir):
    from corpus import PreparedCorpus

    prepared = PreparedCorpus.open(run_dir / "corpus")
    file = TableFile("fasttext", fasttext_path())
    with pytest.raises(InputError, match="width 10 but --dim is 16: pass --table-width project"):
        cache_rows(settings(run_dir), prepared, locate(settings(run_dir), prepared, file, None))
    with pytest.raises(InputError, match="PCA cannot widen it"):
        cache_rows(settings(run_dir), prepared, locate(settings(run_dir), prepared, file, "pca"))
    assert not (run_dir / "table-files").exists() or not any((run_dir / "table-files").rglob("*.npz"))
    narrow = settings(run_dir, dim=4, width="pca")
    arm = locate(narrow, prepared, file, "pca")
    table = cache_rows(narrow, prepared, arm)
    assert table.dim == 4 and table.meta["pca"]["from"] == 10 and arm.table.endswith("-pca4.npz")
    assert isinstance(arm, FileArm) and not arm.project and arm.fields("frozen")["table"] == arm.table


def test_a_file_arm_differs_from_learned_only_in_its_token_embedding_and_is_cached(pretrained_run):
    args = ["--run-dir", str(pretrained_run), *TINY, "--table-file", f"fasttext={fasttext_path()}",
            "--table-width", "project"]
    first = run_cli("pipelines.compare", *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("table file fasttext:") == 1
    summary = json.loads((pretrained_run / "compare" / "summary.json").read_text())
    assert {"fasttext-init", "fasttext-frozen"} <= set(summary["variants"])
    described = summary["table_files"]["fasttext"]
    assert described["rows_scanned"] == 1762 and described["width"] == 10 and described["table_width"] == "project"
    assert 0 < described["vocab_share"] < 1 and described["rows_found"] > 500
    assert "their intervals cover the GPT's randomness alone" in summary["interval_covers"]
    records = {v: json.loads((pretrained_run / "gpt" / v / "seed0" / "result.json").read_text())["record"]
               for v in ("learned", "fasttext-init", "fasttext-frozen")}
    own = {"embedding", "table", "project"}
    for name in ("fasttext-init", "fasttext-frozen"):
        ours, theirs = records[name]["config"], records["learned"]["config"]
        assert {k: v for k, v in ours.items() if k not in own} == {k: v for k, v in theirs.items() if k not in own}
        assert records[name]["table"]["file"].startswith("table-files/")
    again = run_cli("pipelines.compare", *args)
    assert again.returncode == 0 and "table file fasttext:" not in again.stdout  # cached: not read again
    assert again.stdout.count("done before") == len(summary["variants"])


@pytest.mark.parametrize("problem", ["missing", "no-word", "ragged", "nan", "width", "clash", "malformed"])
def test_bad_files_are_one_line_and_write_nothing(pretrained_run, tmp_path, problem):
    path = tmp_path / "vecs.txt"
    texts = {"no-word": "2 16\n" + "".join(f"zzq{i} " + " ".join(["0.5"] * 16) + "\n" for i in range(2)),
             "ragged": "2 16\nthe " + " ".join(["0.5"] * 16) + "\nof 0.5 0.5\n",
             "nan": "1 16\nthe " + " ".join(["nan"] * 16) + "\n",
             "width": "1 10\nthe " + " ".join(["0.5"] * 10) + "\n"}
    if problem in texts:
        path.write_text(texts[problem])
    spec = {"clash": f"glove={path}", "malformed": str(path)}.get(problem, f"mine={path}")
    if problem in ("clash", "malformed"):
        path.write_text(texts["width"])
    before = sorted(p.relative_to(pretrained_run) for p in pretrained_run.rglob("*") if p.name != ".lock")
    result = run_cli("pipelines.compare", "--run-dir", str(pretrained_run), *TINY, "--table-file", spec)
    assert_one_line_error(result)
    assert sorted(p.relative_to(pretrained_run) for p in pretrained_run.rglob("*") if p.name != ".lock") == before


def test_names_a_file_cannot_take():
    for bad in ("Glove", "my-file", "", "cbow", "learned", "shuffled"):
        with pytest.raises(InputError):
            check_name(bad)
    check_name("glove6b_100d")


def test_a_file_arm_in_the_budget_sweep_and_the_data_sweep(pretrained_run):
    files = ["--table-file", f"fasttext={fasttext_path()}", "--table-width", "project"]
    tiny = [a for i, a in enumerate(TINY) if "--tokens" not in TINY[max(0, i - 1):i + 1]]
    sweep = run_cli("pipelines.sweep", "--run-dir", str(pretrained_run), "--budgets", "256", "--arms",
                    "fasttext-frozen", *tiny, *files)
    assert sweep.returncode == 0, sweep.stderr
    summary = json.loads((pretrained_run / "sweep" / "summary.json").read_text())
    assert list(summary["arms"]) == ["learned", "fasttext-frozen"] and "fasttext" in summary["table_files"]
    data = run_cli("pipelines.datasweep", "--run-dir", str(pretrained_run), "--fractions", "1/4", "--epochs", "0.2",
                   "--arms", "fasttext-init", *tiny, *files)
    assert data.returncode == 0, data.stderr
    summary = json.loads((pretrained_run / "datasweep" / "summary.json").read_text())
    assert list(summary["arms"]["fasttext-init"]["fractions"]) == ["1/4"]
    assert "their intervals cover the GPT's randomness alone" in summary["interval_covers"]
    assert "## Vector files" in (pretrained_run / "datasweep" / "summary.md").read_text()
    assert len(list((pretrained_run / "table-files").rglob("*.npz"))) == 1  # read once, for every study
    unknown = run_cli("pipelines.sweep", "--run-dir", str(pretrained_run), "--arms", "other-init", *tiny, *files)
    assert_one_line_error(unknown)


def test_a_cased_word_list_finds_an_uncased_file(tmp_path):
    """A tokenizer file keeps the text's case, so its word list holds Paris: an uncased file's paris serves it,
    while a word the file holds as it is takes its own row."""
    path = tmp_path / "uncased.txt"
    path.write_text("3 2\nparis 1 1\nlondon 2 2\nLondon 3 3\n")
    found = load_for_vocab(path, ["Paris", "London", "Berlin"])
    assert found.words == ["Paris", "London"] and found.matrix[:, 0].tolist() == [1.0, 3.0]
    assert found.meta["exact"] == 1 and found.meta["case_folded"] == 1


def test_coverage_by_frequency_band_by_hand():
    from types import SimpleNamespace

    from corpus.vocab import Vocab
    from study.table_files import coverage

    # ids 3..6: a (train count 1500), b (50), c (5), d (0); the table has a and c, and d as an untrained row
    train = np.array([3] * 1500 + [4] * 50 + [5] * 5 + [2] * 45)
    test = np.array([3] * 10 + [4] * 6 + [5] * 3 + [6] * 1)
    vocab = Vocab(["<pad>", "<unk>", "<eos>", "a", "b", "c", "d"], np.bincount(train, minlength=7))
    prepared = SimpleNamespace(vocab=vocab, train_ids=train, test_ids=test)
    table = EmbeddingTable(["a", "c", "d"], np.ones((3, 2), np.float32), {}, np.array([True, True, False]))
    got = coverage(prepared, table)
    assert got["rows_found"] == 2 and got["vocab_share"] == 0.5
    assert got["train_token_share"] == pytest.approx(1505 / 1600)  # the 45 <eos> count as uncovered tokens
    assert got["test_token_share"] == pytest.approx(13 / 20)
    bands = {b["band"]: b for b in got["bands"]}
    assert list(bands) == ["0", "1-9", "10-99", "1,000+"]  # no token with a count of 100-999
    assert bands["0"]["rows_found"] == 0 and bands["0"]["test_token_share"] == 0.0
    assert bands["1-9"]["vocab_share"] == 1.0 and bands["10-99"]["vocab_share"] == 0.0
    assert bands["1,000+"]["train_token_share"] == 1.0 and bands["10-99"]["test_token_share"] == 0.0


def test_a_word_file_reaches_a_subword_vocabulary(tmp_path):
    """A GPT on a tokenizer file's vocabulary (byte-level BPE): a whole-word token takes its word's row, the
    summary says how many rows each rule gave, and ``--subword-rows random`` gives no combined row."""
    from corpus import PreparedCorpus
    from tests.test_corpus_tokenizer_file import byte_level_bpe, prepare
    from vectors.formats import load_vectors

    run = tmp_path / "run"
    assert prepare(run, byte_level_bpe(tmp_path / "tokenizer.json")).returncode == 0
    tiny = [a for i, a in enumerate(TINY) if "--tokens" not in TINY[max(0, i - 1):i + 1]]
    result = run_cli("pipelines.sweep", "--run-dir", str(run), "--budgets", "256", "--arms", "fasttext-init", *tiny,
                     "--table-file", f"fasttext={fasttext_path()}", "--table-width", "project")
    assert result.returncode == 0, result.stderr
    described = json.loads((run / "sweep" / "summary.json").read_text())["table_files"]["fasttext"]
    prepared = PreparedCorpus.open(run / "corpus")
    subword = described["subword"]
    assert (f"{subword['words_found']:,} of the corpus's {subword['words']:,} words found among 1,762" in result.stdout
            and f"{subword['whole_word']:,} whole-word tokens, {subword['combined']:,} combined" in result.stdout)
    assert subword["rule"] == "combine" and subword["whole_word"] > 100 and subword["combined"] > 100
    assert subword["whole_word"] + subword["combined"] + subword["random"] == len(prepared.vocab)
    assert described["rows_found"] == subword["whole_word"] + subword["combined"]
    assert "tokens are whole words and take their word's row" in (run / "sweep" / "summary.md").read_text()
    [result_file] = list(run.glob("gpt/fasttext-init*/seed0/result.json"))
    assert json.loads(result_file.read_text())["record"]["table"]["subword"] == subword  # the run's record too
    [cached] = list((run / "table-files").rglob("*-combine.npz"))
    table, words = EmbeddingTable.load(cached), load_vectors(fasttext_path())
    the = prepared.vocab.index["Ġthe"]
    assert np.array_equal(table.matrix[the], words.matrix[words.index["the"]])
    assert not table.trained_mask[prepared.vocab.eos_id]
    plain = StudySettings(run, GPTConfig(d_model=16, n_head=2), seeds=1, log=lambda m: None,
                          tables=TableSettings(width="project", subword="random"))
    arm = locate(plain, prepared, TableFile("fasttext", fasttext_path()), "project")
    assert arm.table.endswith("-random.npz")
    random_rows = cache_rows(plain, prepared, arm)
    assert random_rows.meta["subword"]["combined"] == 0
    assert random_rows.meta["subword"]["whole_word"] == subword["whole_word"]
    assert np.array_equal(random_rows.matrix[the], table.matrix[the])


CAPPED_READ = r"""
import resource, sys
import numpy as np
from vectors.align import load_for_vocab

path, size = sys.argv[1], int(sys.argv[2])
with open("/proc/self/status") as status:
    used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
cap = used + 200 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
try:
    bytearray(size)  # the cap bites: the file's text cannot be held
    sys.exit("the memory cap is too loose for this test")
except MemoryError:
    pass
found = load_for_vocab(path, ["w7", "w123456", "w599999", "absent"])
print(found.words, found.meta["rows_scanned"], float(found.matrix[0, 0]))
"""


def test_a_file_larger_than_the_memory_allowed_is_read_keeping_only_the_vocabularys_rows(tmp_path):
    """A 300 MB vector file (gzip) read in a process whose address space may grow by 200 MB alone."""
    import os
    import subprocess
    import sys

    rows, width = 600_000, 100
    tail = " " + " ".join(["0.123456"] * (width - 1)) + "\n"
    path = tmp_path / "big.txt.gz"
    with gzip.open(path, "wt", compresslevel=1) as handle:
        handle.write(f"{rows} {width}\n")
        for start in range(0, rows, 10_000):
            handle.write("".join(f"w{i} {i}{tail}" for i in range(start, start + 10_000)))
    size = rows * (len(tail) + 8)
    assert size > 300 * 2**20
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", CAPPED_READ, str(path), str(size)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("] ")[1].split() == ["600000", "7.0"]
    assert done.stdout.startswith("['w7', 'w123456', 'w599999']")
