"""Training speed of the GPT in tokens per second, beside Hugging Face ``transformers``' GPT-2 of the same shape.

Both are timed in the same process on random token ids at :data:`BENCH_CONFIG` (d_model 128, 4 layers, 4
heads, context 128, batch 32, vocabulary 10k, fp32, no dropout), with the same optimizer step: AdamW
(fused where torch has it), gradient clipping at 1.0, then the update. Ours is our real training step
(batches cut from a memory array, the chunked loss, our weight-decay groups); the peer is
``GPT2LMHeadModel`` (tied head, learned positions, GELU MLP of 4 x d_model: the same shape). Achieved
GFLOP/s use the usual count of 6 x (parameters without the position table) + 12 x layers x d_model x
context floating-point operations per trained token (forward and backward; the second term is attention).

``python -m pipelines.bench --only gpt`` prints both (the peer only where ``transformers`` is installed:
``pip install -e .[bench]``).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from base.cores import torch_threads
from gpt.config import GPTConfig
from gpt.data import batch_offsets, get_batch
from gpt.model import GPT
from gpt.train import Stepper, lr_at, make_optimizer

BENCH_CONFIG = GPTConfig(d_model=128, n_layer=4, n_head=4, context=128, batch_size=32)
BENCH_VOCAB = 10_000


def flops_per_token(parameters: int, config: GPTConfig) -> int:
    """Training FLOPs per token: 6 x parameters (matrix products forward and backward) plus the attention
    scores and their use, 12 x layers x d_model x context."""
    return 6 * parameters + 12 * config.n_layer * config.d_model * config.context


def _timed(step, steps: int, warmup_steps: int, repeats: int, tokens_per_step: int, device: str) -> float:
    """Best tokens/s of ``repeats`` timings of ``steps`` calls of ``step(i)`` after ``warmup_steps``."""
    best, i = 0.0, 0
    for _ in range(repeats):
        for k in range(warmup_steps + steps):
            if k == warmup_steps:
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                started = time.perf_counter()
            step(i)
            i += 1
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = max(best, steps * tokens_per_step / (time.perf_counter() - started))
        warmup_steps = 1
    return best


def _figures(speed: float, parameters: int, config: GPTConfig) -> dict:
    """The figures of one system: tokens/s, parameters (without the position table) and GFLOP/s."""
    return {"tokens_per_second": speed, "parameters": parameters,
            "gflops": speed * flops_per_token(parameters, config) / 1e9}


def tokens_per_second(config: GPTConfig = BENCH_CONFIG, vocab_size: int = BENCH_VOCAB, steps: int = 20,
                      warmup_steps: int = 3, threads: int | None = 2, device: str = "cpu",
                      repeats: int = 1) -> dict:
    """Our training step: ``{"tokens_per_second", "parameters", "gflops"}`` (the best of ``repeats``)."""
    with torch_threads(threads):
        ids = np.random.default_rng(0).integers(0, vocab_size, size=1_000_000, dtype=np.int32)
        model = GPT(config, vocab_size)
        model.init_weights()
        model.to(device)
        model.train()
        optimizer = make_optimizer(model, config)
        stepper = Stepper(model, optimizer, device)

        def step(i: int) -> None:
            x, y = get_batch(ids, batch_offsets(0, i, len(ids), config.context, config.batch_size),
                             config.context, device)
            stepper.step(x, y, lr_at(config, i), config.grad_clip)

        speed = _timed(step, steps, warmup_steps, repeats, config.tokens_per_step, device)
        parameters = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("pos."))
        return _figures(speed, parameters, config)


def transformers_tokens_per_second(config: GPTConfig = BENCH_CONFIG, vocab_size: int = BENCH_VOCAB,
                                   steps: int = 20, warmup_steps: int = 3, threads: int | None = 2,
                                   device: str = "cpu", repeats: int = 1) -> dict:
    """``transformers.GPT2LMHeadModel`` of the same shape, same optimizer step; ImportError without it."""
    from transformers import GPT2Config, GPT2LMHeadModel

    with torch_threads(threads):
        torch.manual_seed(0)
        hf = GPT2Config(vocab_size=vocab_size, n_positions=config.context, n_embd=config.d_model,
                        n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, tie_word_embeddings=True)
        model = GPT2LMHeadModel(hf).to(device)
        model.train()
        try:
            optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2),
                                          weight_decay=config.weight_decay, fused=True)
        except (RuntimeError, TypeError):
            optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2),
                                          weight_decay=config.weight_decay)
        ids = torch.from_numpy(np.random.default_rng(0).integers(0, vocab_size, size=1_000_000).astype(np.int64))

        def step(i: int) -> None:
            offsets = batch_offsets(0, i, len(ids), config.context, config.batch_size)
            batch = torch.stack([ids[o: o + config.context] for o in offsets]).to(device)  # (B, T)
            loss = model(input_ids=batch, labels=batch).loss  # the model shifts the labels itself
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()

        # the same B x T tokens through the model per step as ours (its loss shifts them, so T - 1 targets)
        speed = _timed(step, steps, warmup_steps, repeats, config.tokens_per_step, device)
        parameters = sum(p.numel() for name, p in model.named_parameters() if ".wpe." not in name)
        return _figures(speed, parameters, config)


def bench_gpt(threads: int = 2, device: str = "cpu", repeats: int = 3, steps: int = 20) -> dict:
    """Ours and the peer (None without ``transformers``) at the bench config, alternating per repeat so
    both see the same load; the best of ``repeats`` each."""
    import importlib

    try:
        importlib.import_module("transformers.models.gpt2")
        installed = True
    except (ImportError, RuntimeError):  # absent, or a build that does not fit this torch
        installed = False
    ours, peer = [], []
    for _ in range(repeats):
        ours.append(tokens_per_second(threads=threads, device=device, steps=steps))
        if installed:
            peer.append(transformers_tokens_per_second(threads=threads, device=device, steps=steps))
    best = lambda runs: max(runs, key=lambda r: r["tokens_per_second"]) if runs else None  # noqa: E731
    c = BENCH_CONFIG
    return {"ours": best(ours), "peer": best(peer), "peer_name": "transformers GPT2LMHeadModel",
            "settings": {"d_model": c.d_model, "n_layer": c.n_layer, "n_head": c.n_head, "context": c.context,
                         "batch_size": c.batch_size, "vocab_size": BENCH_VOCAB, "dtype": "float32",
                         "threads": threads, "device": device, "steps": steps, "repeats": repeats}}
