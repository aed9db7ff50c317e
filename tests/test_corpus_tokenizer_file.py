"""``prepare --tokenizer FILE.json``: the GPT's vocabulary is a Hugging Face tokenizers file's, ids preserved.

Checked against ``tokenizers``' own encoding of every document (byte-level BPE, WordPiece, unigram), the
vocabulary and its roles read from the file, the train-only word list, the whole-word tokens, and bad input as
one line with nothing written."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from corpus.prepared import PreparedCorpus
from corpus.tokenize import tokenize
from corpus.tokenizer_file import TokenizerFile
from corpus.vocab import load_word_list
from tests.conftest import assert_one_line_error, lee_path, run_cli


def lee_documents() -> list[str]:
    return [line.strip() for line in lee_path().read_text(encoding="utf-8").splitlines() if line.strip()]


def byte_level_bpe(path: Path, specials=("<|endoftext|>",), size: int = 1500) -> Path:
    """A GPT-2-style tokenizer file (byte-level BPE, no unknown token) trained on the Lee text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=size, special_tokens=list(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(lee_documents(), trainer)
    tokenizer.save(str(path))
    return path


def wordpiece(path: Path) -> Path:
    """A BERT-style tokenizer file (WordPiece, [UNK], [SEP] ends a text)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=1500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"],
                                        show_progress=False)
    tokenizer.train_from_iterator(lee_documents(), trainer)
    tokenizer.save(str(path))
    return path


def unigram(path: Path) -> Path:
    """A SentencePiece-style tokenizer file (unigram, ▁ marks a space, <unk>, </s>)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=1500, special_tokens=["<pad>", "<unk>", "</s>"], unk_token="<unk>",
                                      show_progress=False)
    tokenizer.train_from_iterator(lee_documents(), trainer)
    tokenizer.save(str(path))
    return path


@pytest.fixture(scope="module")
def gpt2_like(tmp_path_factory):
    return byte_level_bpe(tmp_path_factory.mktemp("tok") / "tokenizer.json")


def prepare(run: Path, tokenizer: Path, *extra: str):
    return run_cli("pipelines.prepare", "--run-dir", str(run), "--corpus", str(lee_path()), "--documents", "lines",
                   "--tokenizer", str(tokenizer), "--min-count", "2", "--quiet", *extra)


def documents_of(ids: np.ndarray, eos: int) -> list[list[int]]:
    cuts = np.flatnonzero(ids == eos)
    return [ids[a + 1 if i else 0:b].tolist() for i, (a, b) in enumerate(zip(np.r_[-1, cuts[:-1]], cuts))]


@pytest.fixture(scope="module")
def prepared_gpt2(gpt2_like, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "run"
    result = prepare(run, gpt2_like)
    assert result.returncode == 0, result.stderr
    return PreparedCorpus.open(run / "corpus")


def test_every_document_is_the_tokenizers_own_encoding_ids_preserved(gpt2_like, prepared_gpt2):
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(gpt2_like))
    prepared_gpt2.verify()
    vocab = prepared_gpt2.vocab
    assert vocab.tokens == [reference.id_to_token(i) for i in range(reference.get_vocab_size())]
    assert vocab.eos_id == reference.token_to_id("<|endoftext|>") and vocab.unk_id == -1 and vocab.pad_id == -1
    own = {}
    for document in lee_documents():
        own[reference.decode(reference.encode(document).ids)] = reference.encode(document).ids
    seen = 0
    for split in ("train", "val", "test"):
        ids = prepared_gpt2.ids(split)
        assert ids[-1] == vocab.eos_id  # every document ends with the file's own end-of-text token
        for document in documents_of(ids, vocab.eos_id):
            assert own[reference.decode(document)] == document
            seen += 1
    assert seen == len(lee_documents())
    text = "The bushfire near Sydney spread overnight."
    assert prepared_gpt2.encode_text(text).tolist() == reference.encode(text).ids
    assert prepared_gpt2.decode_text(prepared_gpt2.encode_text(text)) == text


def test_the_word_list_counts_the_train_documents_only(prepared_gpt2):
    words, counts = load_word_list(prepared_gpt2.path / "words.tsv")
    train_text = [prepared_gpt2.tokenizer_file.tokenizer.decode(d)
                  for d in documents_of(prepared_gpt2.train_ids, prepared_gpt2.vocab.eos_id)]
    expected = Counter(w for text in train_text for w in tokenize(text, lowercase=False))
    assert dict(zip(words, counts.tolist())) == {w: c for w, c in expected.items() if c >= 2}
    assert list(counts) == sorted(counts, reverse=True)


