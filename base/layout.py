"""The layout of a run directory, in one place: every reader and writer asks :class:`RunLayout` for a path.

```
<run>/corpus/                     the prepared corpus (manifest.json, vocab.tsv, train/val/test.ids)
<run>/embeddings/                 tables of trainer seed 0: <method>.npz, .txt, .json
<run>/embeddings/seed<k>/         tables of trainer seed k > 0
<run>/embeddings/frac<F>/[seed<k>/]  tables pretrained on fraction F of the train split (the data sweep)
<run>/gpt/<variant>/seed<k>/      one GPT run: config.json, checkpoint.pt, curve.csv, result.json
<run>/compare/ compare-positions/ sweep/ datasweep/     the studies' summaries
<run>/table-corpus/               a second prepared corpus and its tables, for transfer arms
<run>/table-files/<sha256>/       the vocabulary rows of a vector file users bring (study.table_files)
<run>/eval/                       the run's report
```
(``docs/conventions.md`` holds the fixed names.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from base.parse import exact_number

def fraction_label(fraction: float) -> str:
    """The folder-name form of a fraction of the train split, exact so that two fractions never share a
    folder: ``frac0.125``, ``frac1``, ``frac0.3333334`` (:func:`base.parse.exact_number`)."""
    return f"frac{exact_number(fraction)}"


TABLE_SUFFIXES = (".npz", ".txt", ".json")  # a table's files: native, word2vec text, report


def gpt_run_name(variant: str, seed: int) -> str:
    """A GPT run's folder relative to ``gpt/``: ``<variant>/seed<k>`` (how the summaries name their runs)."""
    return f"{variant}/seed{seed}"


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run directory ``root``; nothing is created or read here."""

    root: Path

    def __init__(self, root: str | os.PathLike) -> None:
        object.__setattr__(self, "root", Path(root))

    @classmethod
    def of_gpt_run(cls, directory: str | os.PathLike) -> "RunLayout":
        """The run directory that holds the GPT run folder ``directory`` (``<run>/gpt/<variant>/seed<k>``)."""
        return cls(Path(directory).parents[2])

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def manifest(self) -> Path:
        return self.corpus / "manifest.json"

    def tables(self, seed: int = 0, fraction: float = 1.0) -> Path:
        """Where the tables trained with ``seed`` live: ``embeddings/`` for seed 0 (what ``make pretrain``
        writes by default), ``embeddings/seed<k>/`` for any other seed k. A study's GPT seed k uses the
        tables of seed k, so the tables' own randomness is part of the seed-to-seed spread. Tables pretrained
        on a ``fraction`` below 1 of the train split (the documents seed k chooses) live in
        ``embeddings/frac<F>/`` the same way."""
        base = self.root / "embeddings"
        if fraction != 1.0:
            base = base / fraction_label(fraction)
        return base if seed == 0 else base / f"seed{seed}"

    def table(self, method: str, seed: int = 0, suffix: str = ".npz", fraction: float = 1.0) -> Path:
        """One file of a method's table: ``.npz`` (native), ``.txt`` (word2vec text) or ``.json`` (report)."""
        return self.tables(seed, fraction) / f"{method}{suffix}"

    def checkpoints(self, method: str, seed: int = 0, fraction: float = 1.0) -> Path:
        """A table trainer's per-epoch checkpoints."""
        return self.tables(seed, fraction) / ".checkpoints" / method

    @property
    def gpt(self) -> Path:
        return self.root / "gpt"

    def gpt_variant(self, variant: str) -> Path:
        return self.gpt / variant

    def gpt_run(self, variant: str, seed: int) -> Path:
        return self.gpt / gpt_run_name(variant, seed)

    def study(self, name: str) -> Path:
        """A study's output folder: ``compare``, ``compare-positions``, ``sweep`` or ``datasweep``."""
        return self.root / name

    @property
    def compare(self) -> Path:
        return self.study("compare")

    @property
    def compare_positions(self) -> Path:
        return self.study("compare-positions")

    @property
    def sweep(self) -> Path:
        return self.study("sweep")

    @property
    def datasweep(self) -> Path:
        return self.study("datasweep")

    @property
    def table_corpus(self) -> "RunLayout":
        """The second corpus of transfer arms lives as a run directory of its own inside this one."""
        return RunLayout(self.root / "table-corpus")

    @property
    def table_files(self) -> Path:
        """The vector files users bring, their vocabulary rows cached by the file's sha256."""
        return self.root / "table-files"

    @property
    def eval(self) -> Path:
        return self.root / "eval"


@dataclass(frozen=True)
class RunFiles:
    """The files of one GPT run: ``<run_dir>/gpt/<variant>/seed<k>/``."""

    directory: Path

    @classmethod
    def of(cls, run_dir: str | os.PathLike, variant: str, seed: int) -> "RunFiles":
        return cls(RunLayout(run_dir).gpt_run(variant, seed))

    @property
    def layout(self) -> RunLayout:
        """The run directory this run belongs to."""
        return RunLayout.of_gpt_run(self.directory)

    config = property(lambda self: self.directory / "config.json")
    checkpoint = property(lambda self: self.directory / "checkpoint.pt")
    curve = property(lambda self: self.directory / "curve.csv")
    result = property(lambda self: self.directory / "result.json")
