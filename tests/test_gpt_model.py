"""The transformer, its chunked loss and its seeded init."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import gpt.loss
from gpt.config import GPTConfig
from gpt.loss import linear_cross_entropy, linear_token_losses
from gpt.model import GPT


def small(**changes) -> GPT:
    config = GPTConfig(**{"d_model": 16, "n_layer": 2, "n_head": 2, "context": 8, "dropout": 0.0, **changes})
    model = GPT(config, vocab_size=30)
    model.init_weights()
    return model


@pytest.mark.parametrize("chunk_elements", [64, 1 << 20])
def test_chunked_loss_matches_autograd(monkeypatch, chunk_elements):
    monkeypatch.setattr(gpt.loss, "CHUNK_ELEMENTS", chunk_elements)  # 64: several chunks, last one short
    torch.manual_seed(0)
    h = torch.randn(37, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(11, 5, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 11, (37,))
    ours = linear_cross_entropy(h, w, t)
    grad_h, grad_w = torch.autograd.grad(ours * 3.0, (h, w))
    reference = F.cross_entropy(F.linear(h, w), t)
    ref_h, ref_w = torch.autograd.grad(reference * 3.0, (h, w))
    assert ours.item() == pytest.approx(reference.item(), rel=1e-5)
    assert torch.allclose(grad_h, ref_h, atol=1e-5) and torch.allclose(grad_w, ref_w, atol=1e-5)
    with torch.no_grad():  # no gradients needed: the same value
        assert linear_cross_entropy(h, w, t).item() == pytest.approx(reference.item(), rel=1e-5)


@pytest.mark.parametrize("chunk_elements", [64, 1 << 20])
def test_token_losses_are_autograds_per_token_cross_entropy(monkeypatch, chunk_elements):
    monkeypatch.setattr(gpt.loss, "CHUNK_ELEMENTS", chunk_elements)  # 64: several chunks, last one short
    torch.manual_seed(0)
    h, w = torch.randn(3, 13, 5), torch.randn(11, 5)
    t = torch.randint(0, 11, (3, 13))
    reference = F.cross_entropy(F.linear(h.double(), w.double()).flatten(0, 1), t.flatten(), reduction="none")
    ours = linear_token_losses(h, w, t)
    assert ours.shape == (3, 13) and ours.dtype == torch.float32
    assert torch.allclose(ours.double().flatten(), reference, atol=1e-5)


def test_mean_loss_is_the_mean_of_token_losses():
    model = small()
    idx = torch.randint(0, 30, (3, 8))
    targets = torch.randint(0, 30, (3, 8))
    per_token = model(idx, targets, reduction="none")
    assert per_token.shape == (3, 8)
    assert model(idx, targets).item() == pytest.approx(per_token.mean().item(), rel=1e-5)
    assert model(idx).shape == (3, 8, 30)


def test_weight_decay_only_on_linear_matrices():
    model = small(bias=True)
    decay, other = model.param_groups(0.1)
    assert decay["weight_decay"] == 0.1 and other["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    assert decayed and all(n.endswith(("qkv.weight", "proj.weight", "fc.weight")) for n in decayed)
    undecayed = {names[id(p)] for p in other["params"]}
    assert {"tok.weight", "pos.table", "ln_f.weight", "ln_f.bias"} <= undecayed
    assert all(not n.endswith("weight") or n.startswith(("tok", "pos", "ln")) or ".ln" in n for n in undecayed)
    assert len(decay["params"]) + len(other["params"]) == len(list(model.parameters()))


def test_init_is_seeded_per_weight():
    a, b, c = small(seed=1), small(seed=1), small(seed=2)
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
        if pa.dim() == 2:
            assert not torch.equal(pa, pc), name
    # residual projections start smaller (GPT-2), norms at one
    block = a.blocks[0]
    assert block.attn.proj.weight.std() < block.attn.qkv.weight.std()
    assert torch.equal(block.ln1.weight, torch.ones(16))
    # the blocks do not depend on the position kind either
    rope = small(seed=1, position="rope")
    assert torch.equal(rope.blocks[1].mlp.fc.weight, a.blocks[1].mlp.fc.weight)


def test_config_refuses_impossible_shapes():
    from base.errors import InputError

    for bad in ({"n_head": 3}, {"context": 0}, {"embedding": "init"}, {"table": "glove"}, {"dropout": 1.0},
                {"position": "spiral"}):
        with pytest.raises(InputError):
            GPTConfig(**bad)
    config = GPTConfig(embedding="frozen", table="glove", position="rope")
    assert GPTConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InputError, match="unknown"):
        GPTConfig.from_dict({**config.to_dict(), "colour": 1})


def test_default_model_size():
    config = GPTConfig()
    model = GPT(config, vocab_size=10_000)
    assert (config.d_model, config.n_layer, config.n_head, config.context) == (128, 4, 4, 128)
    assert 2.0e6 < model.num_parameters() < 2.2e6
    assert isinstance(model.blocks[0].attn.qkv, nn.Linear)
