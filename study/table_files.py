"""Vector files users bring (GloVe 6B, fastText ``.vec``, word2vec ``.bin``, of any width) as study arms.

``--table-file NAME=PATH`` gives the arms ``NAME-init`` and ``NAME-frozen``. The file is read once, streaming,
keeping only the rows of the run's vocabulary (:func:`vectors.align.load_for_vocab`, whose casing rule is
stated there), and those rows are cached in ``<run>/table-files/<sha256 of the file>/<corpus hash>.npz``
(``-pca<d>`` when reduced), so the next study starts at once: a file already hashed at the same size and
modification time is not read again (``table-files/index.json``). The arms' runs name the cached table
(relative to the run directory), so plan lines and resumes find it as the study did.

A file whose width is not the GPT's d_model needs ``--table-width``: ``project`` (a learned projection from
the file's width to d_model, as ``--project``) or ``pca`` (the found rows' principal components, the first
d_model of them, computed once and cached; the rows are then rescaled like every table). A file has no seed:
its arms use the same rows for every seed, so their intervals cover the GPT's randomness alone.

On a subword vocabulary (``prepare --tokenizer bpe`` or ``--tokenizer FILE.json``) the file is read for the
corpus's word list (``words.tsv``, the train split's words) and its rows reach the tokens by
:mod:`vectors.subword`'s rule (``--subword-rows combine|random``, part of the cache key and so of the arm's
table); the cached table holds every token, the ones left random marked untrained. :func:`coverage` reports
the rows found by frequency band.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.atomic import file_sha256
from base.errors import InputError
from study.table_configs import METHODS, SHUFFLED_TABLE

TABLE_WIDTHS = ("project", "pca")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
RESERVED = (*METHODS, SHUFFLED_TABLE, "learned", "pos", "file")
INDEX = "index.json"


def is_run_table(arm) -> bool:
    """Whether an arm uses a table pretrained in the run with each seed (not a vector file's rows)."""
    return bool(arm.table) and not str(arm.table).startswith("table-files/")


@dataclass(frozen=True)
class TableFile:
    """A vector file a user brings: the arms' ``name`` and the file's ``path``."""

    name: str
    path: Path


def check_name(name: str) -> None:
    """InputError for an arm name a file cannot take (its arms are ``NAME-init`` and ``NAME-frozen``)."""
    if not NAME_PATTERN.match(name):
        raise InputError(f"--table-file NAME must be lower-case letters, digits and _, got {name!r}")
    if name in RESERVED:
        raise InputError(f"--table-file {name}=... clashes with a built-in arm; choose another NAME")


def known_sha256(folder: Path, path: Path) -> str:
    """The file's sha256, from ``folder/index.json`` when the file has the size and modification time it had
    when hashed there, else computed (the index is then updated by :func:`cache_rows`)."""
    stat = path.stat()
    try:
        entry = json.loads((folder / INDEX).read_text(encoding="utf-8")).get(str(path.resolve()))
    except (OSError, ValueError, AttributeError):
        entry = None
    if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return str(entry["sha256"])
    return file_sha256(path)


@dataclass(frozen=True)
class FileArm:
    """A vector file resolved for one run's corpus and width: where its rows are cached (``table``, relative
    to the run directory), whether its arms project, and what it is."""

    file: TableFile
    sha256: str
    table: str
    project: bool
    pca: bool

    def fields(self, mode: str) -> dict:
        """The GPT config fields of the arm ``NAME-<mode>``."""
        return {"embedding": mode, "table": self.table, "project": self.project}


def locate(settings, prepared, file: TableFile, width: str | None) -> FileArm:
    """Where ``file``'s rows for this corpus are cached, without writing anything."""
    if not file.path.is_file():
        raise InputError(f"--table-file {file.name}: no such file {file.path}")
    if width is not None and width not in TABLE_WIDTHS:
        raise InputError(f"--table-width must be one of {', '.join(TABLE_WIDTHS)}, got {width!r}")
    sha = known_sha256(settings.layout.table_files, file.path)
    pca = width == "pca"
    key = prepared.content_hash[:16] + (f"-{settings.tables.subword}" if prepared.is_subword else "") + \
        (f"-pca{settings.dim}" if pca else "")
    return FileArm(file, sha, f"table-files/{sha}/{key}.npz", width == "project", pca)


def cache_rows(settings, prepared, arm: FileArm):
    """The cached rows of ``arm`` (made when missing: one streaming pass over the file, a PCA when asked),
    checked against the study's width; returns the EmbeddingTable."""
    from vectors import EmbeddingTable
    from vectors.align import load_for_vocab

    path = settings.run_dir / arm.table
    if path.is_file():
        table = EmbeddingTable.load(path)
    elif prepared.is_subword:
        table = _subword_table(arm, prepared, settings.tables.subword)
    else:
        specials = set(prepared.vocab.specials)
        table = load_for_vocab(arm.file.path, [w for w in prepared.vocab.tokens if w not in specials])
    if not path.is_file():
        table = EmbeddingTable(table.words, table.matrix, dict(table.meta, sha256=arm.sha256, file=str(arm.file.path),
                                                               file_dim=table.dim, corpus_hash=prepared.content_hash),
                               table.trained_mask)
        check_width(arm, table.dim, settings.dim)
        if arm.pca:
            table = pca_table(table, settings.dim)
        table.save(path)
        _remember(settings.layout.table_files, arm)
        subword = table.meta.get("subword")
        found = (f"{subword['words_found']:,} of the corpus's {subword['words']:,} words found among "
                 f"{table.meta['rows_scanned']:,} in {arm.file.path}; {subword['whole_word']:,} whole-word tokens, "
                 f"{subword['combined']:,} combined" if subword else
                 f"{len(table):,} rows of the vocabulary found among {table.meta['rows_scanned']:,} in {arm.file.path}")
        settings.log(f"table file {arm.file.name}: {found} (width {table.meta['file_dim']}) -> {path}")
    check_width(arm, table.meta.get("file_dim", table.dim), settings.dim)
    return table


def _subword_table(arm: FileArm, prepared, rule: str):
    """A word file's rows on a subword vocabulary (:mod:`vectors.subword`): the corpus's word list is read
    from the file (the casing rule of :func:`vectors.align.load_for_vocab`), then every token takes a row by
    ``rule``; a table over every token, the random ones marked untrained. Meta gains ``subword``."""
    from vectors import EmbeddingTable
    from vectors.align import load_for_vocab
    from vectors.subword import subword_rows

    words, counts = prepared.word_list()
    found = load_for_vocab(arm.file.path, words)
    index = found.index
    has_row = np.array([w in index for w in words], dtype=bool)
    rows = np.zeros((len(words), found.dim), dtype=np.float32)  # (W, C)
    rows[has_row] = found.matrix[[index[w] for w in np.asarray(words, dtype=object)[has_row]]]
    vocab = prepared.vocab
    made = subword_rows(len(vocab), prepared.word_pieces(words), counts, rows, has_row, rule,
                        [vocab.index[s] for s in vocab.specials])
    meta = dict(found.meta, subword={"rule": rule, "words": len(words), "words_found": int(has_row.sum()),
                                     **made.counts()})
    return EmbeddingTable(list(vocab.tokens), made.matrix, meta, made.found)


def check_width(arm: FileArm, width: int, dim: int) -> None:
    """InputError unless a file of ``width`` reaches d_model ``dim`` by the arm's rule: no silent truncation
    or padding."""
    if width == dim:
        return
    if not (arm.project or arm.pca):
        raise InputError(f"--table-file {arm.file.name} has width {width} but --dim is {dim}: pass --table-width "
                         "project (a learned projection) or pca (its first principal components)")
    if arm.pca and width < dim:
        raise InputError(f"--table-file {arm.file.name} has width {width}, fewer than --dim {dim}: PCA cannot "
                         "widen it; pass --table-width project")


def pca_table(table, dim: int):
    """The table's rows projected on their first ``dim`` principal components (centred, by SVD); meta gains
    ``pca`` (widths and the share of variance kept)."""
    from vectors import EmbeddingTable

    rows = np.asarray(table.matrix, dtype=np.float64)
    trained = table.trained_mask  # fitted on the rows a file gave, never on untrained placeholders
    centre = rows[trained].mean(axis=0)
    _, singular, vt = np.linalg.svd(rows[trained] - centre, full_matrices=False)  # (n, k), (k,), (k, width)
    reduced = (rows - centre) @ vt[:dim].T  # (N, dim)
    reduced[~trained] = 0.0
    kept = float((singular[:dim] ** 2).sum() / max((singular ** 2).sum(), 1e-300))
    meta = dict(table.meta, pca={"from": table.dim, "to": dim, "variance_kept": kept})
    return EmbeddingTable(table.words, reduced.astype(np.float32), meta, trained)


def _remember(folder: Path, arm: FileArm) -> None:
    """Record the file's sha256 with its size and modification time, so the next study need not read it."""
    from base.atomic import write_json

    try:
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        index = index if isinstance(index, dict) else {}
    except (OSError, ValueError):
        index = {}
    stat = arm.file.path.stat()
    index[str(arm.file.path.resolve())] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": arm.sha256}
    write_json(folder / INDEX, index)


BANDS = ((0, 0), (1, 9), (10, 99), (100, 999), (1000, None))  # train counts, inclusive


def band_label(low: int, high: int | None) -> str:
    return f"{low:,}+" if high is None else f"{low:,}" if low == high else f"{low:,}-{high:,}"


def coverage(prepared, table) -> dict:
    """What the file's rows cover: vocabulary tokens (specials aside), and train and test tokens, in all and
    by frequency band (a token's count in the train split: 0, 1-9, 10-99, 100-999, 1,000+; empty bands left
    out). A row counts when the table holds it as trained (a subword token left random does not)."""
    vocab = prepared.vocab
    index, trained = table.index, table.trained_mask
    found = np.array([w in index and bool(trained[index[w]]) for w in vocab.tokens], dtype=bool)  # (V,)
    regular = ~np.isin(np.arange(len(vocab)), [vocab.index[s] for s in vocab.specials])  # (V,)
    train_per_id = np.bincount(prepared.train_ids, minlength=len(vocab))  # == vocab.counts, from the ids
    test_per_id = np.bincount(prepared.test_ids, minlength=len(vocab))

    def shares(members: np.ndarray) -> dict:
        train, test = train_per_id[members], test_per_id[members]
        return {"vocab": int(members.sum()), "rows_found": int((found & members).sum()),
                "vocab_share": float((found & members).sum() / max(members.sum(), 1)),
                "train_token_share": float(train[found[members]].sum() / max(train.sum(), 1)),
                "test_token_share": float(test[found[members]].sum() / max(test.sum(), 1))}

    whole = shares(regular)
    counts = np.asarray(vocab.counts)
    bands = []
    for low, high in BANDS:
        members = regular & (counts >= low) & (counts <= (high if high is not None else counts.max()))
        if members.any():
            bands.append({"band": band_label(low, high), **shares(members)})
    return {"rows_found": whole["rows_found"], "vocab_share": whole["vocab_share"],
            "train_token_share": float(train_per_id[found].sum() / max(len(prepared.train_ids), 1)),
            "test_token_share": float(test_per_id[found].sum() / max(len(prepared.test_ids), 1)),
            "bands": bands}


def describe(arm: FileArm, table, prepared) -> dict:
    """What a summary records of a file arm."""
    meta = table.meta
    return {"file": str(arm.file.path), "sha256": arm.sha256, "rows_scanned": meta.get("rows_scanned"),
            "width": meta.get("file_dim", table.dim), "table_width": "pca" if arm.pca else "project" if arm.project
            else None, "pca": meta.get("pca"), "exact": meta.get("exact"), "case_folded": meta.get("case_folded"),
            "subword": meta.get("subword"), **coverage(prepared, table)}


def resolve_arms(settings, prepared, arms: list) -> tuple[list, dict]:
    """The arms with each file arm (:func:`study.variants.file_arms`) given its GPT fields
    (:meth:`FileArm.fields`: its cached rows), and the located files by name; reads, writes nothing."""
    from study.variants import FILE_FIELD, Variant

    files = {f.name: f for f in settings.tables.files}
    located, resolved = {}, []
    for arm in arms:
        name = arm.fields.get(FILE_FIELD)
        if name is None:
            resolved.append(arm)
            continue
        if name not in located:
            located[name] = locate(settings, prepared, files[name], settings.tables.width)
        resolved.append(Variant(arm.name, located[name].fields(arm.fields["embedding"])))
    return resolved, located


def cache_files(settings, prepared, located: dict) -> dict:
    """Each located file's rows cached and checked (one streaming pass per file, the first time; a bad file
    is one line and caches nothing); returns per file what a summary records of it."""
    return {name: describe(arm, cache_rows(settings, prepared, arm), prepared) for name, arm in located.items()}
