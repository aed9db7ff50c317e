"""Shared fixtures: small real corpora and tables prepared once per session; a command run as a user runs it
(a subprocess) or, faster, in this process."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shutil
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Small but real English text: gensim's Lee news corpus (300 documents, one per line).
LEE_DOCUMENTS = "lines"
# The tables of the shared pretrained run: every method, tiny and bit-reproducible (one thread), GloVe's
# x_max for a small corpus. Seed 0 only: a study trains its other seeds' tables itself.
PRETRAIN = ("--dim", "16", "--epochs", "1", "--threads", "1", "--x-max", "10", "--quiet")
DEVICE = "cpu"  # the GPT runs' device: pytest --device cuda (make gpu-check) trains them on CUDA


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"),
                     help="Device of the GPT runs the tests train (make gpu-check: cuda).")


def pytest_configure(config):
    global DEVICE
    DEVICE = config.getoption("--device")
    if DEVICE == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise pytest.UsageError("--device cuda: torch sees no CUDA device here")


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


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="session")
def pretrained(lee_corpus, tmp_path_factory):
    """A run directory with the Lee corpus and its cbow, skipgram and glove tables, made once per session by
    ``python -m pipelines.pretrain --run-dir RUN`` + PRETRAIN (seed 0), as a user makes them.

    Shared and read-only: a test that writes into a run uses ``pretrained_run`` (its own copy). The session
    fails at teardown if anything wrote into it."""
    run = tmp_path_factory.mktemp("pretrained") / "run"
    # without co-occurrence counts another test's GloVe may have cached: GloVe counts them itself
    shutil.copytree(lee_corpus.path, run / "corpus", ignore=shutil.ignore_patterns("cooccurrence-*"))
    result = run_module("pipelines.pretrain", "--run-dir", str(run), *PRETRAIN)
    assert result.returncode == 0, result.stderr
    before = _snapshot(run)
    yield run
    assert _snapshot(run) == before, "a test wrote into the shared pretrained run: copy it (pretrained_run)"


@pytest.fixture
def pretrained_run(pretrained, tmp_path):
    """A run directory of its own: a copy of the shared pretrained run (corpus and seed-0 tables)."""
    run = tmp_path / "run"
    shutil.copytree(pretrained, run)
    return run


def run_module(module: str, *args: str, cwd: Path | None = None, timeout: int = 600):
    """Run ``python -m module args`` in a subprocess, as a user would; returns CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=timeout)


def run_cli(module: str, *args: str):
    """``python -m module args`` in this process (no interpreter start, no torch import: about 2 s less per
    call); returns a CompletedProcess as :func:`run_module` does.

    It runs what ``python -m`` runs, the module's ``main_entry(cli)``: the exit code of its SystemExit, what
    it wrote to stdout and stderr, warnings written as the interpreter writes them (by its default filters),
    and an uncaught exception as a traceback with exit code 1. sys.argv, os.environ and torch's thread count
    are restored afterwards. Not for a command that must see a lock this process holds, or whose subject is
    its own process (signals, worker processes, torchrun): use run_module there."""
    from pipelines.common import main_entry

    import torch

    command = importlib.import_module(module).cli
    out, err = io.StringIO(), io.StringIO()
    argv, environ, threads = sys.argv, dict(os.environ), torch.get_num_threads()
    sys.argv = [f"{module.rsplit('.', 1)[-1]}.py", *map(str, args)]
    code = 0
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            warnings.resetwarnings()  # the interpreter's default filters, not pytest's
            warnings.simplefilter("default")
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", category)
            try:
                main_entry(command)
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=sys.stderr)
                    code = 1
            except Exception:  # noqa: BLE001 -- what the interpreter does with it
                traceback.print_exc()
                code = 1
        for w in caught:
            err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
    finally:
        sys.argv = argv
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    return subprocess.CompletedProcess([sys.executable, "-m", module, *map(str, args)], code, out.getvalue(),
                                       err.getvalue())


def assert_one_line_error(result) -> None:
    """Exit code 2, exactly one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


def auto_precision() -> str:
    """What a command's ``--precision auto`` picks for the tests' device on this machine (bf16 on CUDA and
    where the CPU's bf16 units were measured faster, else fp32): a config a test builds to stand beside a
    command's run takes this precision."""
    from gpt.config import resolve_precision

    return resolve_precision(None, DEVICE)


def train_run(run_dir, config, variant: str | None = None, **options):
    """One GPT run as every command trains it: named by the study's default (unless ``variant``), its table
    found by its source (study.plan.resolve_run), trained with gpt.train.TrainOptions(**options)."""
    from gpt.train import TrainOptions, train
    from study.plan import resolve_run
    from study.variants import variant_name

    options.setdefault("log", lambda message: None)
    options.setdefault("device", DEVICE)
    run = resolve_run(run_dir, config, variant or variant_name(config), log=options["log"])
    return train(run, TrainOptions(**options))


# nanoGPT is not installed here: a stand-in with its model.py interface (GPTConfig's fields, GPT(config),
# forward(idx, targets) -> (logits, loss), get_num_params, configure_optimizers), recording how it is called.
FAKE_NANOGPT = '''
from dataclasses import dataclass
import torch
import torch.nn as nn
from torch.nn import functional as F

CALLS = []

@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True

class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.h = nn.ModuleList([nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
                                for _ in range(config.n_layer)])
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight
        print("number of parameters: lots")

    def get_num_params(self, non_embedding=True):
        return sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()

    def forward(self, idx, targets=None):
        CALLS.append(("forward", idx.clone(), targets.clone()))
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1)))
        for layer in self.h:
            x = x + layer(x)
        logits = self.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        CALLS.append(("configure_optimizers", weight_decay, learning_rate, betas, device_type))
        print("using fused AdamW: False")
        return torch.optim.AdamW(self.parameters(), lr=learning_rate, betas=betas, weight_decay=weight_decay)
'''


@pytest.fixture
def nanogpt_dir(tmp_path):
    """A folder holding a nanoGPT-shaped ``model.py`` (:data:`FAKE_NANOGPT`)."""
    folder = tmp_path / "nanoGPT"
    folder.mkdir()
    (folder / "model.py").write_text(FAKE_NANOGPT)
    return folder
