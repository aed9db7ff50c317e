"""Speed and memory of ``prepare`` on a large corpus: the bench text repeated to N tokens.

Each size runs in a fresh Python process (:data:`_CHILD`) so that its peak resident set is its own; the
process prints :func:`measure`'s JSON line.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)  # the folder holding the bench package
_CHILD = ("import json, sys; sys.path.insert(0, sys.argv[1]); from bench.prepare import measure; "
          "print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))")


def measure(text_file: str | Path, repeats: int) -> dict:
    """Prepare ``text_file`` read ``repeats`` times (in this process); tokens/s and peak RSS."""
    from corpus.prepare import PrepareConfig, prepare_corpus
    from corpus.sources import TextFileSource

    sources = [TextFileSource(Path(text_file))] * repeats
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        prepared = prepare_corpus(sources, Path(tmp) / "run" / "corpus", PrepareConfig())
        seconds = time.perf_counter() - start
        tokens = sum(prepared.manifest["counts"]["tokens"].values())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
            "peak_rss_mb": peak_kb / 1024, "vocab_size": prepared.manifest["counts"]["vocab_size"]}


def _measure_in_child(text: Path, repeats: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, _ROOT, str(text), str(repeats)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def bench_prepare(text: str | Path, targets=(20_000_000, 40_000_000)) -> list[dict]:
    """Prepare the plain text file ``text`` repeated to each target size of tokens (each in a fresh process)."""
    text = Path(text)
    one = _measure_in_child(text, 1)
    return [_measure_in_child(text, -(-target // one["tokens"])) for target in targets]
