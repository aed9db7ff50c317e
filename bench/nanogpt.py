"""nanoGPT's ``model.py``, trained as its ``train.py`` trains it: the second peer of the GPT bench.

``NANOGPT_DIR`` is a clone of https://github.com/karpathy/nanoGPT (the folder holding ``model.py``). Its
``GPT`` is built at the bench shape (``block_size`` = context, ``n_embd`` = d_model, the same layers, heads,
vocabulary, bias and no dropout: the same parameters as ours), its optimizer is its own
``configure_optimizers`` (AdamW; fused only on CUDA, as nanoGPT chooses), and one step is its training loop's:
a batch stacked from a token array, ``logits, loss = model(X, Y)``, backward, clipping at ``grad_clip``, the
update, ``zero_grad(set_to_none=True)``, in its precision: fp32 on a CPU (train.py's autocast is for CUDA),
bf16 autocast on a CUDA device that supports it. Nothing of nanoGPT is shipped here: the bench imports the
user's file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from base.cores import torch_threads
from base.errors import InputError

PEER_NAME = "nanoGPT model.py"
NEEDED = ("GPT", "GPTConfig")
METHODS = ("configure_optimizers", "get_num_params")  # of its GPT: its optimizer and its parameter count


def load_model_module(nanogpt_dir: str | Path) -> ModuleType:
    """Import ``model.py`` of a nanoGPT clone; InputError (one line) for a missing folder or file, a file
    that fails to import, or one without ``GPT`` and ``GPTConfig``."""
    folder = Path(nanogpt_dir)
    path = folder / "model.py"
    if not folder.is_dir():
        raise InputError(f"NANOGPT_DIR {folder} is not a folder (it takes a clone of karpathy/nanoGPT, the "
                         "folder holding model.py)")
    if not path.is_file():
        raise InputError(f"NANOGPT_DIR {folder} has no model.py (it takes a clone of karpathy/nanoGPT)")
    spec = importlib.util.spec_from_file_location("_nanogpt_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - any failure of the user's file is one line
        sys.modules.pop(spec.name, None)
        first = str(error).splitlines()[0] if str(error) else ""
        raise InputError(f"NANOGPT_DIR {folder}: model.py does not import ({type(error).__name__}: {first})")
    missing = [name for name in NEEDED if not hasattr(module, name)]
    if not missing:
        missing = [f"GPT.{name}" for name in METHODS if not hasattr(module.GPT, name)]
    if missing:
        sys.modules.pop(spec.name, None)
        raise InputError(f"NANOGPT_DIR {folder}: model.py lacks {', '.join(missing)} (is it nanoGPT's?)")
    return module


def nanogpt_tokens_per_second(module: ModuleType, config, vocab_size: int, steps: int = 20,
                              warmup_steps: int = 3, threads: int | None = 2, device: str = "cpu") -> dict:
    """One timing of nanoGPT's model at ``config``'s shape, trained as nanoGPT's train.py does:
    ``{"tokens_per_second", "warmup_seconds", "parameters", "gflops", "precision"}`` (parameters: its own
    ``get_num_params()``, without the position table, as ours are counted)."""
    from bench.gpt import figures, timed  # one timing rule for every GPT system

    quiet = contextlib.redirect_stdout(io.StringIO())  # it prints parameter counts and its AdamW choice
    with torch_threads(threads), quiet:
        torch.manual_seed(0)
        shape = module.GPTConfig(block_size=config.context, vocab_size=vocab_size, n_layer=config.n_layer,
                                 n_head=config.n_head, n_embd=config.d_model, dropout=0.0, bias=config.bias)
        model = module.GPT(shape).to(device)
        model.train()
        device_type = "cuda" if str(device).startswith("cuda") else "cpu"
        optimizer = model.configure_optimizers(config.weight_decay, config.lr, (config.beta1, config.beta2),
                                               device_type)
        dtype = np.uint16 if vocab_size < 2 ** 16 else np.int64  # train.py's token file is uint16
        data = np.random.default_rng(0).integers(0, vocab_size, size=1_000_000).astype(dtype)
        # train.py's precision: autocast to bf16 on a CUDA device that has it, fp32 (no autocast) elsewhere
        bf16 = device_type == "cuda" and torch.cuda.is_bf16_supported()
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        generator = torch.Generator().manual_seed(0)

        def step(i: int) -> None:
            # train.py's get_batch: random offsets, windows stacked, targets shifted by one
            starts = torch.randint(len(data) - config.context - 1, (config.batch_size,), generator=generator).tolist()
            x = torch.stack([torch.from_numpy(data[j: j + config.context].astype(np.int64)) for j in starts])
            y = torch.stack([torch.from_numpy(data[j + 1: j + 1 + config.context].astype(np.int64)) for j in starts])
            x, y = x.to(device), y.to(device)
            with autocast:
                _, loss = model(x, y)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        speed, warmup = timed(step, steps, warmup_steps, config.tokens_per_step, device)
        parameters = model.get_num_params()
    return {**figures(speed, warmup, parameters, config), "precision": "bf16" if bf16 else "fp32"}
