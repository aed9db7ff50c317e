"""Training speed of the GPT in tokens per second, at the configuration nanoGPT was measured at.

The bar: nanoGPT's ``model.py`` (fp32 eager, 2 threads, AdamW, gradient clipping, d_model 128, 4 layers,
4 heads, context 128, batch 32, vocabulary 10k; 2.08M parameters) trained at 6.2k tokens/s on the project's
2-core CPU. :func:`tokens_per_second` times our real training step (batches cut from a memory array, the
chunked loss, fused AdamW, clipping) at that configuration; ``python -m gpt.bench`` prints it.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from gpt.config import GPTConfig
from gpt.data import batch_offsets, get_batch
from gpt.model import GPT
from gpt.train import lr_at, make_optimizer, train_step

NANOGPT_TOKENS_PER_SECOND = 6200.0  # measured by the project on its 2-core CPU (see the module docstring)
BENCH_CONFIG = GPTConfig(d_model=128, n_layer=4, n_head=4, context=128, batch_size=32)


def tokens_per_second(config: GPTConfig = BENCH_CONFIG, vocab_size: int = 10_000, steps: int = 20,
                      warmup_steps: int = 3, threads: int | None = 2, device: str = "cpu", repeats: int = 1) -> float:
    """Training tokens/s of ``config`` on random token ids: the best of ``repeats`` timings of ``steps`` steps.

    ``threads`` sets torch's intra-op threads for the measurement (None: leave as is). The best of several
    repeats is the least disturbed by other work on a shared machine.
    """
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        ids = np.random.default_rng(0).integers(0, vocab_size, size=1_000_000, dtype=np.int32)
        model = GPT(config, vocab_size)
        model.init_weights()
        model.to(device)
        model.train()
        optimizer = make_optimizer(model, config)
        best = 0.0
        step = 0
        for _ in range(repeats):
            for i in range(warmup_steps + steps):
                if i == warmup_steps:
                    if device.startswith("cuda"):
                        torch.cuda.synchronize()
                    started = time.perf_counter()
                x, y = get_batch(ids, batch_offsets(0, step, len(ids), config.context, config.batch_size),
                                 config.context, device)
                train_step(model, model, optimizer, x, y, lr_at(config, step), config.grad_clip, device)
                step += 1
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best = max(best, steps * config.tokens_per_step / (time.perf_counter() - started))
            warmup_steps = 1
        return best
    finally:
        torch.set_num_threads(previous_threads)


def main() -> None:
    ours = tokens_per_second(repeats=3)
    with_dropout = tokens_per_second(BENCH_CONFIG.replace(dropout=0.1), repeats=3)
    print("gpt training, d_model 128, 4 layers, 4 heads, context 128, batch 32, vocab 10k, 2 threads, fp32:")
    print(f"  ours:    {ours:,.0f} tokens/s ({with_dropout:,.0f} tokens/s with --dropout 0.1)")
    print(f"  nanoGPT: {NANOGPT_TOKENS_PER_SECOND:,.0f} tokens/s (its model.py at that config, measured by the project)")


if __name__ == "__main__":
    main()
