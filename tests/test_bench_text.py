"""The bench text: the default corpus repeated, a user's file as given, and the train split as words."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from base.errors import InputError
from bench.text import check_bench_corpus, train_sentences, write_bench_text

TOKENS = ["<pad>", "<unk>", "<eos>", "a", "b", "c"]
TINY_IDS = [3, 1, 4, 2, 5, 0, 3, 2, 2, 4]  # a <unk> b <eos> c <pad> a <eos> <eos> b


def tiny_prepared(ids=TINY_IDS):
    """What the bench reads of a prepared corpus: its vocabulary's tokens and special ids, the train ids."""
    return SimpleNamespace(vocab=SimpleNamespace(tokens=TOKENS, pad_id=0, unk_id=1, eos_id=2), train_ids=ids)


def test_the_default_bench_corpus_is_the_default_corpus_repeated_past_the_target(tmp_path):
    from corpus.tokenize import tokenize

    info = write_bench_text(tmp_path / "bench.txt", None, min_tokens=1_000_000)
    text = Path(info["path"]).read_text(encoding="utf-8")
    assert info["tokens"] >= 1_000_000 and info["repeats"] >= 2
    assert len(tokenize(text)) == info["tokens"]
    once = len(text) // info["repeats"]
    assert text[:once] * info["repeats"] == text  # the same documents, over and over


def test_a_given_file_is_copied_once_a_document_a_paragraph(tmp_path):
    source = tmp_path / "mine.txt"
    source.write_text("The cat sat.\nOn the mat.\n\nA dog ran!\n", encoding="utf-8")
    info = write_bench_text(tmp_path / "out" / "bench.txt", source)
    assert info["source"] == str(source) and info["repeats"] == 1
    assert Path(info["path"]).read_text(encoding="utf-8") == "The cat sat.\nOn the mat.\n\nA dog ran!\n\n"
    assert not (tmp_path / "out" / "bench.txt.part").exists()


def test_a_missing_or_empty_bench_corpus_is_input_error(tmp_path):
    check_bench_corpus(None)  # the default corpus
    with pytest.raises(InputError, match="bench corpus not found"):
        check_bench_corpus(tmp_path / "nowhere.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="holds no tokens"):
        write_bench_text(tmp_path / "bench.txt", empty)
    assert not (tmp_path / "bench.txt").exists() and not (tmp_path / "bench.txt.part").exists()


def test_train_sentences_cut_at_eos_and_every_max_sentence_tokens():
    prepared = tiny_prepared()
    assert list(train_sentences(prepared)) == [["a", "b"], ["c", "a"], ["b"]]
    # blocks of 2 start at 0, 2, 4, 6, 8 beside the <eos> cuts at 3, 7, 8
    assert list(train_sentences(prepared, max_sentence=2)) == [["a"], ["b"], ["c"], ["a"], ["b"]]
    assert list(train_sentences(tiny_prepared([]))) == []
