"""study.sources and the default run names: where a table comes from, each source's own folder, the one
function that finds, checks and loads a table, and the messages that name what is missing."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from base.errors import InputError
from gpt.config import GPTConfig
from study.sources import TableSource, is_run_table, load_table, source_of, table_label, table_path
from study.variants import variant_name
from tests.conftest import assert_one_line_error, run_cli

TINY = ("--d-model", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4",
        "--tokens", "256", "--evals", "2", "--eval-windows", "2", "--threads", "1", "--quiet")


def init(table: str, **fields) -> GPTConfig:
    return GPTConfig(embedding="init", table=table, **fields)


def test_labels_tell_run_tables_from_files():
    assert is_run_table("skipgram") and not is_run_table("glove.txt") and not is_run_table("vecs/w2v")
    assert table_label("path/to/GoogleNews.bin.gz") == "file-GoogleNews"  # never a run table's name
    assert table_label("vecs.txt") == "file-vecs" and table_label("skipgram") == "skipgram"


def test_default_folder_names():
    assert variant_name(GPTConfig()) == "learned"
    assert variant_name(GPTConfig(position="alibi")) == "pos-alibi"
    assert variant_name(GPTConfig(fraction=0.25)) == "learned-frac0.25"
    assert variant_name(init("glove", rescale=False)) == "glove-init-raw"
    assert variant_name(GPTConfig(embedding="frozen", table="glove", position="rope")) == "glove-frozen-pos-rope"
    assert variant_name(init("glove", fraction=0.125)) == "glove-init-frac0.125"
    assert variant_name(init("glove", fraction=0.125, table_data="fraction")) == "glove-init-sametext-frac0.125"
    assert variant_name(init("glove", table_data="table-corpus")) == "glove-init-transfer"
    assert variant_name(init("vecs/w2v.bin", d_model=16)) == "file-w2v-init"


def test_every_source_of_one_table_has_its_own_default_folder():
    configs = [init("glove", fraction=0.25, table_data=s) for s in ("run", "fraction", "table-corpus")]
    configs.append(init("glove.txt", fraction=0.25))
    assert [source_of(c) for c in configs] == list(TableSource)
    names = [variant_name(c) for c in configs]
    assert len(set(names)) == len(names), names


@pytest.mark.parametrize("fields, message", [
    ({"embedding": "init", "table": "vecs.txt", "table_data": "fraction"}, "vector file has none"),
    ({"embedding": "init", "table": "vecs.txt", "table_seed": 1}, "no seeds"),
    ({"embedding": "init", "table": "glove", "table_data": "fraction"}, "needs a --fraction below 1"),
    ({"embedding": "init", "table": "glove", "table_data": "elsewhere"}, "unknown table data"),
    ({"table_data": "fraction", "fraction": 0.5}, "a learned embedding has none"),
])
def test_impossible_sources_are_refused_before_anything_is_read(tmp_path, fields, message):
    with pytest.raises(InputError, match=message):
        load_table(tmp_path, GPTConfig(**fields))


def test_where_each_source_keeps_its_tables(tmp_path):
    from base.layout import RunLayout

    layout = RunLayout(tmp_path)
    assert table_path(layout, TableSource.RUN, "glove", 0, 0.25) == tmp_path / "embeddings" / "glove.npz"
    assert table_path(layout, TableSource.RUN, "glove", 2) == tmp_path / "embeddings" / "seed2" / "glove.npz"
    assert table_path(layout, TableSource.FRACTION, "glove", 1, 0.25) == \
        tmp_path / "embeddings" / "frac0.25" / "seed1" / "glove.npz"
    assert table_path(layout, TableSource.TABLE_CORPUS, "cbow", 0) == \
        tmp_path / "table-corpus" / "embeddings" / "cbow.npz"


def test_a_run_table_is_loaded_with_its_file_recorded(pretrained):
    found = load_table(pretrained, init("glove", d_model=16))
    assert found.file["file"] == "embeddings/glove.npz" and len(found.file["file_sha256"]) == 64
    assert not found.other_text and found.table.dim == 16
    transfer = pretrained / "embeddings" / "glove.npz"
    assert np.array_equal(found.table.matrix, __import__("vectors").EmbeddingTable.load(transfer).matrix)


def test_missing_tables_name_their_source_and_remedy(pretrained, tmp_path):
    hint = f"pipelines.pretrain --run-dir {pretrained} --methods glove --dim 128 --x-max 10 --seed 3"
    with pytest.raises(InputError, match=rf"no table 'glove' in the run: .*seed3.*{hint}"):
        load_table(pretrained, init("glove", seed=3))
    with pytest.raises(InputError, match=r"pretrained on the fraction text: .*frac0.5.*pipelines.datasweep"):
        load_table(pretrained, init("glove", fraction=0.5, table_data="fraction"))
    with pytest.raises(InputError, match="no vector file"):
        load_table(pretrained, init(str(tmp_path / "absent.txt")))


def test_a_table_of_another_seed_is_refused(pretrained_run):
    seed1 = pretrained_run / "embeddings" / "seed1"
    seed1.mkdir()
    for suffix in (".npz", ".json"):
        shutil.copy(pretrained_run / "embeddings" / f"glove{suffix}", seed1 / f"glove{suffix}")
    with pytest.raises(InputError, match=f"trained with seed 0, not 1.*--run-dir {pretrained_run}"):
        load_table(pretrained_run, init("glove", seed=1))


def test_a_same_text_run_and_a_run_table_run_do_not_share_a_folder(pretrained_run):
    """train_gpt --fraction with the run's table and with the fraction's own table: each in its default
    folder (before, both defaulted to glove-init-frac0.25 and the second was refused as other settings)."""
    from study.settings import StudySettings, TableSettings
    from study.tables import ensure_tables
    from study.variants import datasweep_arms
    from corpus import PreparedCorpus

    settings = StudySettings(pretrained_run, GPTConfig(d_model=16), seeds=1, tables=TableSettings(x_max=10.0),
                             threads=1, log=lambda m: None)
    prepared = PreparedCorpus.open(pretrained_run / "corpus")
    ensure_tables(settings, prepared, [datasweep_arms()["glove-init"]], TableSource.FRACTION, (0.25,))
    args = ["--run-dir", str(pretrained_run), "--embedding", "init:glove", "--fraction", "0.25", *TINY]
    assert run_cli("pipelines.train_gpt", *args).returncode == 0
    same_text = run_cli("pipelines.train_gpt", *args, "--table-data", "fraction")
    assert same_text.returncode == 0, same_text.stderr
    runs = sorted(p.parent.parent.name for p in (pretrained_run / "gpt").glob("*/seed0/result.json"))
    assert runs == ["glove-init-frac0.25", "glove-init-sametext-frac0.25"]
    record = json.loads((pretrained_run / "gpt" / runs[1] / "seed0" / "result.json").read_text())["record"]
    assert record["table"]["file"] == "embeddings/frac0.25/glove.npz" and "corpus" in record["table"]


def test_train_gpt_refuses_a_source_a_file_cannot_have(pretrained_run, tmp_path):
    vectors = tmp_path / "vecs.txt"
    vectors.write_text("2 16\n" + "".join(f"w{i} " + " ".join(["0.1"] * 16) + "\n" for i in range(2)))
    result = run_cli("pipelines.train_gpt", "--run-dir", str(pretrained_run), "--embedding", f"init:{vectors}",
                     "--table-data", "fraction", "--fraction", "0.5", *TINY)
    assert_one_line_error(result)
    assert "vector file" in result.stderr
    assert not (pretrained_run / "gpt").exists()
