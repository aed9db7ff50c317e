"""Which device and backend a table trainer runs on: one meaning of ``auto`` for word2vec and GloVe."""

from __future__ import annotations

from base.errors import InputError
from tabletrain.config import Backend, Device


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (torch is imported only when this is asked)."""
    import torch

    return torch.cuda.is_available()


def resolve_engine(device: Device, backend: Backend, trainer: str) -> tuple[str, str]:
    """(device, backend) values to train on, for the trainer named ``trainer`` (in error messages).

    ``device auto``: CUDA when torch sees one and the backend can use it (torch or auto), else the CPU;
    ``backend auto``: torch on CUDA, numba on the CPU. So auto never turns a CPU-only choice into an error,
    and with no GPU every auto resolves to numba on the CPU. (``pipelines.pretrain`` passes ``cpu`` for
    ``--device auto``, so that its tables do not depend on a GPU being present.)
    InputError for numba on CUDA and for CUDA asked for when torch sees none.
    """
    if backend is Backend.NUMBA and device is Device.CUDA:
        raise InputError(f"the numba {trainer} trainer runs on the CPU only; use backend torch for CUDA")
    if device is Device.AUTO:
        device = Device.CUDA if backend is not Backend.NUMBA and cuda_available() else Device.CPU
    elif device is Device.CUDA and not cuda_available():
        raise InputError("--device cuda was asked for, but torch sees no CUDA device")
    if backend is Backend.AUTO:
        backend = Backend.TORCH if device is Device.CUDA else Backend.NUMBA
    return device.value, backend.value