def test_whole_words_are_the_tokens_a_word_encodes_to_alone(prepared_gpt2):
    whole = prepared_gpt2.whole_words()
    tokens = prepared_gpt2.vocab.tokens
    reference = prepared_gpt2.tokenizer_file.tokenizer
    assert tokens[next(i for i, w in whole.items() if w == "the")] == "Ġthe"
    for token_id, word in list(whole.items())[:200]:
        ids = reference.encode(" " + word).ids
        if len(ids) == 2 and tokens[ids[0]] == "Ġ" and not word.isalnum():  # punctuation hugs the word before
            ids = ids[1:]
        assert ids == [token_id]
    words, _ = prepared_gpt2.word_list()
    split = [w for w in words if w.isalpha() and len(reference.encode(" " + w).ids) > 1]
    assert split and not set(split) & set(whole.values())  # a word of several tokens has no whole-word token


@pytest.mark.parametrize("make, eos, unk", [(wordpiece, "[SEP]", "[UNK]"), (unigram, "</s>", "<unk>")])
def test_wordpiece_and_unigram_files(tmp_path, make, eos, unk):
    path = make(tmp_path / "tokenizer.json")
    result = prepare(tmp_path / "run", path)
    assert result.returncode == 0, result.stderr
    prepared = PreparedCorpus.open(tmp_path / "run" / "corpus")
    prepared.verify()
    reference = TokenizerFile.load(path).tokenizer
    assert prepared.vocab.tokens[prepared.vocab.eos_id] == eos and prepared.vocab.tokens[prepared.vocab.unk_id] == unk
    text = "Police said the fire spread towards the town."
    assert prepared.encode_text(text).tolist() == reference.encode(text, add_special_tokens=False).ids
    whole = prepared.whole_words()
    assert len(whole) > 100
    for token_id, word in list(whole.items())[:50]:
        assert prepared.word_pieces([word])[0].tolist() == [token_id]


def test_an_eos_token_can_be_named(tmp_path):
    path = byte_level_bpe(tmp_path / "tokenizer.json", specials=("<s>", "<doc-end>"), size=600)
    result = prepare(tmp_path / "run", path)
    assert_one_line_error(result)
    assert "no end-of-text token" in result.stderr and "--eos-token" in result.stderr
    assert not (tmp_path / "run").exists()
    result = prepare(tmp_path / "run", path, "--eos-token", "<doc-end>")
    assert result.returncode == 0, result.stderr
    vocab = PreparedCorpus.open(tmp_path / "run" / "corpus").vocab
    assert vocab.tokens[vocab.eos_id] == "<doc-end>" and vocab.specials == ["<s>", "<doc-end>"]


@pytest.mark.parametrize("problem, message", [
    ("garbage", "not a Hugging Face tokenizers file"),
    ("missing", "no such file"),
    ("eos", "is not a token of"),
    ("vocab-size", "brings its own vocabulary"),
])
def test_bad_tokenizer_input_is_one_line_and_writes_nothing(tmp_path, gpt2_like, problem, message):
    path, extra = gpt2_like, []
    if problem == "garbage":
        path = tmp_path / "bad.json"
        path.write_text('{"version": "1.0", "model": {"type": "BPE", "vocab": [1, 2')
    elif problem == "missing":
        path = tmp_path / "absent.json"
    elif problem == "eos":
        extra = ["--eos-token", "<nope>"]
    else:
        extra = ["--vocab-size", "500"]
    result = prepare(tmp_path / "run", path, *extra)
    assert_one_line_error(result)
    assert message in result.stderr
    assert not (tmp_path / "run").exists()


def test_tables_of_a_tokenizer_file_run_are_evaluated_on_its_whole_words(prepared_gpt2):
    run = prepared_gpt2.path.parent
    trained = run_cli("pipelines.pretrain", "--run-dir", str(run), "--methods", "cbow", "--dim", "8", "--epochs", "1",
                      "--threads", "1", "--quiet")
    assert trained.returncode == 0, trained.stderr
    result = run_cli("pipelines.eval", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    whole = len(prepared_gpt2.whole_words())
    assert f"table: cbow (subword: {whole:,} whole-word tokens of 1,500" in result.stdout
