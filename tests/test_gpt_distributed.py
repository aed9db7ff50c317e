"""Data-parallel training under torchrun: 2 CPU processes (gloo, 127.0.0.1) against 1 process, resume, errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import REPO, assert_one_line_error
from base.errors import InputError
from gpt import distributed
from gpt.checkpoint import read_checkpoint
from gpt.config import GPTConfig
from gpt.train import RunFiles
from tests.conftest import train_run

# 10 steps of a global batch of 4 windows x 16 tokens; evaluations at steps 0, 1, 2, 5 and 10; in fp32 on
# every machine, so that the two runs agree to fp32's rounding (bf16 products would round the two halves
# of a batch apart from the whole)
CONFIG = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=640, evals=4, lr=1e-2)
ARGS = ["--d-model", "16", "--layers", "1", "--heads", "2", "--context", "16", "--batch-size", "4",
        "--tokens", "640", "--evals", "4", "--lr", "1e-2", "--precision", "fp32", "--quiet"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(run_dir, *args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node nproc -m pipelines.train_gpt`` on this machine, as a user starts it."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "-m", "pipelines.train_gpt", "--run-dir", str(run_dir), *ARGS, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.fixture
def new_run(lee_corpus, tmp_path):
    """A factory of run directories, each holding a copy of the prepared Lee corpus."""

    def make(name: str):
        shutil.copytree(lee_corpus.path, tmp_path / name / "corpus")
        return tmp_path / name

    return make


def read_curve(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def column(rows: list[dict], name: str) -> np.ndarray:
    return np.array([float(r[name]) if r[name] else np.nan for r in rows])


def test_shards_tile_the_global_batch_and_a_single_process_is_untouched(monkeypatch):
    offsets = np.arange(12) * 7
    shards = [distributed.shard(offsets, distributed.Context(r, 3)) for r in range(3)]
    assert np.array_equal(np.concatenate(shards), offsets) and {len(s) for s in shards} == {4}
    assert distributed.shard(offsets, distributed.Context()) is offsets
    with pytest.raises(InputError, match="does not divide by the 2 processes") as info:
        distributed.check_batch(5, 2)
    assert "\n" not in str(info.value)
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.current() == distributed.Context() and not distributed.current().is_distributed
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun started a command that trains alone: refused
    with pytest.raises(InputError, match="no process group"):
        distributed.current()


def test_two_processes_train_the_single_process_run(new_run):
    one, two = new_run("one"), new_run("two")
    single = train_run(one, CONFIG, log=lambda message: None)
    result = torchrun(two)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("learned seed 0: test loss") == 1  # rank 0 alone speaks
    a, b = RunFiles.of(one, "learned", 0), RunFiles.of(two, "learned", 0)
    assert json.loads(a.config.read_text()) == json.loads(b.config.read_text())  # the same run
    curve_a, curve_b = read_curve(a.curve), read_curve(b.curve)
    assert [r["step"] for r in curve_b] == ["0", "1", "2", "5", "10"]
    assert [r["tokens"] for r in curve_a] == [r["tokens"] for r in curve_b]
    for name in ("val_loss", "train_loss", "lr"):
        np.testing.assert_allclose(column(curve_b, name), column(curve_a, name), rtol=1e-5, err_msg=name)
    assert column(curve_b, "val_loss")[-1] < column(curve_b, "val_loss")[0] - 0.3  # it learns
    parallel = json.loads(b.result.read_text())
    assert parallel["world_size"] == 2 and single["world_size"] == 1
    for key in ("test_loss", "test_loss_frequent", "test_loss_rare", "val_loss"):
        assert parallel[key] == pytest.approx(single[key], rel=1e-5), key
    weights_a, weights_b = read_checkpoint(a.checkpoint)["model"], read_checkpoint(b.checkpoint)["model"]
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        torch.testing.assert_close(weights_b[key], weights_a[key], rtol=1e-4, atol=1e-5)


def test_a_resumed_two_process_run_continues_the_same_curve(new_run):
    # dropout on: each process resumes its own dropout generator
    full, paused = new_run("full"), new_run("paused")
    assert torchrun(full, "--dropout", "0.1").returncode == 0
    stopped = torchrun(paused, "--dropout", "0.1", "--stop-after", "4")  # between evaluations 2 and 5
    assert stopped.returncode == 0, stopped.stderr
    assert "paused after step 4" in stopped.stdout
    files = RunFiles.of(paused, "learned", 0)
    state = read_checkpoint(files.checkpoint)
    assert state["step"] == 4 and len(state["rng_ranks"]) == 2 and not files.result.exists()
    resumed = torchrun(paused, "--dropout", "0.1")
    assert resumed.returncode == 0, resumed.stderr
    reference = RunFiles.of(full, "learned", 0)
    drop_seconds = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop_seconds(read_curve(files.curve)) == drop_seconds(read_curve(reference.curve))
    assert json.loads(files.result.read_text())["test_loss"] == json.loads(reference.result.read_text())["test_loss"]
    weights_a, weights_b = read_checkpoint(reference.checkpoint)["model"], read_checkpoint(files.checkpoint)["model"]
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key


def test_a_global_batch_that_does_not_divide_is_one_line(new_run):
    run_dir = new_run("odd")
    # rank 0 of two, as torchrun starts it: the one line, before any rendezvous
    env = dict(os.environ, PYTHONPATH=str(REPO), RANK="0", LOCAL_RANK="0", WORLD_SIZE="2",
               MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    command = [sys.executable, "-m", "pipelines.train_gpt", "--run-dir", str(run_dir), *ARGS, "--batch-size", "5"]
    rank0 = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert_one_line_error(rank0)
    assert "--batch-size 5 (the global batch) does not divide by the 2 processes" in rank0.stderr
    # under torchrun: the line once (torchrun adds its own failure report), nothing written
    launched = torchrun(run_dir, "--batch-size", "5")
    assert launched.returncode != 0
    assert launched.stderr.count("does not divide by the 2 processes") == 1
    assert "InputError" not in launched.stderr and "exitcode  : 2" in launched.stderr
    assert not (run_dir / "gpt").exists()
