"""The data sweep: fractions and arms parsed, every arm of a seed on the same documents, tables of the same
text and of more text, a transfer table aligned by word, resume, plan, outputs, report, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from base.errors import InputError
from pipelines.options import parse_fractions
from study.datasweep import arm_fractions, default_arm_fractions
from study.variants import datasweep_arms, parse_arms
from tests.conftest import _snapshot, assert_one_line_error, run_cli, run_module

TINY = ["--dim", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4", "--evals", "6",
        "--quiet", "--device", "cpu", "--seeds", "2", "--threads-per-run", "1"]
SWEEP = ["--fractions", "1/4,1/2,1", "--arm-fractions", "1/4,1/2", "--epochs", "1"]


def test_fractions_parse_as_fractions_of_the_train_split():
    assert parse_fractions("1/16, 0.5,1,1/2") == [0.0625, 0.5, 1.0]
    for bad in ("0", "1.5", "-1/4", "half", "", "1/0"):
        with pytest.raises(InputError):
            parse_fractions(bad)
    assert default_arm_fractions([1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]) == [1 / 16, 1 / 8, 1 / 4]
    assert default_arm_fractions([0.5, 1.0]) == [0.5]
    arms = parse_arms("glove-init-transfer,skipgram-frozen", datasweep_arms())
    assert [a.name for a in arms] == ["learned", "glove-init-transfer", "skipgram-frozen"]
    assert arm_fractions(arms, [0.25, 1.0], None) == {"learned": [0.25, 1.0], "glove-init-transfer": [0.25],
                                                      "skipgram-frozen": [0.25]}
    with pytest.raises(InputError, match="not among --fractions"):
        arm_fractions(arms, [0.25, 1.0], [0.5])
    with pytest.raises(InputError, match="unknown arm"):
        parse_arms("shuffled-init", datasweep_arms())


def test_every_arm_of_a_seed_trains_on_the_same_documents_for_the_same_tokens():
    from gpt.config import GPTConfig
    from study.plan import datasweep_cells

    arms = parse_arms("glove-init,glove-init-transfer", datasweep_arms())
    tokens = {(f, s): 1000 * (s + 1) + int(f * 100) for f in (0.25, 1.0) for s in range(2)}
    base = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4)
    fractions = {"learned": [0.25, 1.0], "glove-init": [0.25, 1.0], "glove-init-transfer": [0.25]}
    for table_corpus in (False, True):
        cells = datasweep_cells(arms, fractions, 2, base, tokens, table_corpus)
        assert len(cells) == 2 * 3 + 2 * 2
        for cell in cells:
            c = cell.config
            assert c.tokens == tokens[(c.fraction, c.seed)] and c.keep_best
            assert cell.variant.endswith(f"@frac{c.fraction:g}")
        by_variant = {(cell.variant, cell.config.seed): cell.config for cell in cells}
        assert by_variant[("glove-init@frac0.25", 1)].table_data == "fraction"  # the fraction's own table
        assert by_variant[("glove-init@frac1", 1)].table_data == "run"  # the whole split is the run's table
        assert by_variant[("glove-init-transfer@frac0.25", 0)].table_data == (
            "table-corpus" if table_corpus else "run")
        assert ("glove-init-transfer@frac1", 0) not in by_variant


def test_bad_input_is_one_line_and_writes_nothing(pretrained_run, tmp_path):
    before = _files(pretrained_run)
    run = ["--run-dir", str(pretrained_run)]
    for args in (["--fractions", "0"], ["--fractions", "1.5"], ["--fractions", "most"], ["--fractions", ""],
                 ["--arm-fractions", "1/3"], ["--arms", "bogus"], ["--epochs", "0"],
                 ["--table-corpus", str(tmp_path / "missing.txt")],
                 ["--arms", "glove-init", "--table-corpus", str(tmp_path)]):
        assert_one_line_error(run_cli("pipelines.datasweep", *run, *args, *TINY))
    assert _files(pretrained_run) == before
    assert not (tmp_path / "fresh").exists()
    assert_one_line_error(run_cli("pipelines.datasweep", "--run-dir", str(tmp_path / "fresh"), "--fractions", "2"))
    assert not (tmp_path / "fresh").exists()


def test_a_fraction_too_small_for_one_window_is_refused_before_anything_trains(pretrained_run):
    before = _files(pretrained_run)
    refused = run_cli("pipelines.datasweep", "--run-dir", str(pretrained_run), "--fractions", "1/1000,1",
                      *TINY, "--context", "1024")
    assert_one_line_error(refused)
    assert "fraction 0.001 (for seed 0) keeps" in refused.stderr and _files(pretrained_run) == before


def _files(run) -> dict:
    """Every file of a run but its lock, which each command that takes it writes its process id into."""
    return {path: stat for path, stat in _snapshot(run).items() if path != ".lock"}


def _results(run):
    return {p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text())
            for p in (run / "gpt").rglob("result.json")}


def test_the_data_sweep_trains_resumes_plans_and_reports(pretrained_run, tmp_path):
    from corpus.fraction import fraction_ids, fraction_view
    from corpus.prepared import PreparedCorpus
    from vectors import EmbeddingTable

    run = pretrained_run
    planned = tmp_path / "planned"
    shutil.copytree(run, planned)
    args = [*SWEEP, *TINY]
    done = run_module("pipelines.datasweep", "--run-dir", str(run), *args)
    assert done.returncode == 0, done.stderr
    assert "[14/14]" in done.stdout and "ETA" in done.stdout

    prepared = PreparedCorpus.open(run / "corpus")
    results = _results(run)
    assert len(results) == 3 * 2 + 2 * 2 * 2
    for seed in range(2):
        for f in (0.25, 0.5):
            n = len(fraction_ids(prepared.train_ids, prepared.vocab.eos_id, f, seed))
            cell = [results[f"{arm}@frac{f:g}/seed{seed}"] for arm in ("learned", "glove-init", "glove-init-transfer")]
            assert {r["train_tokens"] for r in cell} == {n}  # one set of documents for every arm of a seed
            assert {r["record"]["config"]["tokens"] for r in cell} == {n}  # one epoch of it
            assert len({r["tokens"] for r in cell}) == 1
            same, transfer = cell[1]["record"]["table"], cell[2]["record"]["table"]
            table = EmbeddingTable.load(run / same["file"])
            assert same["file"] == f"embeddings/frac{f:g}/" + (f"seed{seed}/" if seed else "") + "glove.npz"
            assert table.meta["corpus_hash"] == fraction_view(prepared, f, seed).content_hash
            assert table.meta["tokens"] == n and cell[1]["table_corpus"]["tokens"] == n
            assert transfer["file"] == ("embeddings/" + (f"seed{seed}/" if seed else "") + "glove.npz")
            assert "table_corpus" not in cell[2]  # the run's own table: the whole train split
    for r in results.values():
        assert r["test_loss_best_val"] <= r["test_loss"] + 1.0 and "best_val_step" in r
        assert np.isfinite(r["test_loss_rare_in_fraction_best_val"])

    summary = json.loads((run / "datasweep" / "summary.json").read_text())
    assert summary["fractions"] == [0.25, 0.5, 1.0]
    cell = summary["arms"]["glove-init"]["fractions"]["1/4"]
    assert {"value", "where"} <= set(cell["effective_data"])
    assert cell["test_loss"]["per_seed"] == [results[f"glove-init@frac0.25/seed{s}"]["test_loss_best_val"]
                                             for s in range(2)]
    assert {"p_value_holm", "p_value_equivalence", "margin", "verdict"} <= set(cell["difference"])
    assert (run / "datasweep" / "datasweep.png").read_bytes()[:4] == b"\x89PNG"

    again = run_cli("pipelines.datasweep", "--run-dir", str(run), *args)
    assert again.returncode == 0 and again.stdout.count("done before") == 14
    before = _snapshot(run / "gpt")
    other = run_cli("pipelines.datasweep", "--run-dir", str(run), *args, "--epochs", "2")
    assert_one_line_error(other)
    assert "other settings" in other.stderr and _snapshot(run / "gpt") == before

    report = run_cli("pipelines.eval", "--run-dir", str(run))
    assert report.returncode == 0, report.stderr
    assert "## How much text is a table worth?" in (run / "eval" / "report.md").read_text()
    assert (run / "eval" / "datasweep.png").is_file()

    plan_file = tmp_path / "plan.txt"
    plan = run_cli("pipelines.datasweep", "--run-dir", str(planned), *args, "--plan", str(plan_file))
    assert plan.returncode == 0, plan.stderr
    lines = plan_file.read_text().splitlines()
    assert len(lines) == 14 and not (planned / "gpt").exists()
    same_text = [line for line in lines if "--variant glove-init@frac0.25" in line and "--seed 1 " in line]
    assert len(same_text) == 1 and "--table-data fraction" in same_text[0] and "--keep-best" in same_text[0]
    assert "--fraction 0.25" in same_text[0]


def test_a_transfer_table_from_another_corpus_is_aligned_by_word(run_dir, tmp_path):
    """A hand-made table corpus sharing some words with the GPT's: each shared word gets its own row, the
    others none; the run records the table corpus, its tokens and the share of the vocabulary it covers."""
    from corpus.prepare import PrepareConfig, prepare_corpus
    from corpus.sources import resolve_sources
    from gpt.config import GPTConfig
    from study.plan import resolve_run
    from study.settings import StudySettings, TableSettings
    from study.sources import TableSource
    from study.tables import ensure_tables
    from vectors import EmbeddingTable

    text = tmp_path / "tables.txt"
    words = ["government", "people", "police", "zebra", "quasar", "minister"]
    rng = np.random.default_rng(0)
    text.write_text("\n".join(" ".join(rng.choice(words, 30)) for _ in range(60)) + "\n", encoding="utf-8")
    tc_root = run_dir / "table-corpus"
    tc = prepare_corpus(resolve_sources(str(text), documents="lines"), tc_root / "corpus",
                        PrepareConfig(min_count=1, documents="lines"))
    arm = datasweep_arms()["glove-init-transfer"]
    settings = StudySettings(run_dir, GPTConfig(d_model=8), seeds=1, tables=TableSettings(x_max=10.0), threads=1,
                             log=lambda m: None)
    ensure_tables(settings, tc, [arm], TableSource.TABLE_CORPUS)
    table = EmbeddingTable.load(tc_root / "embeddings" / "glove.npz")
    config = GPTConfig(d_model=8, n_layer=1, n_head=2, context=16, batch_size=4, tokens=64, embedding="init",
                       table="glove", table_data="table-corpus", rescale=False)
    run = resolve_run(run_dir, config, "glove-init-transfer", log=lambda m: None)
    vocab = run.prepared.vocab.tokens
    shared = [w for w in words if w in vocab]
    assert set(shared) == {"government", "people", "police", "minister"}  # zebra and quasar are not the GPT's
    for i, word in enumerate(vocab):
        if word in shared:
            assert run.table.found[i]
            assert np.array_equal(run.table.matrix[i], table.vector(word))
        else:
            assert not run.table.found[i]
    recorded = run.record["table"]["corpus"]
    assert recorded == {"corpus_hash": tc.content_hash, "tokens": len(tc.train_ids),
                        "vocab_coverage": pytest.approx(len(shared) / len(vocab))}
    assert run.record["table"]["file"] == "table-corpus/embeddings/glove.npz"


def test_the_table_corpus_of_a_run_is_not_replaced_silently(pretrained_run, tmp_path):
    from corpus.prepared import PreparedCorpus

    vocab = PreparedCorpus.open(pretrained_run / "corpus").vocab.tokens[3:400]  # words of the GPT's, and
    corpus = tmp_path / "more.txt"  # documents of 40 of them, each word in about 10: a vocabulary of its own
    corpus.write_text("\n\n".join(" ".join(vocab[i:i + 40] + ["xenolith"] * 5) for i in range(0, 360, 4)))
    args = ["--run-dir", str(pretrained_run), "--arms", "glove-init-transfer", "--fractions", "1/4,1",
            "--epochs", "1", *TINY, "--seeds", "1"]
    done = run_cli("pipelines.datasweep", *args, "--table-corpus", str(corpus))
    assert done.returncode == 0, done.stderr
    result = _results(pretrained_run)["glove-init-transfer@frac0.25/seed0"]
    manifest = json.loads((pretrained_run / "table-corpus" / "corpus" / "manifest.json").read_text())
    assert result["table_corpus"]["tokens"] == manifest["counts"]["tokens"]["train"]
    assert 0 < result["table_corpus"]["vocab_coverage"] < 1
    assert json.loads((pretrained_run / "datasweep" / "summary.json").read_text())["table_corpus"]["source"] == \
        str(corpus)
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text() + "\nsomething else entirely\n")
    before = _files(pretrained_run)
    refused = run_cli("pipelines.datasweep", *args, "--table-corpus", str(other))
    assert_one_line_error(refused)
    assert "other text" in refused.stderr and _files(pretrained_run) == before


def _tree_hash(run) -> str:
    """sha256 over every file's path and bytes (the lock aside, which each command writes its pid into)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(run.rglob("*")):
        if path.is_file() and path.name != ".lock":
            digest.update(str(path.relative_to(run)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_a_refused_data_sweep_leaves_the_run_directory_byte_identical(pretrained_run, tmp_path):
    """Refusals that used to come after tables were trained or a table corpus prepared: another --lr with a
    new fraction (its same-text tables were trained first), another table source for the transfer arms (a
    dropped --table-corpus trained the run's seed tables; an added one prepared table-corpus/ and its
    tables). Each is one line, exit 2, and not one byte of the run directory changes."""
    from tests.conftest import lee_path

    book = tmp_path / "book.txt"
    lines = lee_path().read_text(encoding="utf-8").splitlines()
    book.write_text("\n\n".join(lines[:150]) + "\n", encoding="utf-8")
    run = pretrained_run
    args = ["--run-dir", str(run), "--fractions", "1/8,1/4", "--arm-fractions", "1/4", "--epochs", "0.5", *TINY]
    with_corpus = run_cli("pipelines.datasweep", *args, "--arms", "learned,glove-init-transfer",
                          "--table-corpus", str(book))
    assert with_corpus.returncode == 0, with_corpus.stderr
    before = _tree_hash(run)
    dropped = run_cli("pipelines.datasweep", *args, "--arms", "learned,glove-init-transfer")
    assert_one_line_error(dropped)
    assert "with other settings" in dropped.stderr and _tree_hash(run) == before

    other = tmp_path / "other"
    shutil.copytree(pretrained_run, other, ignore=shutil.ignore_patterns("gpt", "table-corpus", "datasweep"))
    args = [a if a != str(run) else str(other) for a in args]
    finished = run_cli("pipelines.datasweep", *args, "--arms", "learned,glove-init,glove-init-transfer")
    assert finished.returncode == 0, finished.stderr
    before = _tree_hash(other)
    wider = [a if a != "1/8,1/4" else "1/16,1/8,1/4" for a in args]
    for refused in (run_cli("pipelines.datasweep", *wider, "--arms", "learned,glove-init", "--arm-fractions",
                            "1/16,1/4", "--lr", "0.01"),
                    run_cli("pipelines.datasweep", *args, "--arms", "learned,glove-init,glove-init-transfer",
                            "--table-corpus", str(book))):
        assert_one_line_error(refused)
        assert "with other settings" in refused.stderr and _tree_hash(other) == before
    assert not (other / "table-corpus").exists() and not (other / "embeddings" / "frac0.0625").exists()


def test_fractions_keep_their_exact_identity_in_folders_labels_and_pairs(run_dir):
    """Two fractions equal to six digits: each its own folder and label (before, both were frac0.333333 and
    "1/3": the second was refused as other settings, or with --fresh mixed into the first's summary)."""
    from base.layout import fraction_label
    from study.datasweep_summary import fraction_text

    assert fraction_label(0.3333333) != fraction_label(0.3333334)
    assert [fraction_text(f) for f in (1e-5, 4e-5, 1e-9, 1 / 3, 0.3333334, 0.0625)] == \
        ["1e-05", "4e-05", "1e-09", "1/3", "0.3333334", "1/16"]
    sweep = run_cli("pipelines.datasweep", "--run-dir", str(run_dir), "--fractions", "0.3333333,0.3333334",
                    "--arms", "learned", "--epochs", "0.2", *TINY[:-6], "--seeds", "1", "--threads-per-run", "1")
    assert sweep.returncode == 0, sweep.stderr
    assert sorted(p.name for p in (run_dir / "gpt").iterdir()) == ["learned@frac0.3333333", "learned@frac0.3333334"]
    summary = json.loads((run_dir / "datasweep" / "summary.json").read_text())
    assert summary["fraction_labels"] == ["0.3333333", "0.3333334"]
    refused = run_cli("pipelines.datasweep", "--run-dir", str(run_dir), "--fractions", "1/64,1/32",
                      "--arm-fractions", "0.0156250001", "--arms", "learned")
    assert_one_line_error(refused)
    assert "--arm-fractions 0.0156250001 not among --fractions" in refused.stderr


@pytest.mark.parametrize("command, flag, value", [
    ("pipelines.compare", "--margin", "nan"), ("pipelines.sweep", "--margin", "inf"),
    ("pipelines.datasweep", "--margin", "nan"), ("pipelines.datasweep", "--margin", "0"),
    ("pipelines.datasweep", "--epochs", "nan"), ("pipelines.datasweep", "--epochs", "inf"),
    ("pipelines.datasweep", "--table-corpus", ""), ("pipelines.datasweep", "--table-corpus", " "),
])
def test_values_no_study_can_use_are_refused_when_read(tmp_path, command, flag, value):
    """Before: --margin inf wrote Infinity into summary.json, --margin nan and --epochs nan/inf raised after
    every run trained, an empty --table-corpus quietly meant the run's corpus."""
    run = tmp_path / "run"
    arms = {"pipelines.compare": [], "pipelines.sweep": ["--arms", "learned"],
            "pipelines.datasweep": ["--arms", "learned,glove-init-transfer"]}[command]
    result = run_cli(command, "--run-dir", str(run), flag, value, *arms)
    assert_one_line_error(result)
    assert flag in result.stderr and not run.exists()


def test_a_one_paragraph_book_is_read_by_lines_as_advised_and_a_low_coverage_is_said(pretrained_run, tmp_path):
    """A table corpus without blank lines is one document: the refusal advises --documents lines, which the
    data sweep now takes for its table corpus (before: "no such option"); a corpus that covers a sliver of
    the GPT's vocabulary trains with a warning that gives the figure."""
    book = tmp_path / "book.txt"
    words = ["government", "people", "police", "zebra", "quasar", "minister"]
    rng = np.random.default_rng(0)
    book.write_text("\n".join(" ".join(rng.choice(words, 30)) for _ in range(60)) + "\n", encoding="utf-8")
    args = ["--run-dir", str(pretrained_run), "--fractions", "1/4", "--arms", "learned,glove-init-transfer",
            "--epochs", "0.2", *TINY[:-4], "--seeds", "1", "--threads-per-run", "1", "--table-corpus", str(book)]
    refused = run_cli("pipelines.datasweep", *args)
    assert_one_line_error(refused)
    assert "--documents lines" in refused.stderr and not (pretrained_run / "gpt").exists()
    done = run_cli("pipelines.datasweep", *args, "--documents", "lines", "--min-count", "1")
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stdout.splitlines() if line.startswith("warning: the table corpus")]
    assert len(warning) == 1 and "covers 0.10% of the GPT's vocabulary (4 of 3,902 words)" in warning[0], done.stdout


def test_a_dangling_or_looping_run_dir_link_and_an_underflowing_fraction_are_one_line(tmp_path):
    dangling, looping = tmp_path / "dangling", tmp_path / "looping"
    dangling.symlink_to(tmp_path / "nowhere")
    looping.symlink_to(looping)
    for link in (dangling, looping):
        result = run_cli("pipelines.datasweep", "--run-dir", str(link), "--arms", "learned")
        assert_one_line_error(result)  # before: "File exists", exit 1
        assert "symbolic link to nothing" in result.stderr and link.is_symlink()
    tiny = run_cli("pipelines.datasweep", "--run-dir", str(tmp_path / "run"), "--fractions", "1e-400,1")
    assert_one_line_error(tiny)
    assert "--fractions: 1e-400 is not a fraction in (0, 1]" in tiny.stderr
