"""The plumbing the table trainers share: thread pool, engine choice, learning-rate decay, torch threads,
report keys and config checks."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction

import pytest
import torch

from base.cores import torch_threads
from base.errors import InputError
from tabletrain import engine
from tabletrain.config import Backend, Device, ExportVectors, TrainerConfig
from tabletrain.pool import run_jobs, run_workers
from tabletrain.report import REPORT_FORMAT_VERSION, table_meta
from w2v.kernels import linear_decay


# ------------------------------------------------------------------------------------------------ pool
def test_an_error_in_one_worker_reaches_the_caller_after_the_others_finish():
    finished, calls = [], []

    def part(i):
        def work():
            if i == 1:
                raise ValueError("part 1 broke")
            finished.append(i)
        return work

    with pytest.raises(ValueError, match="part 1 broke"):
        run_workers([part(i) for i in range(4)], progress=lambda: calls.append(1))
    assert sorted(finished) == [0, 2, 3]
    assert calls  # at least the final report


def test_the_first_worker_in_order_that_fails_is_the_error_raised():
    second_failed = threading.Event()

    def first():
        second_failed.wait(10)  # fail after the second one
        raise RuntimeError("first")

    def second():
        try:
            raise RuntimeError("second")
        finally:
            second_failed.set()

    with pytest.raises(RuntimeError, match="first"):
        run_workers([first, second])


def test_progress_runs_in_the_caller_while_the_workers_run():
    released = threading.Event()
    seen = []

    def blocked():
        seen.append(released.wait(10))  # only the progress callback releases it

    def progress():
        assert threading.current_thread() is threading.main_thread()
        released.set()

    run_workers([blocked, blocked], progress, poll=0.01)
    assert seen == [True, True]


def test_run_jobs_runs_every_job_once():
    ran, lock = [], threading.Lock()

    def job(j):
        with lock:
            ran.append(j)

    run_jobs(job, 50, threads=3)
    assert sorted(ran) == list(range(50))
    run_jobs(job, 0, threads=2)  # nothing to do is fine
    assert len(ran) == 50


def test_run_jobs_stops_taking_jobs_after_an_error():
    ran = []

    def job(j):
        ran.append(j)
        if j == 3:
            raise KeyError("job 3")

    with pytest.raises(KeyError, match="job 3"):
        run_jobs(job, 10, threads=1)
    assert ran == [0, 1, 2, 3]


# ------------------------------------------------------------------------------------------------ engine
A, C, G, N, T = Device.AUTO, Device.CPU, Device.CUDA, Backend.NUMBA, Backend.TORCH
AB = Backend.AUTO


@pytest.mark.parametrize("device, backend, cuda, expected", [
    (C, AB, False, ("cpu", "numba")), (C, AB, True, ("cpu", "numba")),
    (C, N, False, ("cpu", "numba")), (C, N, True, ("cpu", "numba")),
    (C, T, False, ("cpu", "torch")), (C, T, True, ("cpu", "torch")),
    (A, AB, False, ("cpu", "numba")), (A, AB, True, ("cuda", "torch")),
    (A, N, False, ("cpu", "numba")), (A, N, True, ("cpu", "numba")),  # auto never puts numba on CUDA
    (A, T, False, ("cpu", "torch")), (A, T, True, ("cuda", "torch")),
    (G, AB, True, ("cuda", "torch")), (G, T, True, ("cuda", "torch")),
    (G, AB, False, "torch sees no CUDA device"), (G, T, False, "torch sees no CUDA device"),
    (G, N, False, "the numba toy trainer runs on the CPU only"),
    (G, N, True, "the numba toy trainer runs on the CPU only"),
])
def test_resolve_engine(monkeypatch, device, backend, cuda, expected):
    monkeypatch.setattr(engine, "cuda_available", lambda: cuda)
    if isinstance(expected, str):
        with pytest.raises(InputError, match=expected):
            engine.resolve_engine(device, backend, "toy")
    else:
        assert engine.resolve_engine(device, backend, "toy") == expected


def test_resolve_engine_on_cpu_does_not_ask_for_cuda(monkeypatch):
    def no(*_):
        raise AssertionError("asked torch for CUDA")

    monkeypatch.setattr(engine, "cuda_available", no)
    assert engine.resolve_engine(C, AB, "toy") == ("cpu", "numba")
    assert engine.resolve_engine(A, N, "toy") == ("cpu", "numba")


# ------------------------------------------------------------------------------------------------ lr decay
def test_linear_decay_by_hand():
    assert linear_decay(1.0, 0.0, 0.0, 4.0) == 1.0
    assert linear_decay(1.0, 0.0, 1.0, 4.0) == 0.75
    assert linear_decay(1.0, 0.5, 2.0, 4.0) == 0.75  # 1 - 0.5 * 2 / 4
    assert linear_decay(0.025, 0.0001, 50.0, 100.0) == pytest.approx(0.01255, rel=1e-12)
    assert linear_decay(0.025, 0.0001, 100.0, 100.0) == pytest.approx(0.0001, rel=1e-12)
    assert linear_decay(0.025, 0.0001, 150.0, 100.0) == 0.0001  # never below min_alpha


def test_linear_decay_is_python_float_arithmetic():
    # Called from Python it returns a Python float computed in double precision, not float32: 1 - 1/3 is the
    # double nearest 2/3 (float32 arithmetic would give 0.6666666865348816).
    lr = linear_decay(1.0, 0.0, 1.0, 3.0)
    assert type(lr) is float
    assert lr == 0.6666666666666667
    assert linear_decay(0.75, 0.25, 3.0, 8.0) == 0.5625  # 0.75 - 0.5 * 3/8, exact in binary
    # word2vec's defaults over 3 epochs of 58,397 tokens, against exact rational arithmetic: after one epoch
    # a third of the way down, 0.025 - 0.0249 / 3 = 0.0167; to within double rounding (float32: ~1e-8 off).
    alpha, min_alpha, total = 0.025, 0.0001, 3 * 58_397
    assert linear_decay(alpha, min_alpha, 58_397.0, float(total)) == pytest.approx(0.0167, rel=1e-14, abs=0)
    for done in (12_345, 99_999):
        exact = Fraction("0.025") - Fraction("0.0249") * done / total
        assert linear_decay(alpha, min_alpha, float(done), float(total)) == pytest.approx(float(exact), rel=1e-14,
                                                                                           abs=0)
    assert linear_decay(alpha, min_alpha, 2.0 * total, float(total)) == 0.0001  # clamped, not negative


# ------------------------------------------------------------------------------------------------ torch
def test_torch_threads_restores_the_count_after_an_exception():
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    with pytest.raises(RuntimeError, match="inside"):
        with torch_threads(other):
            assert torch.get_num_threads() == other
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------------------------------------ config, report
@dataclass(frozen=True)
class Toy(TrainerConfig):
    KIND = "toy"
    ENUMS = {"export_vectors": ExportVectors}

    dim: int = 4
    threads: int | None = None
    seed: int = 0
    rate: float = 0.5
    floor: float = 0.0
    epochs: int = 2
    export_vectors: ExportVectors = ExportVectors.IN

    def __post_init__(self) -> None:
        self._coerce_enums()
        self._require_ints("dim", "epochs")
        self._require_ints("threads", allow_none=True)
        self._require_ints("seed", low=0)
        self._require_positive_numbers("rate")
        self._require_finite("floor", inclusive=True)


@pytest.mark.parametrize("bad, message", [
    (dict(dim=0), "toy dim must be a positive integer, not 0"),
    (dict(dim=True), "toy dim must be a positive integer, not True"),
    (dict(dim=2.0), "toy dim must be a positive integer, not 2.0"),
    (dict(threads=0), "toy threads must be a positive integer, not 0"),
    (dict(seed=-1), "toy seed must be a non-negative integer, not -1"),
    (dict(rate=0.0), "toy rate must be a positive number, not 0.0"),
    (dict(rate=float("inf")), "toy rate must be a positive number, not inf"),
    (dict(floor=-1e-9), "toy floor must be a finite number >= 0.0, not -1e-09"),
    (dict(floor=float("nan")), "toy floor must be a finite number >= 0.0, not nan"),
    (dict(export_vectors="both"), "toy export_vectors must be one of in|out|sum, not 'both'"),
])
def test_config_checks_name_the_field(bad, message):
    with pytest.raises(InputError) as info:
        Toy(**bad)
    assert str(info.value) == message
    Toy(threads=None, seed=0, floor=0.0)  # the edges that pass


def test_table_meta_keys_in_order():
    state = {"train_seconds": 2.0, "loss_per_epoch": [3, 1.5]}
    meta = table_meta(Toy(), method="toy", corpus_hash="abc", tokens=100, state=state, device="cpu",
                      backend="numba", threads=1, boundary="b", resumed_from=0, untrained=3,
                      training={"updates": 7}, inputs={"source": "s"})
    assert list(meta) == ["format_version", "method", "config", "corpus_hash", "tokens", "epochs",
                          "train_seconds", "words_per_second", "loss_per_epoch", "updates", "export_vectors",
                          "device", "backend", "threads", "source", "boundary", "resumed_from_epoch",
                          "untrained_rows", "untrained_fill"]
    assert meta["format_version"] == REPORT_FORMAT_VERSION == 1
    assert meta["words_per_second"] == 100.0  # 100 tokens x 2 epochs in 2 s
    assert meta["loss_per_epoch"] == [3.0, 1.5] and meta["config"]["export_vectors"] == "in"
    assert meta["untrained_fill"] == "normal(0, std of the trained rows)"


def test_word2vec_and_glove_read_auto_alike(monkeypatch):
    from w2v.config import Word2VecConfig
    from w2v.train import resolve_engine as w2v_engine

    monkeypatch.setattr(engine, "cuda_available", lambda: True)
    assert w2v_engine(Word2VecConfig(device="auto", backend="numba")) == ("cpu", "numba")
    assert w2v_engine(Word2VecConfig(device="auto")) == ("cuda", "torch")
    with pytest.raises(InputError, match="numba word2vec trainer runs on the CPU only"):
        w2v_engine(Word2VecConfig(device="cuda", backend="numba"))
    with pytest.raises(InputError, match="noise pair with torch"):
        w2v_engine(Word2VecConfig(device="auto", noise="window"))  # auto picks torch on CUDA
