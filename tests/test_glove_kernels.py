"""The GloVe objective: weighting function, gradients against torch autograd, numba vs torch updates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glove.kernels import adagrad_batch, adagrad_entries, entry_gradients, glove_loss, weighting
from glove.train import PARAMS, init_params


def test_weighting_function():
    x = np.array([0.0, 1.0, 10.0, 50.0, 100.0, 1e6])
    f = weighting(x, x_max=100.0, alpha=0.75)
    assert f[0] == 0.0 and f[4] == 1.0 and f[5] == 1.0
    assert f[1] == pytest.approx(0.01 ** 0.75) and f[3] == pytest.approx(0.5 ** 0.75)
    assert np.all(np.diff(f) >= 0)
    assert weighting([5.0], x_max=10.0, alpha=1.0)[0] == pytest.approx(0.5)


def random_problem(seed=0, vocab=7, dim=5, n=12, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(vocab, dim, generator=g, dtype=dtype)
    C = torch.randn(vocab, dim, generator=g, dtype=dtype)
    bw, bc = torch.randn(vocab, generator=g, dtype=dtype), torch.randn(vocab, generator=g, dtype=dtype)
    rows = torch.randint(0, vocab, (n,), generator=g)
    cols = torch.randint(0, vocab, (n,), generator=g)
    x = torch.rand(n, generator=g, dtype=dtype) * 20 + 0.1
    return W, C, bw, bc, rows, cols, x.log(), torch.from_numpy(weighting(x.numpy(), 10.0, 0.75)).to(dtype)


def test_gradient_matches_autograd():
    W, C, bw, bc, rows, cols, logx, fx = random_problem()
    leaves = [t.clone().requires_grad_(True) for t in (W, C, bw, bc)]
    glove_loss(*leaves, rows, cols, logx, fx).backward()
    dw, dc, db, dbc, loss = entry_gradients(W, C, bw, bc, rows, cols, logx, fx)
    summed = [torch.zeros_like(t).index_add_(0, idx, g)
              for t, idx, g in ((W, rows, dw), (C, cols, dc), (bw, rows, db), (bc, cols, dbc))]
    for leaf, grad in zip(leaves, summed):
        assert torch.allclose(leaf.grad, grad, atol=1e-12)
    assert float(loss.sum()) == pytest.approx(float(glove_loss(W, C, bw, bc, rows, cols, logx, fx)))


def numpy_params(W, C, bw, bc):
    params = {"W": W, "C": C, "bw": bw, "bc": bc}
    params = {k: v.to(torch.float32).numpy().copy() for k, v in params.items()}
    for k in ("W", "C", "bw", "bc"):
        params["g" + k] = np.ones_like(params[k])
    return params


def test_numba_update_is_lr_times_autograd_gradient():
    # With the squared sums at 1, one entry moves each parameter by exactly -lr * gradient.
    W, C, bw, bc, rows, cols, logx, fx = random_problem(seed=1, n=1, dtype=torch.float32)
    params = numpy_params(W, C, bw, bc)
    before = {k: v.copy() for k, v in params.items()}
    leaves = [t.clone().requires_grad_(True) for t in (W, C, bw, bc)]
    loss = glove_loss(*leaves, rows, cols, logx, fx)
    loss.backward()
    lr = 0.05
    got = adagrad_entries(rows.numpy().astype(np.int32), cols.numpy().astype(np.int32), logx.numpy(),
                          fx.numpy(), 0, 1, *[params[k] for k in PARAMS], np.float32(lr), np.float32(100))
    assert got == pytest.approx(float(loss.detach()), rel=1e-5)
    for name, leaf in zip(("W", "C", "bw", "bc"), leaves):
        step = before[name] - params[name]
        assert np.allclose(step, lr * leaf.grad.numpy(), atol=1e-6)
        # the squared sums grew by the squared scaled gradient
        assert np.allclose(params["g" + name] - 1.0, (lr * leaf.grad.numpy()) ** 2, atol=1e-6)


def test_gradient_clipping():
    W, C, bw, bc, rows, cols, logx, fx = random_problem(seed=2, n=1, dtype=torch.float32)
    params = numpy_params(W, C, bw, bc)
    before = params["W"].copy()
    adagrad_entries(rows.numpy().astype(np.int32), cols.numpy().astype(np.int32), logx.numpy(), fx.numpy(),
                    0, 1, *[params[k] for k in PARAMS], np.float32(1e4), np.float32(0.01))
    assert np.abs(before - params["W"]).max() <= 0.01 + 1e-6


def test_torch_batch_of_one_equals_numba_kernel():
    rng = np.random.default_rng(3)
    vocab, dim, n = 9, 6, 200
    rows = rng.integers(0, vocab, n).astype(np.int32)
    cols = rng.integers(0, vocab, n).astype(np.int32)
    x = rng.random(n) * 30 + 0.5
    logx, fx = np.log(x).astype(np.float32), weighting(x, 10.0, 0.75).astype(np.float32)
    a = init_params(vocab, dim, seed=0)
    b = {k: torch.from_numpy(v.copy()) for k, v in a.items()}
    numba_loss = adagrad_entries(rows, cols, logx, fx, 0, n, *[a[k] for k in PARAMS], np.float32(0.05),
                                 np.float32(100))
    r, c = torch.from_numpy(rows.astype(np.int64)), torch.from_numpy(cols.astype(np.int64))
    torch_loss = sum(float(adagrad_batch(b, r[e:e + 1], c[e:e + 1], torch.from_numpy(logx[e:e + 1]),
                                         torch.from_numpy(fx[e:e + 1]), 0.05, 100.0)) for e in range(n))
    assert numba_loss == pytest.approx(torch_loss, rel=1e-4)
    for k in PARAMS:
        assert np.allclose(a[k], b[k].numpy(), atol=1e-5), k


def test_batched_step_lowers_the_loss():
    W, C, bw, bc, rows, cols, logx, fx = random_problem(seed=4, n=64, dtype=torch.float32)
    params = {k: torch.from_numpy(v) for k, v in numpy_params(W * 0.1, C * 0.1, bw, bc).items()}
    losses = [float(adagrad_batch(params, rows, cols, logx, fx, 0.05, 100.0)) for _ in range(50)]
    assert losses[-1] < 0.5 * losses[0]
