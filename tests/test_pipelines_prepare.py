import json

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
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9 one\n\nmore text here\n\neven more text\n")
    result = run_cli("pipelines.prepare", "--run-dir", str(tmp_path / "r"), "--corpus", str(latin),
                     "--min-count", "1", "--encoding-errors", "replace", "--val-fraction", "0.3",
                     "--test-fraction", "0.3")
    assert result.returncode == 0, result.stderr
