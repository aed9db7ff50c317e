"""What ``--device auto|cpu|cuda`` means for the GPT: auto is CUDA when torch sees one, else the CPU."""

from __future__ import annotations

from base.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> str:
    """Map ``auto|cpu|cuda`` to a torch device string; asking for CUDA without one is bad input."""
    import torch

    if name not in DEVICES:
        raise InputError(f"--device must be one of {'|'.join(DEVICES)}, not {name!r}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for, but torch sees no CUDA device")
    return name
