"""word2vec text/binary and GloVe interop: byte-identical to gensim, round trips both ways, bad input."""

import bz2
import gzip
import logging
import lzma

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from base.errors import InputError
from vectors import EmbeddingTable
from vectors.formats import (
    detect_format, from_keyed_vectors, load_vectors, save_glove, save_vectors, save_word2vec, to_keyed_vectors,
)

logging.getLogger("gensim").setLevel(logging.ERROR)


def table(n=50, dim=7, seed=0):
    rng = np.random.default_rng(seed)
    # a spread of magnitudes so both positional and scientific float reprs occur
    matrix = (rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-6, 4, (n, dim))).astype(np.float32)
    words = [f"w{i}" for i in range(n - 3)] + ["Ünïcode", "日本語", "a\tb"]
    return EmbeddingTable(words, matrix)


def kv_of(t):
    kv = KeyedVectors(t.dim)
    kv.add_vectors(t.words, t.matrix)
    return kv


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_bytes_equal_gensim(tmp_path, binary):
    t = table()
    save_word2vec(t, tmp_path / "ours", binary=binary)
    kv_of(t).save_word2vec_format(str(tmp_path / "gensim"), binary=binary)
    assert (tmp_path / "ours").read_bytes() == (tmp_path / "gensim").read_bytes()


def test_glove_bytes_equal_gensim_without_header(tmp_path):
    t = table()
    save_glove(t, tmp_path / "ours.txt")
    kv_of(t).save_word2vec_format(str(tmp_path / "gensim.txt"), write_header=False)
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "gensim.txt").read_bytes()


@pytest.mark.parametrize("fmt,binary,no_header", [("word2vec", False, False), ("word2vec-binary", True, False),
                                                  ("glove", False, True)])
def test_round_trip_through_gensim_both_ways(tmp_path, fmt, binary, no_header):
    t = table(seed=3)
    ours = tmp_path / "ours.vec"
    save_vectors(t, ours, fmt)
    kv = KeyedVectors.load_word2vec_format(str(ours), binary=binary, no_header=no_header)
    assert kv.index_to_key == t.words
    np.testing.assert_array_equal(kv.vectors, t.matrix)  # exact: shortest float32 reprs round-trip
    theirs = tmp_path / "theirs.vec"
    kv_of(t).save_word2vec_format(str(theirs), binary=binary, write_header=not no_header)
    back = load_vectors(theirs, format=fmt)
    assert back.words == t.words
    np.testing.assert_array_equal(back.matrix, t.matrix)


@pytest.mark.parametrize("name,binary,no_header", [
    ("EN.1-10.cbow1_wind5_hs0_neg10_size300_smpl1e-05.txt", False, False),  # 18-digit values
    ("high_precision.kv.txt", False, False),
    ("high_precision.kv.bin", True, False),
    ("test_glove.txt", False, True),
])
def test_published_files_read_like_gensim(name, binary, no_header):
    ours = load_vectors(datapath(name))
    kv = KeyedVectors.load_word2vec_format(datapath(name), binary=binary, no_header=no_header)
    assert ours.words == kv.index_to_key
    np.testing.assert_array_equal(ours.matrix, kv.vectors)
    assert ours.meta["source_format"] == ("word2vec-binary" if binary else "glove" if no_header else "word2vec")


def test_damaged_published_file_is_refused_as_gensim_refuses_it():
    with pytest.raises(EOFError):
        KeyedVectors.load_word2vec_format(datapath("pretrained.vec"))
    with pytest.raises(InputError, match="pretrained.vec: the header declares 3 rows, the file has 1"):
        load_vectors(datapath("pretrained.vec"))


def test_native_and_auto_detection(tmp_path):
    t = table()
    t.save(tmp_path / "t.npz")
    save_word2vec(t, tmp_path / "t.txt")
    save_word2vec(t, tmp_path / "t.bin", binary=True)
    save_word2vec(t, tmp_path / "t-binary.w2v", binary=True)  # no telling extension: sniffed
    save_glove(t, tmp_path / "g.txt")
    expected = {"t.npz": "native", "t.txt": "word2vec", "t.bin": "word2vec-binary",
                "t-binary.w2v": "word2vec-binary", "g.txt": "glove"}
    for name, fmt in expected.items():
        assert detect_format(tmp_path / name) == fmt
        back = load_vectors(tmp_path / name)
        assert back.words == t.words
        np.testing.assert_array_equal(back.matrix, t.matrix)


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2"), (lzma.open, ".xz")])
def test_compressed_inputs(tmp_path, opener, suffix):
    t = table(n=20)
    for fmt, name in (("word2vec", "t.txt"), ("word2vec-binary", "t.bin"), ("glove", "g.txt")):
        save_vectors(t, tmp_path / name, fmt)
        with opener(tmp_path / (name + suffix), "wb") as out:
            out.write((tmp_path / name).read_bytes())
        back = load_vectors(tmp_path / (name + suffix))
        assert back.words == t.words and back.meta["source_format"] == fmt
        np.testing.assert_array_equal(back.matrix, t.matrix)


