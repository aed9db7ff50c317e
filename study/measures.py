"""The study's own measures of a GPT run, beyond its test loss: the target groups whose test loss the run
reports apart (:attr:`gpt.runs.PlannedRun.target_groups`).

``rare_in_fraction``: test targets seen fewer than :data:`corpus.fraction.RARE_IN_FRACTION` times in the
ids the run trains on (its fraction of the train split), where a pretrained table has the most to add. A
run reports it when it trains on a fraction or keeps its best val state (a data-sweep run); a default
run's result keeps the keys it had before fractions existed.
"""

from __future__ import annotations

import numpy as np

from corpus.fraction import RARE_IN_FRACTION, fraction_ids

RARE = "rare_in_fraction"


def target_groups(prepared, config) -> dict[str, np.ndarray]:
    """Named (V,) boolean masks over target ids for the run of ``config`` on ``prepared``."""
    if config.fraction == 1.0 and not config.keep_best:
        return {}
    ids = fraction_ids(prepared.train_ids, prepared.vocab.eos_id, config.fraction, config.seed)
    counts = np.bincount(np.asarray(ids), minlength=len(prepared.vocab))  # (V,)
    return {RARE: counts < RARE_IN_FRACTION}
