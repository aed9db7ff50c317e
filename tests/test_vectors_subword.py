"""Word rows onto a subword vocabulary, on a hand-made vocabulary whose rows are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from vectors.subword import subword_rows

# token ids: 0 <eos>, 1 Ġcat, 2 Ġdog, 3 Ġcata, 4 pult, 5 Ġdo, 6 gs, 7 s, 8 zz
V = 9
WORDS = [  # word, count, pieces, row (None: the file lacks it); most frequent first
    ("cat", 10, [1], (1.0, 0.0)),
    ("dog", 6, [2], (0.0, 1.0)),
    ("catapult", 4, [3, 4], (3.0, 0.0)),
    ("cats", 3, [1, 7], (5.0, 5.0)),
    ("dogpult", 2, [5, 4], (0.0, 2.0)),
    ("pupu", 2, [4, 4], (0.0, -3.0)),
    ("dogs", 2, [5, 6], None),
    ("Cat", 1, [1], (9.0, 9.0)),
    ("eos", 1, [0], (7.0, 7.0)),  # a word whose only token is a special: the special stays random
]


def rows(rule: str):
    pieces = [np.array(p, dtype=np.int32) for _, _, p, _ in WORDS]
    counts = np.array([c for _, c, _, _ in WORDS])
    has_row = np.array([r is not None for *_, r in WORDS])
    matrix = np.array([r if r is not None else (0.0, 0.0) for *_, r in WORDS], dtype=np.float32)
    return subword_rows(V, pieces, counts, matrix, has_row, rule, specials=[0])


def test_whole_words_take_their_rows_and_pieces_a_count_weighted_combination():
    made = rows("combine")
    # whole words: cat (not Cat, less frequent), dog
    assert made.matrix[1].tolist() == [1.0, 0.0] and made.matrix[2].tolist() == [0.0, 1.0]
    # Ġcata: only in catapult (weight 4/2 = 2): its direction and its length 3
    assert np.allclose(made.matrix[3], [3.0, 0.0])
    # pult: catapult 4*1/2 = 2 x (3, 0); dogpult 2*1/2 = 1 x (0, 2); pupu holds it twice: 2*2/2 = 2 x (0, -3).
    # direction of 2(3,0) + 1(0,2) + 2(0,-3) = (6, -4); length (2*3 + 1*2 + 2*3) / 5 = 2.8
    assert np.allclose(made.matrix[4], np.array([6.0, -4.0]) / np.sqrt(52.0) * 2.8, atol=1e-6)
    # Ġdo: dogpult alone (dogs has no row): (0, 2)
    assert np.allclose(made.matrix[5], [0.0, 2.0])
    # s: cats alone: (5, 5)
    assert np.allclose(made.matrix[7], [5.0, 5.0])
    # gs is only in dogs (no row), zz in no word, <eos> is special: random
    assert made.rule.tolist() == [0, 1, 1, 2, 2, 2, 0, 2, 0]
    assert made.counts() == {"whole_word": 2, "combined": 4, "random": 3}
    assert not made.matrix[[0, 6, 8]].any()


def test_random_keeps_every_token_but_the_whole_words_random():
    made = rows("random")
    assert made.rule.tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert made.counts() == {"whole_word": 2, "combined": 0, "random": 7}


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="combine, random"):
        rows("mean")