def test_compressed_output_reads_back(tmp_path):
    t = table(n=10)
    save_word2vec(t, tmp_path / "t.txt.gz")
    save_word2vec(t, tmp_path / "t.bin.bz2", binary=True)
    assert gzip.decompress((tmp_path / "t.txt.gz").read_bytes()).startswith(b"10 7\n")
    for name in ("t.txt.gz", "t.bin.bz2"):
        np.testing.assert_array_equal(load_vectors(tmp_path / name).matrix, t.matrix)


def test_keyed_vectors_bridge():
    t = table(n=12)
    kv = to_keyed_vectors(t)
    assert kv.index_to_key == t.words
    back = from_keyed_vectors(kv, {"method": "x"})
    np.testing.assert_array_equal(back.matrix, t.matrix) and back.meta == {"method": "x"}


def test_words_that_the_text_formats_cannot_hold(tmp_path):
    t = EmbeddingTable(["ok", "two words"], np.ones((2, 2)))
    with pytest.raises(InputError, match="space or newline"):
        save_word2vec(t, tmp_path / "x.txt")
    with pytest.raises(InputError, match="GloVe"):
        save_glove(t, tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []


def test_crlf_and_trailing_blank_lines_are_fine(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"2 2\r\na 1 2\r\nb 3 4\r\n\r\n\n")
    t = load_vectors(path)
    assert t.words == ["a", "b"] and t.matrix.tolist() == [[1, 2], [3, 4]]


BAD_TEXT = [
    ("word2vec", b"2 3\na 1 2 3\nb 1 2\n", r"bad.txt:3: expected a word and 3 numbers, got 2"),
    ("word2vec", b"2 3\na 1 2 3\nb 1 x 3\n", r"bad.txt:3: 'x' is not a number"),
    ("word2vec", b"2 3\na 1 2 3\na 4 5 6\n", r"bad.txt:3: duplicate word 'a' \(first at line 2\)"),
    ("word2vec", b"3 3\na 1 2 3\nb 4 5 6\n", r"header declares 3 rows, the file has 2"),
    ("word2vec", b"1 3\na 1 2 3\nb 4 5 6\n", r"bad.txt:3: more rows than the 1"),
    ("word2vec", b"2 3\na 1 2 3\n\nb 4 5 6\n", r"bad.txt:3: empty line"),
    ("word2vec", b"", r"bad.txt:1: empty file"),
    ("word2vec", b"a 1 2\n", r"bad.txt:1: expected a '<rows> <dim>' header"),
    ("word2vec", b"1 2\na nan 1\n", r"bad.txt:2: 'nan' is not a finite"),
    ("word2vec", b"1 2\na 1e39 1\n", r"bad.txt:2: '1e39' is not a finite float32"),
    ("word2vec", b"1 2\na 1 2\xff\n", r"bad.txt:2: not valid UTF-8"),
    ("glove", b"a 1 2\nb 1 2 3\n", r"bad.txt:2: expected a word and 2 numbers, got 3"),
    ("glove", b"", r"no vectors"),
    ("glove", b"a 1  2\n", r"bad.txt:1: '' is not a number"),
    ("glove", b" 1 2\n", r"bad.txt:1: empty word"),
]


@pytest.mark.parametrize("fmt,content,message", BAD_TEXT)
def test_bad_text_input_names_file_and_line(tmp_path, fmt, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_vectors(path, format=fmt)
    assert "\n" not in str(info.value)


def test_bad_line_deep_in_a_large_file(tmp_path):
    rows = [f"w{i} {i} {i + 1}" for i in range(50000)]
    rows[43210] = "w43210 1 oops"
    (tmp_path / "big.txt").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"big.txt:43211: 'oops' is not a number"):
        load_vectors(tmp_path / "big.txt", format="glove")


def test_bad_binary_input(tmp_path):
    t = table(n=5, dim=3)
    save_word2vec(t, tmp_path / "ok.bin", binary=True)
    data = (tmp_path / "ok.bin").read_bytes()
    cases = {
        "truncated.bin": (data[:-5], r"truncated at entry 5 of 5"),
        "empty.bin": (b"", r"empty file"),
        "header.bin": (b"five 3\n" + data[5:], r"header"),
        "extra.bin": (data + b"zzz \x00\x00\x00\x00", r"data after the 5 entries"),
        "dup.bin": (b"2 1\na " + np.float32(1).tobytes() + b"a " + np.float32(2).tobytes(), r"duplicate word 'a'"),
        "nan.bin": (b"1 1\na " + np.float32(np.nan).tobytes(), r"entry 1: non-finite"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match=message):
            load_vectors(tmp_path / name, format="word2vec-binary")


def test_binary_with_newlines_after_vectors_as_the_c_tool_writes(tmp_path):
    t = table(n=4, dim=2)
    body = b"".join(f"{w} ".encode() + r.tobytes() + b"\n" for w, r in zip(t.words, t.matrix))
    (tmp_path / "c.bin").write_bytes(b"4 2\n" + body)
    back = load_vectors(tmp_path / "c.bin")
    assert back.words == t.words
    np.testing.assert_array_equal(back.matrix, t.matrix)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="unknown vector format"):
        load_vectors(datapath("test_glove.txt"), format="fasttext")
    with pytest.raises(InputError, match="no such vector file"):
        load_vectors(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="cannot write"):
        save_vectors(table(), tmp_path / "x", "auto")
