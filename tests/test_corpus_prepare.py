import bz2
import gzip
import lzma
import shutil

import numpy as np
import pytest

from base.errors import InputError
from corpus.idsfile import HEADER
from corpus.prepare import PrepareConfig, choose_splits, ensure_prepared, prepare_corpus
from corpus.prepared import PreparedCorpus
from corpus.sources import DefaultSource, TextFileSource, clean_wiki_text, resolve_sources
from corpus.tokenize import tokenize
from tests.conftest import lee_path

CONFIG = PrepareConfig(min_count=2, documents="lines", val_fraction=0.05, test_fraction=0.05)


def _write_docs(path, n_docs=40, words=60, seed=0):
    rng = np.random.default_rng(seed)
    lexicon = [f"w{i}" for i in range(30)]
    docs = [" ".join(rng.choice(lexicon, size=words)) + "." for _ in range(n_docs)]
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return docs


def test_splits_are_whole_documents_and_match_the_text(lee_corpus):
    vocab = lee_corpus.vocab
    documents = [line.strip() for line in lee_path().read_text().splitlines() if line.strip()]
    counts = lee_corpus.manifest["counts"]
    assert sum(counts["documents"].values()) == len(documents) == 300
    # Every split is a sequence of documents, each ended by <eos>; re-encoding the text gives the same ids.
    expected = {}
    for doc in documents:
        ids = vocab.encode(tokenize(doc)).tolist() + [vocab.eos_id]
        expected[tuple(ids)] = expected.get(tuple(ids), 0) + 1
    seen = {}
    for split in ("train", "val", "test"):
        ids = np.asarray(lee_corpus.ids(split))
        assert ids[-1] == vocab.eos_id
        cuts = np.flatnonzero(ids == vocab.eos_id)
        for start, end in zip(np.concatenate([[0], cuts[:-1] + 1]), cuts + 1):
            key = tuple(ids[start:end].tolist())
            seen[key] = seen.get(key, 0) + 1
    assert seen == expected


def test_split_sizes_follow_the_fractions(lee_corpus):
    tokens = lee_corpus.manifest["counts"]["tokens"]
    total = sum(tokens.values())
    for split in ("val", "test"):
        assert 0.03 * total <= tokens[split] <= 0.075 * total
    assert len(lee_corpus.train_ids) == tokens["train"]


def test_vocab_counts_come_from_the_train_split_only(lee_corpus):
    vocab = lee_corpus.vocab
    counts = np.bincount(np.asarray(lee_corpus.train_ids), minlength=len(vocab))
    np.testing.assert_array_equal(counts, vocab.counts)
    assert vocab.counts[3:].min() >= 2
    assert list(vocab.counts[3:]) == sorted(vocab.counts[3:], reverse=True)


def test_ids_are_memory_mapped_and_read_only(lee_corpus):
    assert isinstance(lee_corpus.train_ids, np.memmap)
    assert lee_corpus.train_ids.dtype == np.int32
    with pytest.raises(ValueError):
        lee_corpus.train_ids[0] = 5


def test_preparation_is_deterministic(tmp_path):
    sources = resolve_sources(str(lee_path()), documents="lines")
    a = prepare_corpus(sources, tmp_path / "a" / "corpus", CONFIG)
    b = prepare_corpus(sources, tmp_path / "b" / "corpus", CONFIG)
    assert a.content_hash == b.content_hash
    for split in ("train", "val", "test"):
        assert (tmp_path / "a/corpus" / f"{split}.ids").read_bytes() == \
            (tmp_path / "b/corpus" / f"{split}.ids").read_bytes()
    c = prepare_corpus(sources, tmp_path / "c" / "corpus", PrepareConfig(**{**CONFIG.__dict__, "seed": 1}))
    assert c.content_hash != a.content_hash


HASH_CONFIG = PrepareConfig(min_count=1, val_fraction=0.1, test_fraction=0.1)


def _write_doc_list(path, docs):
    """The file ``_write_docs`` writes, from its documents."""
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")


def _prepare(path, out, config=HASH_CONFIG, **source_options):
    return prepare_corpus(resolve_sources(str(path), **source_options), out, config)


