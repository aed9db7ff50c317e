"""Stanford GloVe's C programs, run on our corpus for ``make bench``: the peer of our counting and training.

``GLOVE_DIR`` is a build of https://github.com/stanfordnlp/GloVe (the folder holding ``vocab_count``,
``cooccur``, ``shuffle`` and ``glove``, or its ``build/`` folder). They get the very tokens ours trains on:
the prepared train split written as space-separated words, one document per line, with our vocabulary's
``min_count``, window, x_max, dim, threads and epochs. Counting is timed as ``vocab_count`` + ``cooccur`` +
``shuffle`` (Stanford's pipeline needs all three before training; ours counts in one pass and needs no
shuffle); training as ``glove`` over its epochs.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from base.errors import InputError
from bench.text import train_sentences

PROGRAMS = ("vocab_count", "cooccur", "shuffle", "glove")
RECORD_BYTES = 16  # a CREC of the co-occurrence file: int word1, int word2, double value


def find_programs(glove_dir: str | Path) -> dict[str, Path]:
    """The four programs in ``glove_dir`` (or its ``build/``); InputError naming what is missing."""
    glove_dir = Path(glove_dir)
    if not glove_dir.is_dir():
        raise InputError(f"GLOVE_DIR {glove_dir} is not a folder (it takes a build of Stanford GloVe, the "
                         "folder holding vocab_count, cooccur, shuffle and glove)")
    for folder in (glove_dir / "build", glove_dir):
        found = {name: folder / name for name in PROGRAMS}
        if all(path.is_file() for path in found.values()):
            return found
    raise InputError(f"GLOVE_DIR {glove_dir} lacks Stanford GloVe's programs ({', '.join(PROGRAMS)}); "
                     "build them with `make` in a clone of stanfordnlp/GloVe")


def write_split_text(prepared, out: Path) -> int:
    """The train split as words, one document per line (``<eos>`` ends a line; ``<unk>`` and ``<pad>``
    dropped); returns the words written."""
    words = 0
    with open(out, "w", encoding="utf-8") as handle:
        for sentence in train_sentences(prepared):
            handle.write(" ".join(sentence) + "\n")
            words += len(sentence)
    return words


def _run(args: list, stdin: Path | None, stdout: Path | None, cwd: Path) -> float:
    """Run one program in ``cwd`` (where cooccur and shuffle put their temporary files); its wall seconds.
    InputError with its stderr's last line when it fails."""
    started = time.perf_counter()
    with open(stdin, "rb") if stdin else open("/dev/null", "rb") as source, \
            open(stdout, "wb") if stdout else open("/dev/null", "wb") as sink:
        done = subprocess.run([str(a) for a in args], stdin=source, stdout=sink, stderr=subprocess.PIPE, cwd=cwd)
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise InputError(f"{Path(args[0]).name} failed (exit {done.returncode}): {tail[0]}")
    return time.perf_counter() - started


def run_stanford(programs: dict[str, Path], prepared, work: Path, *, min_count: int, window: int, dim: int,
                 x_max: float, epochs: int, threads: int, memory_gb: float = 2.0) -> dict:
    """Count and train with Stanford's programs; timings, counts and the path of the vectors it wrote."""
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    text, vocab, cooc, shuf = (work / n for n in ("corpus.txt", "vocab.txt", "cooccur.bin", "cooccur.shuf.bin"))
    words = write_split_text(prepared, text)
    memory = f"{memory_gb:g}"
    count_seconds = _run([programs["vocab_count"], "-min-count", min_count, "-verbose", 0], text, vocab, work)
    count_seconds += _run([programs["cooccur"], "-memory", memory, "-vocab-file", vocab, "-verbose", 0,
                           "-window-size", window], text, cooc, work)
    count_seconds += _run([programs["shuffle"], "-memory", memory, "-verbose", 0], cooc, shuf, work)
    nonzeros = cooc.stat().st_size // RECORD_BYTES
    train_seconds = _run([programs["glove"], "-save-file", work / "vectors", "-threads", threads, "-input-file",
                          shuf, "-x-max", x_max, "-iter", epochs, "-vector-size", dim, "-binary", 0,
                          "-vocab-file", vocab, "-verbose", 0], None, None, work)
    return {"words": words, "vocab_size": sum(1 for _ in open(vocab, encoding="utf-8")), "nonzeros": nonzeros,
            "count_seconds": count_seconds, "count_tokens_per_second": words / count_seconds,
            "train_seconds": train_seconds, "epochs": epochs,
            "entries_per_second": nonzeros * epochs / train_seconds, "vectors": str(work / "vectors.txt")}
