"""A fraction of the train split as the tables see it: the fraction's own counts, its own identity, and
tables trained on it that leave the words it lacks untrained."""

from __future__ import annotations

import numpy as np
import pytest

from base.errors import InputError
from corpus.fraction import FractionView, fraction_ids, fraction_view


def test_a_view_holds_the_fraction_with_its_own_counts(lee_corpus):
    view = fraction_view(lee_corpus, 0.25, 1)
    ids = fraction_ids(lee_corpus.train_ids, lee_corpus.vocab.eos_id, 0.25, 1)
    assert np.array_equal(view.train_ids, ids) and len(ids) < len(lee_corpus.train_ids)
    assert view.vocab.tokens == lee_corpus.vocab.tokens  # the same ids: the GPT's vocabulary
    assert np.array_equal(view.vocab.counts, np.bincount(ids, minlength=len(lee_corpus.vocab)))
    assert (view.vocab.counts <= lee_corpus.vocab.counts).all() and (view.vocab.counts == 0).any()
    assert view.val_ids is lee_corpus.val_ids and view.test_ids is lee_corpus.test_ids


def test_each_fraction_and_seed_is_a_corpus_of_its_own(lee_corpus):
    hashes = {fraction_view(lee_corpus, f, s).content_hash for f in (0.25, 0.5) for s in (0, 1)}
    assert len(hashes) == 4 and lee_corpus.content_hash not in hashes
    assert fraction_view(lee_corpus, 0.25, 0).content_hash == FractionView(lee_corpus, 0.25, 0).content_hash
    assert fraction_view(lee_corpus, 1.0, 3) is lee_corpus  # the whole split is the corpus itself
    for bad in (0.0, 1.5, float("nan"), True):
        with pytest.raises(InputError):
            fraction_view(lee_corpus, bad, 0)


@pytest.mark.parametrize("method", ["skipgram", "glove"])
def test_a_table_of_a_fraction_trains_only_the_words_it_holds(lee_corpus, method, tmp_path):
    from study.table_configs import build_config, train_method, trainer_defaults

    view = fraction_view(lee_corpus, 0.25, 0)
    config = build_config(method, dict(trainer_defaults(), dim=8, epochs=1, threads=1, x_max=10.0))
    table = train_method(method, view, config, checkpoint_dir=None, progress=False)
    assert table.meta["corpus_hash"] == view.content_hash and table.meta["tokens"] == len(view.train_ids)
    absent = view.vocab.counts == 0
    assert not table.trained[absent].any()  # a word the fraction lacks gets no trained row
    assert table.trained[~absent].mean() > 0.8