def _documents_of(prepared, split):
    """The token lists of a split's documents (decoded, ``<eos>`` dropped)."""
    tokens = prepared.vocab.decode(np.asarray(prepared.ids(split)))
    docs, current = [], []
    for token in tokens:
        if token == "<eos>":
            docs.append(current)
            current = []
        else:
            current.append(token)
    return docs


def test_content_hash_identifies_the_content_not_where_it_comes_from_or_goes(tmp_path):
    text = tmp_path / "docs.txt"
    _write_docs(text)
    a = _prepare(text, tmp_path / "a" / "run" / "corpus")
    assert len(a.content_hash) == 64 and int(a.content_hash, 16) >= 0  # a sha256 hex digest
    # The same bytes under another name, in another folder, prepared into another run: the same corpus.
    (tmp_path / "elsewhere").mkdir()
    copy = tmp_path / "elsewhere" / "renamed.txt"
    copy.write_bytes(text.read_bytes())
    b = _prepare(copy, tmp_path / "b" / "corpus")
    assert b.manifest["input_fingerprint"] != a.manifest["input_fingerprint"]  # the inputs' description differs
    assert b.content_hash == a.content_hash
    # A config change that leaves the content as it was (the text is valid UTF-8 either way) keeps the hash...
    replace = PrepareConfig(**{**HASH_CONFIG.__dict__, "encoding_errors": "replace"})
    c = _prepare(text, tmp_path / "c" / "corpus", replace, encoding_errors="replace")
    assert c.content_hash == a.content_hash
    # ... one that changes the content (20 of the 32 words and marks kept, the others become <unk>) does not.
    capped = PrepareConfig(**{**HASH_CONFIG.__dict__, "max_vocab": 23})
    d = _prepare(text, tmp_path / "d" / "corpus", capped)
    assert len(d.vocab) == 23 and len(a.vocab) == 35  # specials, "w", "0".."29", "."
    assert d.content_hash != a.content_hash


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_content_hash_changes_with_one_token_in_any_split(tmp_path, split):
    text = tmp_path / "docs.txt"
    docs = _write_docs(text)
    a = _prepare(text, tmp_path / "a" / "corpus")
    # Change one token of one document of ``split`` (its first word "w<i>", tokens "w" and "<i>", becomes
    # another word of the lexicon): the document keeps its length, so every document stays in its split.
    target = _documents_of(a, split)[0]
    index = next(i for i, doc in enumerate(docs) if tokenize(doc) == target)
    words = docs[index][:-1].split(" ")
    words[0] = "w0" if words[0] != "w0" else "w1"
    _write_doc_list(text, docs[:index] + [" ".join(words) + "."] + docs[index + 1:])
    b = _prepare(text, tmp_path / "b" / "corpus")
    assert b.manifest["counts"]["documents"] == a.manifest["counts"]["documents"]
    for other in ("train", "val", "test"):
        assert (_documents_of(a, other) == _documents_of(b, other)) == (other != split), other
    if split != "train":  # the vocabulary counts the train split only: one id file alone differs
        assert (a.path / "vocab.tsv").read_bytes() == (b.path / "vocab.tsv").read_bytes()
        for other in ("train", "val", "test"):
            same = (a.path / f"{other}.ids").read_bytes() == (b.path / f"{other}.ids").read_bytes()
            assert same == (other != split), other
    assert b.content_hash != a.content_hash


def test_content_hash_is_what_verify_recomputes(tmp_path):
    text = tmp_path / "docs.txt"
    _write_docs(text)
    prepared = _prepare(text, tmp_path / "run" / "corpus")
    prepared.verify()  # the hash prepare recorded is the one the files give
    # One val id changed to another word: the file still opens (same size, ids inside the vocabulary, train
    # counts untouched), but the content hash no longer matches.
    copy = tmp_path / "copy" / "corpus"
    shutil.copytree(prepared.path, copy)
    ids = bytearray((copy / "val.ids").read_bytes())
    first = int(np.frombuffer(bytes(ids[HEADER.size:HEADER.size + 4]), dtype=np.int32)[0])
    zero, one = prepared.vocab.index["0"], prepared.vocab.index["1"]
    other = zero if first != zero else one
    ids[HEADER.size:HEADER.size + 4] = np.int32(other).tobytes()
    (copy / "val.ids").write_bytes(bytes(ids))
    damaged = PreparedCorpus.open(copy)
    with pytest.raises(InputError, match="content hash"):
        damaged.verify()


