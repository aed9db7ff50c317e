"""make bench: its table and bench.json on a tiny corpus, its options beside the defaults, its bad inputs.

Peers are real where installed (gensim always; transformers with the bench extra). Stanford GloVe is not
installed here, so its four programs are stood in for by a small script that reads and writes their formats.
"""

import importlib.util
import json
import stat
import sys

import pytest

from tests.conftest import assert_one_line_error, lee_path, run_module

FAKE_STANFORD = '''#!{python}
"""A stand-in for one of Stanford GloVe's programs (chosen by this file's name), same files and flags."""
import random, struct, sys, collections, os
name = os.path.basename(sys.argv[0])
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
if name == "vocab_count":
    counts = collections.Counter(sys.stdin.read().split())
    for word, n in counts.most_common():
        if n >= int(args["-min-count"]):
            print(word, n)
elif name == "cooccur":
    vocab = {{line.split()[0]: i + 1 for i, line in enumerate(open(args["-vocab-file"]))}}
    out = sys.stdout.buffer
    for line in sys.stdin:
        ids = [vocab[w] for w in line.split() if w in vocab]
        for a, b in zip(ids, ids[1:]):
            out.write(struct.pack("iid", a, b, 1.0))
elif name == "shuffle":
    sys.stdout.buffer.write(sys.stdin.buffer.read())
elif name == "glove":
    rng = random.Random(0)
    with open(args["-save-file"] + ".txt", "w") as handle:
        for line in open(args["-vocab-file"]):
            handle.write(line.split()[0] + " " + " ".join(f"{{rng.gauss(0, 1):.5f}}" for _ in range(int(args["-vector-size"]))) + "\\n")
'''


@pytest.fixture
def glove_dir(tmp_path):
    folder = tmp_path / "GloVe" / "build"
    folder.mkdir(parents=True)
    for name in ("vocab_count", "cooccur", "shuffle", "glove"):
        path = folder / name
        path.write_text(FAKE_STANFORD.format(python=sys.executable))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder.parent


