import numpy as np
import pytest

from base.errors import InputError
from corpus.vocab import SPECIALS, Vocab


def test_order_specials_then_count_then_token():
    vocab = Vocab.build({"b": 3, "a": 3, "c": 5, "rare": 1}, min_count=2)
    assert vocab.tokens == list(SPECIALS) + ["c", "a", "b"]
    assert vocab.counts.tolist()[3:] == [5, 3, 3]
    assert vocab.id_of("rare") == vocab.unk_id
    assert vocab.decode(vocab.encode(["c", "zzz"])) == ["c", "<unk>"]


def test_max_vocab_counts_specials():
    vocab = Vocab.build({w: 10 - i for i, w in enumerate("abcdefg")}, min_count=1, max_vocab=5)
    assert len(vocab) == 5 and vocab.tokens[3:] == ["a", "b"]


def test_round_trip(tmp_path):
    vocab = Vocab.build({"x": 4, "y": 2, "déjà": 9}, min_count=1, special_counts={"<eos>": 3})
    vocab.save(tmp_path / "vocab.tsv")
    loaded = Vocab.load(tmp_path / "vocab.tsv")
    assert loaded.tokens == vocab.tokens
    np.testing.assert_array_equal(loaded.counts, vocab.counts)
    assert loaded.eos_id == 2 and loaded.counts[loaded.eos_id] == 3
    text = (tmp_path / "vocab.tsv").read_text(encoding="utf-8")
    assert text.startswith("# w2v-gpt vocab format 1\n")


@pytest.mark.parametrize("body", ["0\t<pad>\n", "0\t<pad>\tzero\n", "5\t<pad>\t0\n"])
def test_malformed_file_is_input_error(tmp_path, body):
    path = tmp_path / "vocab.tsv"
    path.write_text("# w2v-gpt vocab format 1\n# id\ttoken\tcount\n" + body, encoding="utf-8")
    with pytest.raises(InputError, match="vocab.tsv"):
        Vocab.load(path)


def test_wrong_header_is_input_error(tmp_path):
    path = tmp_path / "vocab.tsv"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a w2v-gpt vocab"):
        Vocab.load(path)
