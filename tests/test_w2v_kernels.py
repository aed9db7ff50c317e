"""One skip-gram / CBOW update, numba and torch engines, against torch autograd of the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from w2v.torch_engine import cbow_step, sg_step
from w2v.kernels import cbow_update, pair_update, sg_update, total_loss

V, D, LR = 12, 8, 0.05


def params(seed: int = 0):
    rng = np.random.default_rng(seed)
    syn0 = rng.normal(0, 0.5, (V, D)).astype(np.float32)
    syn1 = rng.normal(0, 0.5, (V, D)).astype(np.float32)
    return syn0, syn1


def sgns_loss(x, u, outs):
    """Negative-sampling loss of input rows x (C, D) against u (1 + K, D); a noise word equal to the target
    (outs[0]) is left out, as word2vec does."""
    z = x @ u.T  # (C, 1 + K)
    keep = torch.tensor([True] + [o != outs[0] for o in outs[1:]])
    return F.softplus(-z[:, 0]).sum() + (F.softplus(z[:, 1:]) * keep[1:]).sum()


def autograd_sg(syn0, syn1, ctx, outs):
    """(loss, d loss / d syn0, d loss / d syn1) of the summed pair losses at the old parameters."""
    s0 = torch.tensor(syn0, dtype=torch.float64, requires_grad=True)
    s1 = torch.tensor(syn1, dtype=torch.float64, requires_grad=True)
    loss = sgns_loss(s0[list(ctx)], s1[list(outs)], list(outs))
    loss.backward()
    return loss.item(), s0.grad.numpy(), s1.grad.numpy()


def scratch(n_ctx, n_out):
    return np.zeros((max(n_ctx, 2), n_out), np.float32), np.zeros((max(n_ctx, 2), D), np.float32)


@pytest.mark.parametrize("ctx, outs", [
    ([3], [5, 2, 7, 9]),  # one (context, centre) pair: the default skip-gram update
    ([3], [5, 2, 5, 9]),  # a noise word equal to the centre is skipped
    ([3, 4, 3, 8], [5, 2, 7, 7]),  # a centre's window with shared noise: repeated context and noise words
])
def test_skipgram_update_is_sgd_on_the_true_loss(ctx, outs):
    syn0, syn1 = params()
    loss_ref, g0, g1 = autograd_sg(syn0, syn1, ctx, outs)
    new0, new1 = syn0.copy(), syn1.copy()
    grad, delta = scratch(len(ctx), len(outs))
    acc = sg_update(new0, new1, np.array(ctx, np.int64), len(ctx), np.array(outs, np.int64), len(outs),
                    np.float32(LR), grad, delta, 0.0, 1.0)
    assert total_loss(*acc) == pytest.approx(loss_ref, rel=1e-5)
    np.testing.assert_allclose(new0 - syn0, -LR * g0, atol=2e-6)
    np.testing.assert_allclose(new1 - syn1, -LR * g1, atol=2e-6)


# distinct noise (an even and an odd number of output rows: they move two at a time); one equal to the centre
@pytest.mark.parametrize("outs", [[5, 2, 7, 9], [5, 2, 7, 9, 1], [5, 2, 5, 9]])
def test_a_pair_update_is_sgd_on_the_true_loss(outs):
    syn0, syn1 = params()
    loss_ref, g0, g1 = autograd_sg(syn0, syn1, [3], outs)
    new0, new1 = syn0.copy(), syn1.copy()
    acc = pair_update(new0, new1, 3, np.array(outs, np.int64), len(outs), np.float32(LR), np.zeros(D, np.float32),
                      np.zeros(len(outs), np.float32), 0.0, 1.0)
    assert total_loss(*acc) == pytest.approx(loss_ref, rel=1e-5)
    np.testing.assert_allclose(new0 - syn0, -LR * g0, atol=2e-6)
    np.testing.assert_allclose(new1 - syn1, -LR * g1, atol=2e-6)


def test_a_noise_word_drawn_twice_sees_its_first_update_as_in_word2vec():
    syn0, syn1 = params(4)
    outs = [5, 2, 7, 2]
    x = syn0[3].astype(np.float64)
    u = syn1.astype(np.float64).copy()
    neu1e, loss = np.zeros(D), 0.0
    for k, o in enumerate(outs):  # word2vec.c's loop: the logit of each output row as it stands now
        z = x @ u[o]
        label = 1.0 if k == 0 else 0.0
        sigma = 1.0 / (1.0 + math.exp(-z))
        loss -= math.log(sigma if k == 0 else 1.0 - sigma)
        g = (label - sigma) * LR
        neu1e += g * u[o]
        u[o] += g * x
    new0, new1 = syn0.copy(), syn1.copy()
    acc = pair_update(new0, new1, 3, np.array(outs, np.int64), 4, np.float32(LR), np.zeros(D, np.float32),
                      np.zeros(4, np.float32), 0.0, 1.0)
    assert total_loss(*acc) == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(new1, u, atol=2e-6)
    np.testing.assert_allclose(new0[3], x + neu1e, atol=2e-6)
    # the batch rule would differ: row 2's second logit taken before its first update
    _, _, g1 = autograd_sg(syn0, syn1, [3], outs)
    assert np.abs((syn1 - LR * g1)[2] - u[2]).max() > 1e-6
    # CBOW with the one context 3 (h = syn0[3]) takes the same steps
    cb0, cb1 = syn0.copy(), syn1.copy()
    acc = cbow_update(cb0, cb1, np.array([3]), 1, np.array(outs, np.int64), 4, np.float32(LR), np.zeros(D, np.float32),
                      np.zeros(D, np.float32), np.zeros(4, np.float32), 0.0, 1.0)
    assert total_loss(*acc) == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(cb1, u, atol=2e-6)
    np.testing.assert_allclose(cb0[3], x + neu1e, atol=2e-6)


@pytest.mark.parametrize("ctx, outs", [([1, 3, 4, 6], [5, 2, 7, 9]), ([1, 3], [5, 2, 7]), ([3, 3, 4], [5, 5, 7, 2])])
def test_cbow_update_moves_each_context_by_the_gradient_of_the_mean(ctx, outs):
    syn0, syn1 = params(1)
    s0 = torch.tensor(syn0, dtype=torch.float64)
    h = s0[ctx].mean(0, keepdim=True).requires_grad_(True)  # (1, D)
    s1 = torch.tensor(syn1, dtype=torch.float64, requires_grad=True)
    loss = sgns_loss(h, s1[outs], outs)
    loss.backward()
    expected0 = syn0.astype(np.float64).copy()
    for row in ctx:  # word2vec's rule: each context row gets the whole gradient of h
        expected0[row] -= LR * h.grad.numpy()[0]
    new0, new1 = syn0.copy(), syn1.copy()
    acc = cbow_update(new0, new1, np.array(ctx, np.int64), len(ctx), np.array(outs, np.int64), len(outs),
                      np.float32(LR), np.zeros(D, np.float32), np.zeros(D, np.float32), np.zeros(len(outs), np.float32),
                      0.0, 1.0)
    assert total_loss(*acc) == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(new0, expected0, atol=2e-6)
    np.testing.assert_allclose(new1 - syn1, -LR * s1.grad.numpy(), atol=2e-6)


def test_torch_steps_match_autograd_and_the_numba_updates():
    syn0, syn1 = params(2)
    pairs = [(3, 5, [2, 7, 9]), (4, 6, [6, 1, 2]), (3, 5, [8, 8, 0])]  # (context, centre, noise)
    loss_ref, g0, g1 = 0.0, np.zeros_like(syn0, np.float64), np.zeros_like(syn1, np.float64)
    for c, t, noise in pairs:  # batch semantics: every gradient at the old parameters, summed
        loss, a, b = autograd_sg(syn0, syn1, [c], [t] + noise)
        loss_ref, g0, g1 = loss_ref + loss, g0 + a, g1 + b
    t0, t1 = torch.tensor(syn0), torch.tensor(syn1)
    loss = sg_step(t0, t1, torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs]),
                   torch.tensor([p[2] for p in pairs]), LR)
    assert float(loss) == pytest.approx(loss_ref, rel=1e-5)
    np.testing.assert_allclose(t0.numpy() - syn0, -LR * g0, atol=2e-6)
    np.testing.assert_allclose(t1.numpy() - syn1, -LR * g1, atol=2e-6)

    # a batch of one is exactly the numba pair update
    t0, t1 = torch.tensor(syn0), torch.tensor(syn1)
    sg_step(t0, t1, torch.tensor([3]), torch.tensor([5]), torch.tensor([[2, 7, 9]]), LR)
    new0, new1 = syn0.copy(), syn1.copy()
    sg_update(new0, new1, np.array([3]), 1, np.array([5, 2, 7, 9]), 4, np.float32(LR), *scratch(1, 4), 0.0, 1.0)
    np.testing.assert_allclose(t0.numpy(), new0, atol=1e-6)
    np.testing.assert_allclose(t1.numpy(), new1, atol=1e-6)


def test_torch_cbow_step_matches_the_numba_update():
    syn0, syn1 = params(3)
    contexts = [[1, 3, -1, 4], [2, -1, -1, 2]]  # -1 pads a short window
    centres, noise = [5, 6], [[2, 7, 9], [0, 6, 1]]
    expected0, expected1 = syn0.copy(), syn1.copy()
    for ctx, t, nz in zip(contexts, centres, noise):  # separate updates from the same old parameters
        a0, a1 = syn0.copy(), syn1.copy()
        rows = [r for r in ctx if r >= 0]
        cbow_update(a0, a1, np.array(rows), len(rows), np.array([t] + nz), 4, np.float32(LR),
                    np.zeros(D, np.float32), np.zeros(D, np.float32), np.zeros(4, np.float32), 0.0, 1.0)
        expected0 += a0 - syn0
        expected1 += a1 - syn1
    t0, t1 = torch.tensor(syn0), torch.tensor(syn1)
    cbow_step(t0, t1, torch.tensor(contexts), torch.tensor(centres), torch.tensor(noise), LR)
    np.testing.assert_allclose(t0.numpy(), expected0, atol=2e-6)
    np.testing.assert_allclose(t1.numpy(), expected1, atol=2e-6)


def test_loss_stays_finite_and_honest_for_saturated_logits():
    syn0 = np.zeros((V, D), np.float32)
    syn1 = np.zeros((V, D), np.float32)
    syn0[3, 0], syn1[5, 0], syn1[2, 0] = 10.0, -12.0, 12.0  # target logit -120, noise logit +120
    acc = sg_update(syn0, syn1, np.array([3]), 1, np.array([5, 2]), 2, np.float32(0.0), *scratch(1, 2), 0.0, 1.0)
    assert total_loss(*acc) == pytest.approx(240.0, rel=1e-6)
    assert math.isfinite(total_loss(*acc))
