"""The GPT bench's figures: the FLOP count per token, the parameters it counts, the threads it leaves."""

from __future__ import annotations

import pytest
import torch

from bench.gpt import flops_per_token, tokens_per_second
from gpt.config import GPTConfig

TINY = GPTConfig(d_model=16, n_layer=1, n_head=2, context=8, batch_size=2)


def test_flops_per_token_are_six_per_parameter_plus_attention():
    # 6 x 1000 + 12 x 2 layers x d_model 8 x context 16 = 6000 + 3072
    assert flops_per_token(1000, GPTConfig(d_model=8, n_layer=2, n_head=2, context=16)) == 9072
    # the bench config: 12 x 4 x 128 x 128 = 786,432 of attention beside 6 x parameters
    assert flops_per_token(0, GPTConfig(d_model=128, n_layer=4, n_head=4, context=128)) == 786_432


def test_ours_counts_parameters_without_positions_and_restores_torch_threads():
    before = torch.get_num_threads()
    r = tokens_per_second(TINY, vocab_size=50, steps=1, warmup_steps=0, threads=1)
    assert torch.get_num_threads() == before
    # tied head, no biases: tokens 50 x 16 + one block (qkv 3 x 16^2, proj 16^2, MLP 2 x 4 x 16^2, two
    # norms of 16) + the final norm = 800 + 3,072 + 32 + 16; the 8 x 16 position table is not counted
    assert r["parameters"] == 3920
    # 6 x 3,920 + 12 x 1 x 16 x 8 = 25,056 FLOPs per token
    assert r["gflops"] == pytest.approx(r["tokens_per_second"] * 25_056 / 1e9)
