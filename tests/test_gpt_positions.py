"""Each position kind against its defining property."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from base.errors import InputError
from gpt.config import POSITIONS, GPTConfig
from gpt.model import GPT
from gpt.positions import AdditivePositions, Rotary, alibi_bias, alibi_slopes, sinusoidal_table


def tiny(position: str, **changes) -> GPT:
    config = GPTConfig(d_model=16, n_layer=2, n_head=2, context=12, dropout=0.0, position=position, **changes)
    model = GPT(config, vocab_size=50)
    model.init_weights()
    return model.eval()


def test_sinusoidal_values_match_the_formula():
    length, dim = 20, 10
    table = sinusoidal_table(length, dim)
    for pos in range(length):
        for i in range(dim // 2):
            angle = pos / 10000 ** (2 * i / dim)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_positions_are_fixed_and_extend_past_the_context():
    positions = AdditivePositions("sinusoidal", context=8, dim=6, std=0.02)
    assert not list(positions.parameters())  # nothing to train
    assert torch.equal(positions(8), sinusoidal_table(8, 6) * (0.02 * math.sqrt(2)))
    assert torch.equal(positions(20), sinusoidal_table(20, 6) * (0.02 * math.sqrt(2)))


def test_additive_positions_enter_at_the_token_rows_scale():
    """Position-row norm over token-row norm at init: learned and sinusoidal within 2x of each other (the raw
    sinusoidal table was 35x the token rows at d_model 128)."""
    ratios = {}
    for kind in ("learned", "sinusoidal"):
        config = GPTConfig(d_model=128, n_layer=1, n_head=4, context=128, position=kind)
        model = GPT(config, vocab_size=1000)
        model.init_weights()
        with torch.no_grad():
            position_norm = model.pos(128).norm(dim=1).mean()
            token_norm = model.tok.rows().norm(dim=1).mean()
        ratios[kind] = float(position_norm / token_norm)
    assert 0.5 < ratios["sinusoidal"] / ratios["learned"] < 2.0, ratios
    assert 0.5 < ratios["learned"] < 2.0, ratios  # positions neither bury the tokens nor vanish


def test_learned_positions_train_and_stop_at_the_table_end():
    model = tiny("learned")
    model.train()
    torch.manual_seed(0)
    idx = torch.randint(0, 50, (2, 8))  # 8 of the table's 12 positions
    seen = []

    def keep_token_rows(module, args, out):
        out.retain_grad()
        seen.append(out)

    hook = model.tok.register_forward_hook(keep_token_rows)
    try:
        model(idx, idx).backward()
    finally:
        hook.remove()
    tokens_out = seen[0]  # (B, T, C): the token rows the positions were added to
    # x = tok + pos, the position row broadcast over the batch: by the chain rule the row of position t
    # gets the batch's summed gradient at t, and the rows of positions the input never reached get none
    grad = model.pos.table.grad
    torch.testing.assert_close(grad[:8], tokens_out.grad.sum(dim=0), rtol=1e-5, atol=1e-8)
    assert bool((grad[:8] != 0).any(dim=1).all()) and torch.equal(grad[8:], torch.zeros_like(grad[8:]))
    with pytest.raises(InputError, match="longer than the learned position table"):
        model(torch.randint(0, 50, (1, 13)))


def test_rope_scores_depend_only_on_the_offset():
    torch.manual_seed(0)
    rotary = Rotary(head_dim=8, base=10000.0, length=4)  # the cache grows on demand
    q = torch.randn(1, 1, 1, 8)
    k = torch.randn(1, 1, 1, 8)

    def score(m: int, n: int) -> float:
        return float((rotary(q, offset=m) * rotary(k, offset=n)).sum())

    for offset in (0, 1, 3, 7):
        reference = score(offset, 0)
        for shift in (1, 5, 40, 300):
            assert score(offset + shift, shift) == pytest.approx(reference, rel=1e-4, abs=1e-5)
    assert score(5, 0) != pytest.approx(score(1, 0), abs=1e-3)  # the offset does matter
    # a rotation: lengths are kept
    assert rotary(q, offset=9).norm().item() == pytest.approx(q.norm().item(), rel=1e-5)


def test_rope_rotates_queries_and_keys_in_every_layer():
    model = tiny("rope")
    calls = []
    handle = model.rotary.register_forward_hook(lambda module, args, out: calls.append(args[0].shape))
    model(torch.randint(0, 50, (1, 5)))
    handle.remove()
    assert len(calls) == 2 * model.config.n_layer  # q and k of each layer
    assert model.pos is None


def test_alibi_slopes_follow_the_paper():
    assert alibi_slopes(8).tolist() == pytest.approx([2.0 ** -(h + 1) for h in range(8)])
    assert alibi_slopes(4).tolist() == pytest.approx([2.0 ** -(2 * (h + 1)) for h in range(4)])
    # 6 heads: the 4-head slopes, then every other slope of the 8-head series
    assert alibi_slopes(6).tolist() == pytest.approx([2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3])


def test_alibi_penalizes_distance_linearly():
    slopes = alibi_slopes(2)
    bias = alibi_bias(slopes, 5)  # (H, T, T)
    for h in range(2):
        for i in range(5):
            for j in range(5):
                expected = -slopes[h].item() * (i - j) if j <= i else float("-inf")
                assert bias[h, i, j].item() == pytest.approx(expected)
    # With equal scores (q = 0) attention weights fall off as exp(-slope * distance).
    q = k = torch.zeros(1, 2, 5, 4)
    v = torch.randn(1, 2, 5, 4)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # (1, H, T, 4)
    for h in range(2):
        weights = torch.softmax(-slopes[h] * (4 - torch.arange(5.0)), dim=0)  # the last query row
        assert torch.allclose(out[0, h, 4], weights @ v[0, h], atol=1e-6)


@pytest.mark.parametrize("position", POSITIONS)
def test_every_position_kind_is_causal(position):
    model = tiny(position)
    idx = torch.randint(0, 50, (1, 10))
    changed = idx.clone()
    changed[0, 6:] = (changed[0, 6:] + 1) % 50
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert torch.allclose(a[0, :6], b[0, :6], atol=1e-6)
    assert not torch.allclose(a[0, 6:], b[0, 6:], atol=1e-4)


def test_without_positions_and_mask_the_model_is_permutation_equivariant():
    model = tiny("none")
    idx = torch.randint(0, 50, (2, 9))
    perm = torch.randperm(9)
    with torch.no_grad():
        out = model(idx, causal=False)
        permuted = model(idx[:, perm], causal=False)
    assert torch.allclose(permuted, out[:, perm], atol=1e-5)
    # Any position kind breaks that symmetry.
    learned = tiny("learned")
    with torch.no_grad():
        out = learned(idx, causal=False)
        permuted = learned(idx[:, perm], causal=False)
    assert not torch.allclose(permuted, out[:, perm], atol=1e-4)


def test_rope_needs_an_even_head_size():
    with pytest.raises(InputError, match="even head size"):
        GPTConfig(d_model=6, n_head=2, position="rope")
