"""Shared fixtures: small real corpora prepared once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Small but real English text: gensim's Lee news corpus (300 documents, one per line).
LEE_DOCUMENTS = "lines"


def lee_path() -> Path:
    from gensim.test.utils import datapath

    return Path(datapath("lee_background.cor"))


@pytest.fixture(scope="session")
def lee_corpus(tmp_path_factory):
    """The Lee corpus prepared with min_count 2 (about 60k tokens)."""
    from corpus.prepare import PrepareConfig, prepare_corpus
    from corpus.sources import resolve_sources

    out = tmp_path_factory.mktemp("lee") / "run" / "corpus"
    config = PrepareConfig(min_count=2, documents="lines", val_fraction=0.05, test_fraction=0.05)
    return prepare_corpus(resolve_sources(str(lee_path()), documents="lines"), out, config)


@pytest.fixture
def run_dir(lee_corpus, tmp_path):
    """A run directory of its own holding a copy of the prepared Lee corpus."""
    run = tmp_path / "run"
    shutil.copytree(lee_corpus.path, run / "corpus")
    return run


def run_module(module: str, *args: str, cwd: Path | None = None, timeout: int = 600):
    """Run ``python -m module args`` in a subprocess, as a user would; returns CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=timeout)


def assert_one_line_error(result) -> None:
    """Exit code 2, exactly one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
