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

from base.layout import fraction_label
from base.parse import comma_choices
from gpt.config import POSITIONS
from study.sources import TableSource, source_of, table_label
from study.table_configs import METHODS, SHUFFLED_TABLE


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
    return [Variant(f"pos-{p}", {"embedding": "learned", "position": p}) for p in POSITIONS]


def known_arms() -> dict[str, Variant]:
    """Every variant name ``compare`` knows (the controls and position variants included)."""
    return {v.name: v for v in token_variants(controls=True) + position_variants()}


def arm_source(arm: Variant) -> TableSource | None:
    """The table source an arm asks for (a data-sweep arm's ``table_data``; None for a learned arm)."""
    return None if not arm.table else TableSource(arm.fields.get("table_data", TableSource.RUN.value))


def datasweep_arms() -> dict[str, Variant]:
    """Every arm the data sweep knows, by name; ``table_data`` says where the table's text comes from:
    same text (:attr:`TableSource.FRACTION`) or more text (:attr:`TableSource.TABLE_CORPUS`, transfer)."""
    same, transfer = TableSource.FRACTION.value, TableSource.TABLE_CORPUS.value
    arms = [Variant("learned", {"embedding": "learned"})]
    for method in METHODS:
        for mode in ("init", "frozen"):
            arms += [Variant(f"{method}-{mode}", {"embedding": mode, "table": method, "table_data": same}),
                     Variant(f"{method}-{mode}-transfer", {"embedding": mode, "table": method,
                                                            "table_data": transfer})]
    return {arm.name: arm for arm in arms}


def datasweep_fields(arm: Variant, fraction: float, table_corpus: bool) -> dict:
    """The GPT config fields of a data-sweep arm at ``fraction``: same-text tables are the fraction's own
    (the run's tables at fraction 1); transfer tables are the table corpus's when one is given, else the
    run's (pretrained on the whole train split)."""
    fields = dict(arm.fields, fraction=fraction)
    source = arm_source(arm)
    if source is TableSource.FRACTION and fraction == 1.0 or source is TableSource.TABLE_CORPUS and not table_corpus:
        fields["table_data"] = TableSource.RUN.value
    return fields


def variant_name(config) -> str:
    """The default run folder name of a config: ``learned``, ``skipgram-init``, ``pos-rope``,
    ``glove-init-sametext-frac0.25``, ``file-vecs-frozen`` ...: the table's label (:func:`study.sources.
    table_label`) and mode, ``raw`` and ``proj`` when not rescaled or projected, the position, the table
    source's own suffix (:attr:`study.sources.TableSource.folder_suffix`), and the fraction below 1, so two
    configs that differ in any of these never share a folder by default."""
    parts: list[str] = []
    if config.embedding != "learned":
        parts.append(f"{table_label(config.table)}-{config.embedding}")
        if not config.rescale:
            parts.append("raw")
        if config.project:
            parts.append("proj")
    if config.position != "learned":
        parts.append(f"pos-{config.position}")
    suffix = source_of(config).folder_suffix if config.embedding != "learned" else None
    if suffix:
        parts.append(suffix)
    name = "-".join(parts) if parts else "learned"
    if config.fraction != 1.0:  # a run on part of the train split never shares the full-data run's folder
        name += f"-{fraction_label(config.fraction)}"
    return name


def parse_arms(value: str, known: dict[str, Variant] | None = None) -> list[Variant]:
    """``learned`` first, then the named arms in the given order; InputError naming the known ones
    (``known``: compare's arms, :func:`known_arms`, unless given)."""
    arms = known if known is not None else known_arms()
    names = comma_choices(value, "--arms", list(arms), "arm(s)")
    names = ["learned"] + [n for n in names if n != "learned"]
    return [arms[n] for n in names]


def file_arms(files) -> list[Variant]:
    """``NAME-init`` and ``NAME-frozen`` of each vector file users bring (:class:`study.table_files.TableFile`),
    naming their file until :func:`study.table_files.resolve_arms` puts its cached rows in their place."""
    return [Variant(f"{f.name}-{mode}", {"embedding": mode, FILE_FIELD: f.name}) for f in files
            for mode in ("init", "frozen")]


FILE_FIELD = "table_file"  # an unresolved file arm's field: the file's NAME
