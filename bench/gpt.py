"""Training speed of the GPT in tokens per second, beside Hugging Face ``transformers``' GPT-2 of the same shape
(and nanoGPT's model.py given a clone of it: :mod:`bench.nanogpt`).

Both are timed in the same process on random token ids at :data:`BENCH_CONFIG` (d_model 128, 4 layers, 4
heads, context 128, batch 32, vocabulary 10k, no dropout), with the same optimizer step: AdamW
(fused where torch has it), gradient clipping at 1.0, then the update. Ours is our real training step
(batches cut from a memory array, the chunked loss, our weight-decay groups); the peer is
``GPT2LMHeadModel`` (tied head, learned positions, GELU MLP of 4 x d_model: the same shape). Achieved
GFLOP/s use the usual count of 6 x (parameters without the position table) + 12 x layers x d_model x
context floating-point operations per trained token (forward and backward; the second term is attention).

Ours runs at each ``--gpt-precisions`` (fp32, bf16: :mod:`gpt.train`), the peer in fp32; every system is
timed ``--repeats`` times in turn, each timing after untimed warm-up steps whose seconds are kept apart.
``python -m pipelines.bench --only gpt`` prints both (the peer only where ``transformers`` is installed:
``pip install -e .[bench]``).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from base.cores import torch_threads
from bench.timing import MIN_REPEATS, interleave
from gpt.config import GPTConfig
from gpt.data import batch_offsets, get_batch
from gpt.model import GPT
from gpt.train import Stepper, lr_at, make_optimizer

BENCH_CONFIG = GPTConfig(d_model=128, n_layer=4, n_head=4, context=128, batch_size=32)
BENCH_VOCAB = 10_000
PEER_NAME = "transformers GPT2LMHeadModel"


def flops_per_token(parameters: int, config: GPTConfig) -> int:
    """Training FLOPs per token: 6 x parameters (matrix products forward and backward) plus the attention
    scores and their use, 12 x layers x d_model x context."""
    return 6 * parameters + 12 * config.n_layer * config.d_model * config.context


def timed(step, steps: int, warmup_steps: int, tokens_per_step: int, device: str) -> tuple[float, float]:
    """``(tokens/s, warm-up seconds)`` of ``steps`` calls of ``step(i)`` timed after ``warmup_steps`` untimed
    ones (first calls: allocation, kernel selection, compiling), whose seconds are returned apart."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    started = time.perf_counter()
    for i in range(warmup_steps):
        step(i)
    sync()
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(warmup_steps, warmup_steps + steps):
        step(i)
    sync()
    return steps * tokens_per_step / (time.perf_counter() - started), warmup


def figures(speed: float, warmup: float, parameters: int, config: GPTConfig) -> dict:
    """The figures of one timing: tokens/s, warm-up seconds, parameters (without the position table) and
    GFLOP/s."""
    return {"tokens_per_second": speed, "warmup_seconds": warmup, "parameters": parameters,
            "gflops": speed * flops_per_token(parameters, config) / 1e9}


def tokens_per_second(config: GPTConfig = BENCH_CONFIG, vocab_size: int = BENCH_VOCAB, steps: int = 20,
                      warmup_steps: int = 3, threads: int | None = 2, device: str = "cpu",
                      compile: bool = False) -> dict:
    """One timing of our training step at ``config`` (its ``precision`` too; ``compile``: the model
    torch.compiled as ``train_gpt --compile`` does, its compile time in the warm-up): ``{"tokens_per_second",
    "warmup_seconds", "parameters", "gflops"}``."""
    with torch_threads(threads):
        ids = np.random.default_rng(0).integers(0, vocab_size, size=1_000_000, dtype=np.int32)
        model = GPT(config, vocab_size)
        model.init_weights()
        model.to(device)
        model.train()
        optimizer = make_optimizer(model, config)
        stepper = Stepper(model, optimizer, device, step_model=torch.compile(model) if compile else None)

        def step(i: int) -> None:
            x, y = get_batch(ids, batch_offsets(0, i, len(ids), config.context, config.batch_size),
                             config.context, device)
            stepper.step(x, y, lr_at(config, i), config.grad_clip)

        speed, warmup = timed(step, steps, warmup_steps, config.tokens_per_step, device)
        parameters = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("pos."))
        return figures(speed, warmup, parameters, config)


