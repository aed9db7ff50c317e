"""base.layout: every path of RunLayout against the run-directory layout of its docstring and of
docs/conventions.md, written out by hand."""

import dataclasses
from pathlib import Path

import pytest

from base import layout as layout_module
from base.layout import TABLE_SUFFIXES, RunLayout, fraction_label

ROOT = Path("/runs/lee")


@pytest.fixture
def layout():
    return RunLayout("/runs/lee")


def test_root_is_a_path_from_a_string_or_a_path(tmp_path):
    assert RunLayout("/runs/lee").root == ROOT
    assert isinstance(RunLayout("runs/default").root, Path)
    assert RunLayout(ROOT) == RunLayout("/runs/lee")
    assert RunLayout("runs/a") != RunLayout("runs/b")
    assert RunLayout("runs/default").corpus == Path("runs/default/corpus")  # relative stays relative


def test_a_layout_is_frozen(layout):
    with pytest.raises(dataclasses.FrozenInstanceError):
        layout.root = Path("/elsewhere")


def test_nothing_is_created_or_read(tmp_path):
    layout = RunLayout(tmp_path / "run")
    paths = [layout.corpus, layout.manifest, layout.tables(3), layout.table("glove"), layout.checkpoints("cbow"),
             layout.gpt_run("learned", 1), layout.compare, layout.eval, layout.table_corpus.corpus]
    assert len(paths) == 9
    assert list(tmp_path.iterdir()) == []


def test_corpus_paths(layout):
    assert layout.corpus == Path("/runs/lee/corpus")
    assert layout.manifest == Path("/runs/lee/corpus/manifest.json")


def test_tables_of_seed_zero_and_other_seeds(layout):
    assert layout.tables() == Path("/runs/lee/embeddings")
    assert layout.tables(0) == Path("/runs/lee/embeddings")
    assert layout.tables(1) == Path("/runs/lee/embeddings/seed1")
    assert layout.tables(12) == Path("/runs/lee/embeddings/seed12")


def test_tables_of_a_fraction(layout):
    assert layout.tables(0, 0.125) == Path("/runs/lee/embeddings/frac0.125")
    assert layout.tables(2, 0.5) == Path("/runs/lee/embeddings/frac0.5/seed2")
    assert layout.tables(2, 1.0) == Path("/runs/lee/embeddings/seed2")  # the whole split: no frac folder
    assert layout.tables(fraction=1) == Path("/runs/lee/embeddings")


@pytest.mark.parametrize("fraction, label", [
    (0.125, "frac0.125"), (0.5, "frac0.5"), (1 / 16, "frac0.0625"), (0.25, "frac0.25"), (1.0, "frac1"),
    (1 / 3, "frac0.3333333333333333"), (0.3333334, "frac0.3333334"), (1e-5, "frac1e-05"), (1e-9, "frac1e-09"),
])
def test_fraction_label(fraction, label):
    assert fraction_label(fraction) == label


def test_table_files(layout):
    assert TABLE_SUFFIXES == (".npz", ".txt", ".json")
    assert layout.table("skipgram") == Path("/runs/lee/embeddings/skipgram.npz")
    assert [layout.table("glove", suffix=s) for s in TABLE_SUFFIXES] == [
        Path("/runs/lee/embeddings/glove.npz"), Path("/runs/lee/embeddings/glove.txt"),
        Path("/runs/lee/embeddings/glove.json")]
    assert layout.table("cbow", 3, ".txt") == Path("/runs/lee/embeddings/seed3/cbow.txt")
    assert layout.table("glove", 1, ".json", 0.25) == Path("/runs/lee/embeddings/frac0.25/seed1/glove.json")


def test_checkpoints(layout):
    assert layout.checkpoints("cbow") == Path("/runs/lee/embeddings/.checkpoints/cbow")
    assert layout.checkpoints("glove", 2) == Path("/runs/lee/embeddings/seed2/.checkpoints/glove")
    assert layout.checkpoints("skipgram", 0, 0.5) == Path("/runs/lee/embeddings/frac0.5/.checkpoints/skipgram")


def test_gpt_runs(layout):
    assert layout.gpt == Path("/runs/lee/gpt")
    assert layout.gpt_variant("skipgram-init") == Path("/runs/lee/gpt/skipgram-init")
    assert layout.gpt_run("skipgram-init", 0) == Path("/runs/lee/gpt/skipgram-init/seed0")
    assert layout.gpt_run("pos-rope", 2) == Path("/runs/lee/gpt/pos-rope/seed2")


def test_studies_and_eval(layout):
    assert layout.compare == Path("/runs/lee/compare")
    assert layout.compare_positions == Path("/runs/lee/compare-positions")
    assert layout.sweep == Path("/runs/lee/sweep")
    assert layout.datasweep == Path("/runs/lee/datasweep")
    assert [layout.study(n) for n in ("compare", "compare-positions", "sweep", "datasweep")] == [
        layout.compare, layout.compare_positions, layout.sweep, layout.datasweep]
    assert layout.eval == Path("/runs/lee/eval")


def test_table_corpus_is_a_run_directory_inside_the_run(layout):
    inner = layout.table_corpus
    assert isinstance(inner, RunLayout)
    assert inner.root == Path("/runs/lee/table-corpus")
    assert inner.corpus == Path("/runs/lee/table-corpus/corpus")
    assert inner.manifest == Path("/runs/lee/table-corpus/corpus/manifest.json")
    assert inner.table("glove", 1) == Path("/runs/lee/table-corpus/embeddings/seed1/glove.npz")


def test_conventions_file_names_sit_where_the_conventions_say(layout):
    """Each folder of docs/conventions.md's "Files in a run directory" block, relative to the run."""
    def rel(path):
        return path.relative_to(ROOT).as_posix()

    assert rel(layout.corpus) == "corpus"
    assert rel(layout.table("cbow").parent) == "embeddings"
    assert rel(layout.gpt_run("learned", 1)) == "gpt/learned/seed1"
    assert rel(layout.compare) == "compare"
    assert rel(layout.compare_positions) == "compare-positions"
    assert rel(layout.sweep) == "sweep"
    assert rel(layout.datasweep) == "datasweep"
    assert rel(layout.table_corpus.root) == "table-corpus"
    assert rel(layout.eval) == "eval"


@pytest.mark.parametrize("root", ["/runs/lee", "runs/default", "relative/deeper/run"])
@pytest.mark.parametrize("variant, seed", [("learned", 0), ("glove-frozen", 4), ("pos-alibi", 11)])
def test_of_gpt_run_round_trip(root, variant, seed):
    layout = RunLayout(root)
    run = layout.gpt_run(variant, seed)
    assert RunLayout.of_gpt_run(run) == layout
    assert RunLayout.of_gpt_run(str(run)) == layout
    assert RunLayout.of_gpt_run(run).gpt_run(variant, seed) == run


def test_of_gpt_run_of_a_table_corpus_run():
    inner = RunLayout("/runs/lee").table_corpus
    assert RunLayout.of_gpt_run(inner.gpt_run("learned", 2)) == inner


def test_gpt_run_name(layout):
    module = layout_module
    assert module.gpt_run_name("glove-init", 2) == "glove-init/seed2"
    assert layout.gpt / module.gpt_run_name("glove-init", 2) == layout.gpt_run("glove-init", 2)