def test_same_inputs_and_config_recompute_nothing(tmp_path):
    sources = resolve_sources(str(lee_path()), documents="lines")
    out = tmp_path / "run" / "corpus"
    _, built = ensure_prepared(sources, out, CONFIG)
    mtime = (out / "train.ids").stat().st_mtime_ns
    _, built_again = ensure_prepared(sources, out, CONFIG)
    assert built and not built_again
    assert (out / "train.ids").stat().st_mtime_ns == mtime
    changed = PrepareConfig(**{**CONFIG.__dict__, "min_count": 3})
    prepared, rebuilt = ensure_prepared(sources, out, changed)
    assert rebuilt and prepared.config["min_count"] == 3


def test_compressed_inputs_give_the_same_corpus(tmp_path):
    docs_path = tmp_path / "docs.txt"
    _write_docs(docs_path)
    raw = docs_path.read_bytes()
    config = PrepareConfig(min_count=1, val_fraction=0.1, test_fraction=0.1)
    hashes = set()
    for name, compress in (("d.txt.gz", gzip.compress), ("d.txt.bz2", bz2.compress), ("d.txt.xz", lzma.compress)):
        (tmp_path / name).write_bytes(compress(raw))
        prepared = prepare_corpus(resolve_sources(str(tmp_path / name)), tmp_path / ("out-" + name) / "r" / "corpus", config)
        hashes.add(prepared.content_hash)
    plain = prepare_corpus(resolve_sources(str(docs_path)), tmp_path / "plain" / "corpus", config)
    assert hashes == {plain.content_hash}
    assert sum(plain.manifest["counts"]["documents"].values()) == 40


def test_directory_and_glob_sources(tmp_path):
    (tmp_path / "texts").mkdir()
    _write_docs(tmp_path / "texts" / "a.txt", seed=1)
    _write_docs(tmp_path / "texts" / "b.txt", seed=2)
    by_dir = resolve_sources(str(tmp_path / "texts"))
    by_glob = resolve_sources(str(tmp_path / "texts" / "*.txt"))
    assert [s.path for s in by_dir] == [s.path for s in by_glob]
    assert len(by_dir) == 2


def test_clean_wiki_text_strips_markup():
    raw = "'''Anarchism''' is a ''philosophy''.\n\n==History==\n* First item\n*\n#: nested"
    assert clean_wiki_text(raw) == "Anarchism is a philosophy.\nHistory\nFirst item\nnested"


def test_default_corpus_is_real_english_with_punctuation():
    docs = list(DefaultSource())
    assert len(docs) > 350
    tokens = sum(len(tokenize(d)) for d in docs)
    assert 550_000 < tokens < 750_000
    assert not any("'''" in d or "==" in d for d in docs)
    assert docs[0].startswith("Anarchism is a political philosophy")


def test_choose_splits_never_leaves_a_split_empty():
    lengths = np.array([1000, 5, 7, 9])
    labels = choose_splits(lengths, PrepareConfig(val_fraction=0.01, test_fraction=0.01))
    assert set(labels.tolist()) == {0, 1, 2}
    assert labels[0] == 0


# --- bad input --------------------------------------------------------------------------------------------

def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"abc\0def" * 100)
    with pytest.raises(InputError, match="binary"):
        prepare_corpus(resolve_sources(str(path)), tmp_path / "r" / "corpus", CONFIG)


def test_invalid_utf8_names_file_and_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"first line\nsecond caf\xe9 line\n")
    with pytest.raises(InputError, match=r"latin1.txt: invalid UTF-8 at byte offset 21"):
        prepare_corpus(resolve_sources(str(path)), tmp_path / "r" / "corpus", CONFIG)
    replaced = TextFileSource(path, encoding_errors="replace")
    assert "caf\ufffd" in list(replaced)[0]


