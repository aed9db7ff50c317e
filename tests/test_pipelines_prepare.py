import json

from corpus.prepared import PreparedCorpus
from tests.conftest import assert_one_line_error, lee_path, run_cli, run_module


def test_prepare_cli_writes_the_run_directory_and_skips_a_rerun(tmp_path):
    run = tmp_path / "runs" / "lee"
    args = ["--run-dir", str(run), "--corpus", str(lee_path()), "--documents", "lines", "--min-count", "2",
            "--val-fraction", "0.05", "--test-fraction", "0.05"]
    first = run_module("pipelines.prepare", *args)
    assert first.returncode == 0, first.stderr
    assert "prepared" in first.stdout
    names = sorted(p.name for p in (run / "corpus").iterdir())
    assert names == ["manifest.json", "test.ids", "train.ids", "val.ids", "vocab.tsv"]
    manifest = json.loads((run / "corpus" / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["config"]["min_count"] == 2
    second = run_cli("pipelines.prepare", *args)
    assert second.returncode == 0 and "up to date" in second.stdout


def _assert_nothing_written(run):
    assert not run.exists(), list(run.rglob("*"))


def test_bad_inputs_exit_2_with_one_line_and_write_nothing(tmp_path):
    run = tmp_path / "runs" / "bad"
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 10)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9\n\nmore text\n\neven more\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    cases = [
        (["--corpus", str(tmp_path / "missing.txt")], "not found"),
        (["--corpus", str(binary)], "binary"),
        (["--corpus", str(latin)], "invalid UTF-8 at byte offset 3"),
        (["--corpus", str(empty)], "empty"),
        (["--corpus", str(lee_path()), "--documents", "lines", "--min-count", "100000"], "vocabulary is empty"),
        (["--corpus", str(lee_path())], "too small"),
        (["--corpus", str(lee_path()), "--val-fraction", "0.9"], "--val-fraction"),
        (["--encoding-errors", "ignore"], "encoding-errors"),
        (["--no-such-flag"], "no-such-flag"),
    ]
    for extra, message in cases:
        result = run_cli("pipelines.prepare", "--run-dir", str(run), *extra)
        assert_one_line_error(result)
        assert message in result.stderr, (extra, result.stderr)
        _assert_nothing_written(run)


def test_encoding_errors_replace_lets_invalid_utf8_through(tmp_path):
    # Latin-1 "é" (byte 0xE9) in every document, so the train split has it whichever document it gets.
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9 one\n\nmore caf\xe9 text here\n\neven more caf\xe9 text\n")
    run = tmp_path / "r"
    args = ["--run-dir", str(run), "--corpus", str(latin), "--min-count", "1", "--val-fraction", "0.3",
            "--test-fraction", "0.3"]
    # Strict (the default) refuses: exit 2, one line naming the byte, nothing written.
    strict = run_cli("pipelines.prepare", *args)
    assert_one_line_error(strict)
    assert "invalid UTF-8 at byte offset 3" in strict.stderr
    _assert_nothing_written(run)
    explicit = run_cli("pipelines.prepare", *args, "--encoding-errors", "strict")
    assert_one_line_error(explicit)
    _assert_nothing_written(run)

    result = run_cli("pipelines.prepare", *args, "--encoding-errors", "replace")
    assert result.returncode == 0, result.stderr
    prepared = PreparedCorpus.open(run / "corpus")
    assert prepared.config["encoding_errors"] == "replace"
    # The bad byte became U+FFFD, a symbol token of its own after "caf" (not dropped, not read as Latin-1).
    vocab = prepared.vocab
    assert "\ufffd" in vocab and "caf" in vocab
    assert "café" not in vocab and "cafe" not in vocab and "caf\ufffd" not in vocab
    assert vocab.counts[vocab.index["\ufffd"]] == vocab.counts[vocab.index["caf"]] == 1  # one train document
    # Every document, whichever split it went to, reads "caf", U+FFFD: one per document, none lost.
    tokens = [t for split in ("train", "val", "test") for t in vocab.decode(prepared.ids(split))]
    assert tokens.count("\ufffd") == 3
    assert [tokens[i - 1] for i, t in enumerate(tokens) if t == "\ufffd"] == ["caf"] * 3
