"""The arms of a study: each a variant name and the GPT config fields that make it.

Names (``docs/conventions.md``): ``learned`` (the baseline), ``<method>-init`` and ``<method>-frozen`` for
cbow, skipgram and glove; the controls ``shuffled-init`` (skip-gram rows permuted among the words: same
scale, no meaning) and ``glove-init-raw`` (GloVe not rescaled); the position variants ``pos-learned``,
``pos-sinusoidal``, ``pos-rope``, ``pos-alibi`` and ``pos-none`` (learned tokens; ``pos-learned`` is then
the baseline). The data sweep's arms (:func:`datasweep_arms`): ``learned``, ``<method>-init`` and
``<method>-frozen`` with tables pretrained on the very text the GPT trains on (its fraction), and
``<method>-init-transfer`` and ``<method>-frozen-transfer`` with tables from more text than the GPT sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from base.errors import InputError
from study.tables import METHODS, SHUFFLED_TABLE


@dataclass(frozen=True)
class Variant:
    """One arm of the study: its name and the GPT config fields that make it."""

    name: str
    fields: dict

    @property
    def table(self) -> str | None:
        return self.fields.get("table")


def token_variants(controls: bool) -> list[Variant]:
    variants = [Variant("learned", {"embedding": "learned"})]
    for method in METHODS:
        variants += [Variant(f"{method}-init", {"embedding": "init", "table": method}),
                     Variant(f"{method}-frozen", {"embedding": "frozen", "table": method})]
    if controls:
        variants += [Variant("shuffled-init", {"embedding": "init", "table": SHUFFLED_TABLE}),
                     Variant("glove-init-raw", {"embedding": "init", "table": "glove", "rescale": False})]
    return variants


def position_variants() -> list[Variant]:
    return [Variant(f"pos-{p}", {"embedding": "learned", "position": p})
            for p in ("learned", "sinusoidal", "rope", "alibi", "none")]


def known_arms() -> dict[str, Variant]:
    """Every variant name ``compare`` knows (the controls and position variants included)."""
    return {v.name: v for v in token_variants(controls=True) + position_variants()}


SAME_TEXT, TRANSFER = "fraction", "table-corpus"  # a data-sweep arm's table_data; see datasweep_fields


def datasweep_arms() -> dict[str, Variant]:
    """Every arm the data sweep knows, by name; ``table_data`` says where the table's text comes from."""
    arms = [Variant("learned", {"embedding": "learned"})]
    for method in METHODS:
        for mode in ("init", "frozen"):
            arms += [Variant(f"{method}-{mode}", {"embedding": mode, "table": method, "table_data": SAME_TEXT}),
                     Variant(f"{method}-{mode}-transfer", {"embedding": mode, "table": method,
                                                            "table_data": TRANSFER})]
    return {arm.name: arm for arm in arms}


def datasweep_fields(arm: Variant, fraction: float, table_corpus: bool) -> dict:
    """The GPT config fields of a data-sweep arm at ``fraction``: same-text tables are the fraction's own
    (the run's tables at fraction 1); transfer tables are the table corpus's when one is given, else the
    run's (pretrained on the whole train split)."""
    fields = dict(arm.fields, fraction=fraction)
    data = fields.get("table_data")
    if data == SAME_TEXT and fraction == 1.0 or data == TRANSFER and not table_corpus:
        fields["table_data"] = "run"
    return fields


def parse_arms(value: str, known: dict[str, Variant] | None = None) -> list[Variant]:
    """``learned`` first, then the named arms in the given order; InputError naming the known ones
    (``known``: compare's arms, :func:`known_arms`, unless given)."""
    arms = known if known is not None else known_arms()
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    if not names:
        raise InputError(f"--arms takes a comma list of arm names (e.g. learned,glove-init), got {value!r}")
    unknown = [n for n in names if n not in arms]
    if unknown:
        raise InputError(f"unknown arm(s) {', '.join(unknown)}; choose among {', '.join(arms)}")
    names = ["learned"] + [n for n in dict.fromkeys(names) if n != "learned"]
    return [arms[n] for n in names]