def test_empty_and_too_small_corpora(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        prepare_corpus(resolve_sources(str(empty)), tmp_path / "r" / "corpus", CONFIG)
    two = tmp_path / "two.txt"
    two.write_text("one doc\n\nanother doc\n", encoding="utf-8")
    with pytest.raises(InputError, match="too small"):
        prepare_corpus(resolve_sources(str(two)), tmp_path / "r" / "corpus", CONFIG)
    assert not (tmp_path / "r").exists()


def test_min_count_leaving_no_words(tmp_path):
    path = tmp_path / "docs.txt"
    _write_docs(path)
    with pytest.raises(InputError, match="vocabulary is empty"):
        prepare_corpus(resolve_sources(str(path)), tmp_path / "r" / "corpus", PrepareConfig(min_count=10**6))
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("damage", ["truncate", "magic", "manifest", "count"])
def test_corrupt_prepared_corpus_is_input_error(tmp_path, damage, lee_corpus):
    sources = resolve_sources(str(lee_path()), documents="lines")
    out = tmp_path / "run" / "corpus"
    shutil.copytree(lee_corpus.path, out, ignore=shutil.ignore_patterns("cooccurrence-*"))  # CONFIG's corpus
    ids = out / "train.ids"
    if damage == "truncate":
        ids.write_bytes(ids.read_bytes()[:-3])
    elif damage == "magic":
        ids.write_bytes(b"XXXXXXXX" + ids.read_bytes()[8:])
    elif damage == "manifest":
        (out / "manifest.json").write_text("{not json", encoding="utf-8")
    else:
        data = bytearray(ids.read_bytes())
        data = data[: HEADER.size] + data[HEADER.size + 4:]
        ids.write_bytes(bytes(data))
    with pytest.raises(InputError):
        PreparedCorpus.open(out)
    # A rerun does not trust the damaged corpus: it rebuilds it.
    prepared, built = ensure_prepared(sources, out, CONFIG)
    assert built and prepared.content_hash == lee_corpus.content_hash  # the very corpus it was
    for split in ("train_ids", "val_ids", "test_ids"):
        assert np.array_equal(getattr(prepared, split), getattr(lee_corpus, split)), split


def test_missing_prepared_corpus(tmp_path):
    with pytest.raises(InputError, match="no prepared corpus"):
        PreparedCorpus.open(tmp_path / "nothing")


def test_a_damaged_corpus_names_the_command_that_prepares_it_again(lee_corpus, tmp_path):
    """Each damage (manifest, vocabulary, ids) is one line with its remedy; the remedy works as shown: the
    corpus options it was prepared with rebuild it."""
    import shutil

    from base.errors import InputError
    from corpus import PreparedCorpus

    run = tmp_path / "run"
    shutil.copytree(lee_corpus.path, run / "corpus")
    for name, damage in (("manifest.json", b"{"), ("vocab.tsv", b"<pad>\t0\n"), ("val.ids", b"")):
        original = (run / "corpus" / name).read_bytes()
        (run / "corpus" / name).write_bytes(damage)
        with pytest.raises(InputError) as caught:
            PreparedCorpus.open(run / "corpus")
        message = str(caught.value)
        assert "\n" not in message and message.count("prepare it again") == 1, message
        assert message.endswith(f"`python -m pipelines.prepare --run-dir {run}` with the options it was prepared with")
        if name != "val.ids":
            (run / "corpus" / name).write_bytes(original)
    from tests.conftest import lee_path, run_cli

    as_prepared = ["--corpus", str(lee_path()), "--documents", "lines", "--min-count", "2", "--val-fraction", "0.05",
                   "--test-fraction", "0.05"]
    assert run_cli("pipelines.prepare", "--run-dir", str(run), *as_prepared).returncode == 0  # as shown
    assert PreparedCorpus.open(run / "corpus").content_hash == lee_corpus.content_hash
    table_corpus = tmp_path / "r2" / "table-corpus" / "corpus"
    shutil.copytree(lee_corpus.path, table_corpus)
    (table_corpus / "manifest.json").write_text("{")
    with pytest.raises(InputError, match="rerun the data sweep with its --table-corpus"):
        PreparedCorpus.open(table_corpus)