def transformers_tokens_per_second(config: GPTConfig = BENCH_CONFIG, vocab_size: int = BENCH_VOCAB,
                                   steps: int = 20, warmup_steps: int = 3, threads: int | None = 2,
                                   device: str = "cpu") -> dict:
    """One timing of ``transformers.GPT2LMHeadModel`` of the same shape, same optimizer step (fp32);
    ImportError without it."""
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
        speed, warmup = timed(step, steps, warmup_steps, config.tokens_per_step, device)
        parameters = sum(p.numel() for name, p in model.named_parameters() if ".wpe." not in name)
        return figures(speed, warmup, parameters, config)


def _peer_installed() -> bool:
    import importlib

    try:
        importlib.import_module("transformers.models.gpt2")
        return True
    except (ImportError, RuntimeError):  # absent, or a build that does not fit this torch
        return False


def _gathered(timings: list[dict], config: GPTConfig) -> dict:
    """Every timing of one system: tokens/s of each (the median is the figure), the warm-up seconds of the
    first (the coldest), GFLOP/s at the median and the precision it ran in (fp32 unless it says)."""
    speeds = [t["tokens_per_second"] for t in timings]
    median = statistics.median(speeds)
    return {"tokens_per_second": speeds, "warmup_seconds": timings[0]["warmup_seconds"],
            "parameters": timings[0]["parameters"], "precision": timings[0].get("precision", "fp32"),
            "gflops": median * flops_per_token(timings[0]["parameters"], config) / 1e9}


def bench_gpt(threads: int = 2, device: str = "cpu", repeats: int = MIN_REPEATS, steps: int = 20,
              precisions=("fp32",), compiled: bool = False, nanogpt_dir=None, log=None) -> dict:
    """Ours at each of ``precisions`` (with ``compiled``, also each torch.compiled: ``"bf16 compiled"``) and
    the peers at the bench config: transformers' GPT-2 (where installed) and, given ``nanogpt_dir``,
    nanoGPT's model.py (:mod:`bench.nanogpt`), called in turn for ``repeats`` rounds
    (:func:`bench.timing.interleave`) so that all see the same load. ``{"ours": {name: figures}, "peers":
    {peer name: figures}, "settings"}``, figures holding every timing; a peer that did not run is absent."""
    c = BENCH_CONFIG
    systems = {}
    for precision in precisions:
        for compile_ in (False, True) if compiled else (False,):
            systems[precision + " compiled" * compile_] = (
                lambda _, p=precision, k=compile_: tokens_per_second(c.replace(precision=p), threads=threads,
                                                                     device=device, steps=steps, compile=k))
    ours = list(systems)
    if _peer_installed():
        systems[PEER_NAME] = lambda _: transformers_tokens_per_second(threads=threads, device=device, steps=steps)
    if nanogpt_dir is not None:
        from bench.nanogpt import PEER_NAME as NANOGPT, load_model_module, nanogpt_tokens_per_second

        module = load_model_module(nanogpt_dir)
        systems[NANOGPT] = lambda _: nanogpt_tokens_per_second(module, c, BENCH_VOCAB, steps=steps,
                                                               threads=threads, device=device)
    runs = interleave(systems, repeats, log=log)
    return {"ours": {name: _gathered(runs[name], c) for name in ours},
            "peers": {name: _gathered(runs[name], c) for name in runs if name not in ours},
            "settings": {"d_model": c.d_model, "n_layer": c.n_layer, "n_head": c.n_head, "context": c.context,
                         "batch_size": c.batch_size, "vocab_size": BENCH_VOCAB, "threads": threads,
                         "device": device, "steps": steps, "repeats": repeats}}
