"""Speed and memory of ``prepare`` on a large corpus: the bench text repeated to N tokens.

Each size runs in a fresh process so that its peak resident set is its own. Run as a module for one
measurement: ``python -m corpus.bench FILE REPEATS`` prints a JSON line.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _measure(text_file: Path, repeats: int) -> dict:
    """Prepare ``text_file`` read ``repeats`` times (one process); tokens/s and peak RSS."""
    from corpus.prepare import PrepareConfig, prepare_corpus
    from corpus.sources import TextFileSource

    sources = [TextFileSource(text_file)] * repeats
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        prepared = prepare_corpus(sources, Path(tmp) / "run" / "corpus", PrepareConfig())
        seconds = time.perf_counter() - start
        tokens = sum(prepared.manifest["counts"]["tokens"].values())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
            "peak_rss_mb": peak_kb / 1024, "vocab_size": prepared.manifest["counts"]["vocab_size"]}


def bench_prepare(text: str | Path, targets=(20_000_000, 40_000_000)) -> list[dict]:
    """Prepare the plain text file ``text`` repeated to each target size of tokens (each in a fresh process)."""
    text = Path(text)
    one = json.loads(subprocess.run([sys.executable, "-m", "corpus.bench", str(text), "1"],
                                    check=True, capture_output=True, text=True).stdout)
    results = []
    for target in targets:
        repeats = -(-target // one["tokens"])
        out = subprocess.run([sys.executable, "-m", "corpus.bench", str(text), str(repeats)],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out))
    return results


if __name__ == "__main__":
    print(json.dumps(_measure(Path(sys.argv[1]), int(sys.argv[2]))))
