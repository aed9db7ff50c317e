"""Where a GPT run's table comes from, in one type, and the one function that finds, checks and loads it.

A run config names its table (``GPTConfig.table``: a method of the run such as ``glove``, or a vector file)
and, for a run table, the text it was pretrained on (``GPTConfig.table_data``). The GPT package records both
and never interprets them; this module does:

=================  =====================================================  ====================  ==============
source             the table                                              where                 folder suffix
=================  =====================================================  ====================  ==============
``run``            the run's own, on the whole train split                ``embeddings/``       (none)
``fraction``       same text: on the GPT's own fraction of the split      ``embeddings/frac<F>/``  ``sametext``
``table-corpus``   on a second corpus (transfer)                          ``table-corpus/embeddings/``  ``transfer``
``file``           a vector file the user names (it has no seeds)          the file              (``file-<stem>``)
=================  =====================================================  ====================  ==============

A run table of trainer seed k > 0 lives in ``seed<k>/`` below its folder (:meth:`base.layout.RunLayout.tables`).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from base.atomic import file_sha256
from base.errors import InputError
from base.layout import RunLayout
from gpt.runs import TableInput

FILE_SUFFIXES = (".gz", ".xz", ".bz2", ".npz", ".txt", ".vec", ".bin", ".vectors")


class TableSource(str, Enum):
    """Where a table comes from; the value of the first three is a run config's ``table_data``."""

    RUN = "run"
    FRACTION = "fraction"
    TABLE_CORPUS = "table-corpus"
    FILE = "file"

    @property
    def folder_suffix(self) -> str | None:
        """What a run's default folder name gains, so that runs of one table from two sources never share a
        folder (a file's runs are told apart by their ``file-`` label instead)."""
        return {TableSource.FRACTION: "sametext", TableSource.TABLE_CORPUS: "transfer"}.get(self)

    @property
    def other_text(self) -> bool:
        """Pretrained on other text than the run's whole train split on purpose: the run records which."""
        return self in (TableSource.FRACTION, TableSource.TABLE_CORPUS)


RUN_TABLE_SOURCES = tuple(s.value for s in TableSource if s is not TableSource.FILE)  # --table-data's choices


def is_run_table(table: str) -> bool:
    """Whether ``table`` names one of the run's own tables (``skipgram``) rather than a vector file (anything
    with a directory or a suffix: ``glove.txt``, ``vecs/w2v.bin``)."""
    return Path(table).name == table and "." not in table


def table_label(table: str) -> str:
    """A short name for a table: the method name itself, or ``file-`` and a vector file's stem
    (``vecs.txt.gz`` -> ``file-vecs``), so a table from outside the run never takes a run table's name."""
    if is_run_table(table):
        return table
    name = Path(table).name
    for suffix in FILE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return f"file-{name}"


def source_of(config) -> TableSource | None:
    """The source of a run config's table (None for a learned embedding); InputError when the config asks
    for a source its table cannot have."""
    if config.embedding == "learned":
        return None
    if not is_run_table(config.table):
        if config.table_data != TableSource.RUN.value:
            raise InputError(f"--table-data {config.table_data} picks one of the run's tables by method name "
                             "(e.g. init:glove); a vector file has none")
        if config.table_seed is not None:
            raise InputError(f"--table-seed picks one of the run's own tables (embeddings/seed<k>/); "
                             f"{config.table} is a vector file, which has no seeds")
        return TableSource.FILE
    try:
        source = TableSource(config.table_data)
    except ValueError:
        raise InputError(f"unknown table data {config.table_data!r}; expected one of "
                         f"{', '.join(RUN_TABLE_SOURCES)}") from None
    if source is TableSource.FRACTION and config.fraction == 1.0:
        raise InputError("--table-data fraction needs a --fraction below 1 (at 1 it is the run's own table: "
                         "--table-data run)")
    return source


def check_config(config) -> None:
    """InputError for a config whose table source is impossible (before anything is read or written)."""
    if config.embedding == "learned" and config.table_data != TableSource.RUN.value:
        raise InputError(f"--table-data {config.table_data} needs a table; a learned embedding has none")
    source_of(config)


def table_path(layout: RunLayout, source: TableSource, method: str, seed: int, fraction: float = 1.0) -> Path:
    """The ``.npz`` of a run table of ``source``, trainer ``seed`` and (same text) GPT ``fraction``."""
    if source is TableSource.TABLE_CORPUS:
        return layout.table_corpus.table(method, seed)
    return layout.table(method, seed, fraction=fraction if source is TableSource.FRACTION else 1.0)


def missing_hint(run_dir: Path, config) -> str:
    """What makes the missing run table of ``config``, as the end of a message: a command that works as
    shown (the run directory, the table's width and seed, GloVe's x_max as a study pretrains it)."""
    if source_of(config) is TableSource.RUN:
        args = f" --run-dir {run_dir} --methods {config.table}"
        args += f" --dim {config.d_model}" if not config.project else ""
        args += " --x-max 10" if config.table == "glove" else ""
        args += f" --seed {config.trainer_seed}" if config.trainer_seed else ""
        return f"(run `python -m pipelines.pretrain{args}`); a vector file is named with its suffix (vectors.txt)"
    return f"(the data sweep, `python -m pipelines.datasweep --run-dir {run_dir}` with this arm, pretrains it)"


def load_table(run_dir: Path, config) -> TableInput | None:
    """Find, check and load the table of ``config`` (None for a learned embedding).

    A run table must exist where its source keeps it (:func:`table_path`) and have been trained with the
    config's trainer seed (``table_seed``, else the run's seed); a vector file must exist.
    """
    from vectors import EmbeddingTable
    from vectors.formats import load_vectors

    check_config(config)
    source = source_of(config)
    if source is None:
        return None
    if source is TableSource.FILE:
        path = Path(config.table)
        if not path.is_absolute() and (Path(run_dir) / path).is_file():
            path = Path(run_dir) / path  # a file arm's cached rows, named relative to the run directory
        if not path.is_file():
            raise InputError(f"no vector file {config.table}")
        table = load_vectors(path, format="auto")
        record = _file_record(path, run_dir)
        if isinstance(table.meta.get("subword"), dict):  # a word file on a subword vocabulary: rows by rule
            record["subword"] = table.meta["subword"]
        return TableInput(table, record)
    seed = config.trainer_seed
    path = table_path(RunLayout(run_dir), source, config.table, seed, config.fraction)
    if not path.is_file():
        where = "in the run" if source is TableSource.RUN else f"pretrained on the {source.value} text"
        raise InputError(f"no table {config.table!r} {where}: {path} is missing {missing_hint(run_dir, config)}")
    table = EmbeddingTable.load(path)
    made_with = table.meta.get("config", {}).get("seed", seed)
    if made_with != seed:
        raise InputError(f"{path} was trained with seed {made_with}, not {seed}; retrain it "
                         f"(`python -m pipelines.pretrain --run-dir {run_dir} --seed {seed} --force`)")
    return TableInput(table, _file_record(path, run_dir), source.other_text)


def _file_record(path: Path, run_dir: str | Path) -> dict:
    """What a run records of its table's file: the path (relative to the run directory when inside it, since
    a run directory can move) and its sha256."""
    try:
        name = str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except ValueError:
        name = str(path)
    return {"file": name, "file_sha256": file_sha256(path)}