def test_the_bench_prints_one_table_and_writes_bench_json_with_peers_measured_in_the_same_run(tmp_path, glove_dir,
                                                                                               nanogpt_dir):
    from base.cores import available_cores
    from bench.run import figure

    out, work = tmp_path / "bench.json", tmp_path / "work"
    result = run_module("pipelines.bench", "--bench-corpus", str(lee_path()), "--only", "w2v,glove,gpt",
                        "--repeats", "2", "--seeds", "1", "--gpt-steps", "1", "--gpt-repeats", "1",
                        "--glove-dir", str(glove_dir), "--nanogpt-dir", str(nanogpt_dir),
                        "--noise-window", "--work-dir", str(work), "--out", str(out), timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    stages = {row["stage"]: row for row in report["stages"]}
    assert list(stages) == ["cbow", "skipgram", "skipgram noise=window", "glove counting", "glove training",
                            "gpt training fp32", "gpt training bf16", "gpt training fp32 vs nanoGPT",
                            "gpt training bf16 vs nanoGPT"]
    assert report["repeats"] == 2 and "bf16_units" in report["machine"]
    # the settings it ran with, beside its figures
    assert report["settings"]["precisions"] == ["fp32", "bf16"] and report["settings"]["seeds"] == [1]
    assert report["settings"]["work_dir"] == str(work) and report["settings"]["gpt_repeats"] == 1
    assert report["corpus"]["source"] == str(lee_path()) and report["corpus"]["tokens"] > 50_000
    assert report["threads"] == 2 and report["machine"]["cores"] == available_cores()
    for name in ("cbow", "skipgram", "skipgram noise=window"):
        row = stages[name]
        assert row["peer_name"] == "gensim" and row["vocab_match"]  # the same words in both vocabularies
        assert row["ratio"] == pytest.approx(row["ours"] / row["peer"])
        assert row["settings"]["seeds"] == [1] and row["settings"]["threads"] == 2
        assert len(row["ours_runs"]) == len(row["peer_runs"]) == 1 and row["warmup_seconds"] > 0
        assert set(row["quality"]["ours"]) == set(row["quality"]["peer"]) == {"ws353", "simlex999", "google"}
    window = stages["skipgram noise=window"]
    assert window["settings"]["noise"] == "window" and "noise" not in stages["skipgram"]["settings"]
    assert window["peer"] == stages["skipgram"]["peer"]  # against the same gensim runs
    assert "[ours-window] speed (median)" in result.stdout  # and the report of the quality bands
    # Stanford's programs got our train split: the stand-in cooccur writes one record per adjacent pair of
    # vocabulary words on a line, so that is what the bench must count in its file
    vocab = {line.split()[0] for line in open(work / "stanford" / "vocab.txt", encoding="utf-8")}
    pairs = 0
    for line in open(work / "stanford" / "corpus.txt", encoding="utf-8"):
        known = [w for w in line.split() if w in vocab]
        pairs += max(len(known) - 1, 0)
    assert stages["glove counting"]["peer_nonzeros"] == pairs > 0
    glove = stages["glove training"]
    assert glove["peer_name"] == "Stanford GloVe" and glove["ratio"] == pytest.approx(glove["ours"] / glove["peer"])
    # --repeats 2: ours and Stanford's each timed twice, every timing kept, the medians compared
    for row in (glove, stages["glove counting"]):
        assert len(row["ours_runs"]) == len(row["peer_runs"]) == 2
        assert row["ours_min"] <= row["ours"] <= row["ours_max"] and row["peer_min"] <= row["peer"] <= row["peer_max"]
    assert stages["glove counting"]["warmup_seconds"] > 0
    assert set(glove["quality"]["peer"]) == {"ws353", "simlex999", "google"}
    assert (work / "bench.txt").is_file() and (work / "prepared" / "corpus" / "manifest.json").is_file()
    for precision in ("fp32", "bf16"):
        gpt = stages[f"gpt training {precision}"]
        # tied head, no biases: 10k x 128 token rows + 4 blocks of 12 x 128^2 + 2 x 128 + the final norm's 128
        assert gpt["parameters"] == 2_067_584 and gpt["settings"]["precision"] == precision
        if importlib.util.find_spec("transformers") is not None:
            assert gpt["peer_name"] == "transformers GPT2LMHeadModel fp32" and gpt["peer_parameters"] is not None
        else:
            assert gpt["peer"] is None and gpt["ratio"] is None  # no number for a peer that did not run
        nano = stages[f"gpt training {precision} vs nanoGPT"]  # the same timings of ours beside nanoGPT's
        assert nano["ours_runs"] == gpt["ours_runs"] and nano["peer_name"] == "nanoGPT model.py fp32"
        assert nano["ratio"] == pytest.approx(nano["ours"] / nano["peer"])
    table = result.stdout[result.stdout.index("stage "):]
    for name, row in stages.items():
        assert any(line.startswith(name) and figure(row["ours"]) in line for line in table.splitlines())


def test_without_glove_dir_stanford_is_skipped_and_shows_no_number(tmp_path, monkeypatch):
    monkeypatch.delenv("GLOVE_DIR", raising=False)
    out = tmp_path / "bench.json"
    result = run_module("pipelines.bench", "--bench-corpus", str(lee_path()), "--only", "glove", "--random-baseline",
                        "--repeats", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["stages"]
    assert all(row["peer"] is None and row["ratio"] is None and "skipped" in row["peer_name"] for row in rows)
    assert "skipped" in result.stdout
    training = next(row for row in rows if row["stage"] == "glove training")
    assert set(training["quality"]["random"]) == {"ws353", "simlex999", "google"}
    assert "random vectors of the same shape and scale" in result.stdout


@pytest.mark.parametrize("flag", ["--bench-corpus", "--glove-dir"])
def test_a_missing_bench_corpus_or_glove_dir_is_one_line_and_exit_2(tmp_path, flag):
    result = run_module("pipelines.bench", flag, str(tmp_path / "nowhere"), "--out", str(tmp_path / "b.json"))
    assert_one_line_error(result)
    assert "nowhere" in result.stderr
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize("flag, value", [("--only", "w2v,nothing"), ("--w2v-methods", "glove"), ("--seeds", "a")])
def test_a_bad_list_is_one_line_and_exit_2(tmp_path, flag, value):
    result = run_module("pipelines.bench", flag, value, "--out", str(tmp_path / "b.json"))
    assert_one_line_error(result)
    assert flag in result.stderr
    assert not (tmp_path / "b.json").exists()
