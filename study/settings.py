"""The settings every study shares, in one frozen object that a command builds once and hands to compare,
the budget sweep or the data sweep (and they to their tables, planner, scheduler and summary)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from base.layout import RunLayout
from study.stats import DEFAULT_MARGIN


def given(options: dict, names=None) -> dict:
    """The options (among ``names``, when given) that were given a value: None means "the default"."""
    return {name: value for name, value in options.items()
            if value is not None and (names is None or name in names)}


@dataclass(frozen=True)
class TableSettings:
    """How a study's tables are made when it pretrains them itself (their width is the GPT's ``d_model``).

    ``x_max``: GloVe's x_max, checked against the run's GloVe table and used when one is pretrained here
    (None: the run's own, else :data:`study.table_configs.DEFAULT_X_MAX`); ``files``: the vector files users
    bring (:class:`study.table_files.TableFile`), each giving the arms ``NAME-init`` and ``NAME-frozen``;
    ``width``: how a file of another width reaches d_model (``project`` or ``pca``, None: it must match);
    ``subword``: how a word file's rows reach the tokens of a subword vocabulary that are not whole words
    (``combine`` or ``random``, :mod:`vectors.subword`)."""

    x_max: float | None = None
    files: tuple = ()
    width: str | None = None
    subword: str = "combine"


@dataclass(frozen=True)
class StudySettings:
    """One study's settings.

    ``base``: the GPT config every arm starts from (``gpt.config.GPTConfig``; its ``d_model`` is also the
    width of tables pretrained here); ``seeds``: seeds per arm, paired across arms; ``jobs``: runs trained at
    once (``auto`` allowed, :func:`study.scheduler.resolve_jobs`); ``threads``: torch threads of each run
    (None: the available cores shared out); ``margin``: the equivalence margin in nats/token; ``fresh``:
    train everything again, replacing finished runs and tables of other settings; ``progress``: progress
    bars; ``log``: the study's one-line messages."""

    run_dir: Path
    base: object
    seeds: int = 3
    tables: TableSettings = TableSettings()
    device: str = "cpu"
    jobs: int | str = 1
    threads: int | None = None
    margin: float = DEFAULT_MARGIN
    fresh: bool = False
    progress: bool = False
    log: Callable[[str], None] = print

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_dir)

    @property
    def dim(self) -> int:
        """The width of the study's tables: the GPT's d_model."""
        return self.base.d_model
