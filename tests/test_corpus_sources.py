"""Source formats: JSONL, text8 (plain and zipped), TinyStories-style separators, and BPE subwords."""

import json
import zipfile

import numpy as np
import pytest

from corpus.bpe import PieceTable, join_pieces
from base.errors import InputError
from corpus.prepare import PrepareConfig, prepare_corpus
from corpus.sources import JsonlSource, Text8Source, TextFileSource, detect_format, resolve_sources
from tests.conftest import assert_one_line_error, lee_path, run_cli


def test_jsonl_reads_the_text_field(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [{"text": "First doc.", "id": 1}, {"text": "Second doc."}, {"text": "  "}, {"body": "x", "text": "3"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert list(JsonlSource(path)) == ["First doc.", "Second doc.", "3"]
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"body": "Body text."}) + "\n", encoding="utf-8")
    assert list(JsonlSource(other, text_field="body")) == ["Body text."]
    assert detect_format(path) == "jsonl" and detect_format(tmp_path / "a.jsonl.gz") == "jsonl"


@pytest.mark.parametrize("content, message", [('{"text": "ok"}\n{broken\n', r"docs.jsonl:2: not valid JSON"),
                                              ('{"body": "x"}\n', "no field 'text'"),
                                              ('{"text": 5}\n', "not a string")])
def test_jsonl_bad_lines_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "docs.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        list(JsonlSource(path))


def test_text8_plain_and_zipped_cut_into_documents(tmp_path):
    words = [f"w{i % 37}" for i in range(25_003)]
    plain = tmp_path / "text8"
    plain.write_text(" " + " ".join(words), encoding="utf-8")
    zipped = tmp_path / "text8.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(plain, "text8")
    for path in (plain, zipped):
        assert detect_format(path) == "text8"
        docs = list(Text8Source(path))
        assert [len(d.split()) for d in docs] == [10_000, 10_000, 5_003]
        assert " ".join(docs).split() == words


def test_endoftext_separates_stories_in_text_files(tmp_path):
    path = tmp_path / "TinyStories-valid.txt"
    path.write_text("Tom had a ball.\nHe was happy.\n<|endoftext|>\nSue ran.\n<|endoftext|>Max sat.\n",
                    encoding="utf-8")
    assert list(TextFileSource(path)) == ["Tom had a ball.\nHe was happy.", "Sue ran.", "Max sat."]


def test_piece_table_expands_words_to_their_pieces():
    table = PieceTable([np.array([5]), np.array([7, 8, 9]), np.array([3, 4])])
    np.testing.assert_array_equal(table.expand(np.array([1, 0, 2, 1])), [7, 8, 9, 5, 3, 4, 7, 8, 9])
    assert join_pieces(["un", "happ", "y</w>", ",</w>", "<eos>", "cat</w>"]) == ["unhappy", ",", "<eos>", "cat"]


def test_bpe_corpus_round_trips_text(tmp_path):
    config = PrepareConfig(documents="lines", tokenizer="bpe", vocab_size=600, val_fraction=0.05,
                           test_fraction=0.05)
    prepared = prepare_corpus(resolve_sources(str(lee_path()), documents="lines"), tmp_path / "r" / "corpus",
                              config)
    vocab = prepared.vocab
    assert len(vocab) == 600 and vocab.tokens[:3] == ["<pad>", "<unk>", "<eos>"]
    assert (prepared.path / "tokenizer.json").exists()
    whole_words = [t for t in vocab.tokens if t.endswith("</w>")]
    assert "the</w>" in whole_words
    # Counts are the train split's.
    np.testing.assert_array_equal(np.bincount(prepared.train_ids, minlength=len(vocab)), vocab.counts)
    text = "The government said on Sunday that the fires were under control."
    ids = prepared.encode_text(text)
    assert prepared.decode_text(ids) == text.lower()
    # The first document of the corpus decodes to its text.
    first_doc = prepared.train_ids[: int(np.flatnonzero(prepared.train_ids == vocab.eos_id)[0])]
    assert len(prepared.decode_text(first_doc).split()) > 20


def test_bpe_options_are_checked():
    with pytest.raises(InputError, match="vocab-size"):
        PrepareConfig(tokenizer="bpe").validate()
    with pytest.raises(InputError, match="applies to --tokenizer bpe"):
        PrepareConfig(vocab_size=1000).validate()


def test_prepare_cli_jsonl_and_bad_format(tmp_path):
    path = tmp_path / "docs.jsonl"
    lines = [json.dumps({"content": f"document number {i} says hello world again ."}) for i in range(50)]
    path.write_text("\n".join(lines), encoding="utf-8")
    ok = run_cli("pipelines.prepare", "--run-dir", str(tmp_path / "r"), "--corpus", str(path),
                 "--text-field", "content", "--min-count", "1", "--val-fraction", "0.1",
                 "--test-fraction", "0.1")
    assert ok.returncode == 0, ok.stderr
    bad = run_cli("pipelines.prepare", "--run-dir", str(tmp_path / "r2"), "--corpus", str(path))
    assert_one_line_error(bad)
    assert "no field 'text'" in bad.stderr
    assert not (tmp_path / "r2").exists()
