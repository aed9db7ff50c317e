"""Sampling text from a trained GPT: temperature, top-k, a seeded generator, a sliding context window."""

from __future__ import annotations

import math

from pathlib import Path

import torch

from base.errors import InputError
from base.layout import RunFiles, RunLayout
from gpt.checkpoint import load_model, same_corpus
from gpt.model import GPT


@torch.no_grad()
def generate(model: GPT, prompt: list[int], n_tokens: int, temperature: float = 0.8, top_k: int = 40,
             context: int | None = None, generator: torch.Generator | None = None,
             banned: list[int] | None = None) -> list[int]:
    """Extend ``prompt`` (token ids, at least one) by ``n_tokens`` sampled ids; returns only the new ids.

    The model sees the last ``context`` ids (its training context by default). ``temperature`` 0 takes the
    most likely token; ``top_k`` 0 samples from the whole vocabulary; ``banned`` ids are never produced.
    """
    if not prompt:
        raise InputError("generation needs at least one prompt token")
    if temperature < 0:
        raise InputError(f"--temperature must not be negative, got {temperature}")
    if top_k < 0:
        raise InputError(f"--top-k must not be negative, got {top_k}")
    context = context or model.config.context
    device = next(model.parameters()).device
    ids = torch.tensor([prompt], dtype=torch.long, device=device)  # (1, T)
    new: list[int] = []
    for _ in range(n_tokens):
        window = ids[:, -context:]  # (1, <= context)
        logits = model.logits(model.hidden(window)[:, -1, :]).float()  # (1, V)
        if banned:
            logits[:, banned] = float("-inf")
        if temperature == 0:
            next_id = logits.argmax(dim=-1, keepdim=True)  # (1, 1)
        else:
            logits = logits / temperature
            if 0 < top_k < logits.shape[-1]:
                kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (1, 1)
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = torch.softmax(logits, dim=-1).cpu()
            next_id = torch.multinomial(probs, 1, generator=generator).to(device)  # (1, 1)
        ids = torch.cat([ids, next_id], dim=1)
        new.append(int(next_id))
    return new


def find_run(run_dir: str | Path, variant: str, train_seed: int | None = None) -> Path:
    """The checkpoint of ``variant`` (its lowest seed unless ``train_seed`` is given); InputError if absent."""
    layout = RunLayout(run_dir)
    variant_dir = layout.gpt_variant(variant)
    if not variant_dir.is_dir():
        root = layout.gpt
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        hint = f"; trained variants: {', '.join(known)}" if known else "; none is trained yet"
        raise InputError(f"no GPT variant {variant!r} in {root}{hint}")
    if train_seed is not None:
        return layout.gpt_run(variant, train_seed) / "checkpoint.pt"
    seeds = sorted((p for p in variant_dir.glob("seed*") if p.name[4:].isdigit() and (p / "checkpoint.pt").is_file()),
                   key=lambda p: int(p.name[4:]))
    if not seeds:
        raise InputError(f"variant {variant!r} has no checkpoint under {variant_dir}")
    return seeds[0] / "checkpoint.pt"


def sample_text(run_dir: str | Path, variant: str, prompt: str, n_tokens: int = 50, temperature: float = 0.8,
                top_k: int = 40, seed: int = 0, train_seed: int | None = None, context: int | None = None,
                device: str = "cpu", allow_unk: bool = False, warn=None) -> str:
    """Prompt plus continuation as text, decoded with the run's own tokenizer.

    ``warn`` (a callable) hears that the run never finished (a diverged or interrupted run): its checkpoint
    holds a partly trained model.
    """
    from corpus import PreparedCorpus

    if not math.isfinite(temperature) or temperature < 0:
        raise InputError(f"--temperature must be a finite number >= 0, got {temperature}")
    prepared = PreparedCorpus.open(RunLayout(run_dir).corpus)
    checkpoint = find_run(run_dir, variant, train_seed)
    model, record = load_model(checkpoint, device)
    if warn is not None and not RunFiles(checkpoint.parent).result.is_file():
        warn(f"warning: {checkpoint.parent} never finished (no result.json: diverged or interrupted); "
             "these samples come from a partly trained model")
    if not same_corpus(record, prepared):
        raise InputError(f"variant {variant!r} was trained on another corpus than {prepared.path}; retrain it")
    if context is not None and context <= 0:
        raise InputError(f"--context must be positive, got {context}")
    if context is not None and model.config.position == "learned" and context > model.config.context:
        raise InputError(f"context {context} is longer than the learned position table "
                         f"({model.config.context} positions)")
    vocab = prepared.vocab
    tokens = prepared.tokens_of(prompt)
    prompt_ids = [int(i) for i in vocab.encode(tokens)] or [vocab.eos_id]
    unknown = [t for t, i in zip(tokens, prompt_ids) if i == vocab.unk_id and t != "<unk>"]
    if unknown and warn is not None:
        shown = ", ".join(dict.fromkeys(unknown))
        warn(f"warning: {shown} {'is' if len(set(unknown)) == 1 else 'are'} not in the vocabulary of "
             f"{prepared.path}; the model reads <unk> in {'its' if len(set(unknown)) == 1 else 'their'} place")
    banned = [i for i in [vocab.pad_id] + ([] if allow_unk else [vocab.unk_id]) if i >= 0]  # -1: none
    generator = torch.Generator().manual_seed(seed)
    new = generate(model, prompt_ids, n_tokens, temperature, top_k, context, generator, banned)
    start = [] if prompt_ids == [vocab.eos_id] and not prompt.strip() else prompt_ids
    return prepared.decode_text(start + new)
