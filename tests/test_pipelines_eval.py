"""``python -m pipelines.eval``: the --vectors table, the JSON of the conventions, the run report, bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from vectors import EmbeddingTable
from vectors.evaluate import BUILTIN_BENCHMARKS, evaluate_table
from vectors.formats import save_glove, save_word2vec

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    """``python -m pipelines.eval args`` in this process (tests.conftest.run_cli)."""
    return run_cli("pipelines.eval", *map(str, args))


def run_subprocess(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pipelines.eval", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, env=_env())


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def table():
    """Words of every built-in benchmark (lower-case, as a lower-cased corpus has them) plus fillers."""
    words = []
    for name in ("ws353", "simlex999", "google"):
        for line in open(BUILTIN_BENCHMARKS[name].path, encoding="utf-8"):
            if not line.startswith(("#", ":")):
                words += line.lower().replace("\t", " ").split()[:4 if name == "google" else 2]
    words = list(dict.fromkeys(words)) + [f"filler{i}" for i in range(300)]
    rng = np.random.default_rng(0)
    return EmbeddingTable(words, rng.standard_normal((len(words), 16)).astype(np.float32), {"method": "test"})


def test_vectors_mode_prints_one_table_and_writes_the_json(table, tmp_path):
    vec = tmp_path / "vecs.txt"
    save_word2vec(table, vec)
    pairs = tmp_path / "mine.tsv"
    pairs.write_text("king\tqueen\t8.5\nking\tcabbage\t0.5\ncat\tdog\t7\n", encoding="utf-8")
    analogies = tmp_path / "myq.txt"
    analogies.write_text(": royal\nking queen man woman\nman woman king queen\n", encoding="utf-8")
    out = tmp_path / "out" / "eval.json"
    r = run("--vectors", vec, "--format", "word2vec", "--pairs", pairs, "--analogies", analogies,
            "--json", out, "--neighbours", "king", "--neighbours", "qwertyuiop", "--topn", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = next(i for i, l in enumerate(lines) if l.startswith("benchmark"))
    names = [l.split()[0] for l in lines[header + 1:header + 6]]
    assert names == ["ws353", "simlex999", "google", "mine", "myq"]
    assert any(l.startswith("king: ") and l.count(",") == 2 for l in lines)
    assert "qwertyuiop: not in the table" in r.stdout
    report = json.loads(out.read_text())
    assert list(report["benchmarks"]) == names
    expected = evaluate_table(table, pairs=[str(pairs)], analogies=[str(analogies)])
    assert report["benchmarks"] == json.loads(json.dumps(expected["benchmarks"]))
    ws = report["benchmarks"]["ws353"]
    assert ws["kind"] == "pairs" and {"spearman", "pearson", "oov_ratio", "n"} <= set(ws)
    google = report["benchmarks"]["google"]
    assert google["kind"] == "analogies" and {"accuracy", "sections", "oov_ratio", "n"} <= set(google)
    assert google["n"] == 19544 and google["oov_ratio"] == 0.0
    assert report["benchmarks"]["myq"]["n"] == 2 and report["benchmarks"]["mine"]["n"] == 3
    assert [w for w, _ in report["neighbours"]["king"]] and report["neighbours"]["qwertyuiop"] is None
    assert sorted(p.name for p in out.parent.iterdir()) == ["eval.json"]


def test_other_formats_options_and_sections(table, tmp_path):
    glove = tmp_path / "vecs.glove"
    save_glove(table, glove)
    r = run("--vectors", glove, "--no-builtin", "--analogies", BUILTIN_BENCHMARKS["google"].path,
            "--restrict-vocab", "500", "--method", "3cosmul", "--sections", "--case-sensitive")
    assert r.returncode == 0, r.stderr
    assert "questions-words  analogies" in r.stdout and "capital-common-countries" in r.stdout
    assert "3cosmul, restrict-vocab 500" in r.stdout
    native = tmp_path / "t.npz"
    table.save(native)
    r = run("--vectors", native, "--no-builtin", "--pairs", BUILTIN_BENCHMARKS["ws353"].path)
    assert r.returncode == 0 and "wordsim353" in r.stdout


def test_run_dir_mode_reports_every_table(table, tmp_path):
    run_dir = tmp_path / "runs" / "x"
    (run_dir / "embeddings").mkdir(parents=True)
    table.save(run_dir / "embeddings" / "skipgram.npz")
    shifted = EmbeddingTable(table.words, table.matrix[::-1].copy(), {"method": "cbow"})
    shifted.save(run_dir / "embeddings" / "cbow.npz")
    r = run("--run-dir", run_dir, "--restrict-vocab", "2000")
    assert r.returncode == 0, r.stderr
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    assert list(report["tables"]) == ["cbow", "skipgram"] and report["compare"] is None
    assert set(report["tables"]["skipgram"]["benchmarks"]) == {"ws353", "simlex999", "google"}
    md = (run_dir / "eval" / "report.md").read_text()
    assert "| skipgram |" in md and "| cbow |" in md and "google" in md


def test_bad_input_is_one_line_and_exit_2(table, tmp_path):
    """Through ``python -m`` (usage errors go through main_entry) and, for speed, in process."""
    from click.testing import CliRunner

    from pipelines.eval import cli

    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\na 1 2 3\nb 1 two 3\n", encoding="utf-8")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    good = tmp_path / "good.txt"
    save_word2vec(table, good)
    out = tmp_path / "never.json"
    in_process = [
        (["--vectors", empty, "--json", out], "empty file"),
        (["--vectors", tmp_path / "missing.txt"], "no such vector file"),
        (["--vectors", good, "--pairs", tmp_path / "nope.tsv", "--json", out], "no such benchmark file"),
        (["--vectors", good, "--restrict-vocab", "0"], "--restrict-vocab"),
        (["--vectors", good, "--topn", "0", "--neighbours", "king"], "--topn"),
        (["--run-dir", tmp_path / "no-run"], "no tables in"),
    ]
    runner = CliRunner()
    for args, needle in in_process:
        r = runner.invoke(cli, [str(a) for a in args])
        assert r.exit_code == 2, (args, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, (args, r.stderr)
    subprocesses = [
        (["--vectors", bad, "--json", out], "bad.txt:3: 'two' is not a number"),
        (["--vectors", good, "--format", "fasttext"], "fasttext"),
        (["--vectors", good, "--bogus-option"], "bogus"),
    ]
    for args, needle in subprocesses:
        r = run_subprocess(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not out.exists()
