"""What the table trainers' configs share: the enums of their fields, the config <-> JSON round trip and the
checks of their values."""

from __future__ import annotations

import dataclasses
import math
from enum import Enum
from typing import ClassVar

from base.cores import available_cores
from base.errors import InputError
from base.limits import MAX_SEED


class ExportVectors(str, Enum):
    """Which trained matrix becomes the table: word (input) vectors, context (output) vectors, or their sum."""

    IN = "in"
    OUT = "out"
    SUM = "sum"


class Device(str, Enum):
    AUTO = "auto"  # CUDA when torch sees one and the backend is not numba, else the CPU
    CPU = "cpu"
    CUDA = "cuda"


class Backend(str, Enum):
    """Training engine: hogwild numba kernels on CPU threads, or batched torch steps (CPU or CUDA)."""

    AUTO = "auto"  # numba on the CPU, torch on CUDA
    NUMBA = "numba"
    TORCH = "torch"


class TrainerConfig:
    """Mixin for a trainer's frozen config dataclass: enum fields accept their string values, and the config
    goes to JSON (``to_dict``) and back (``from_dict``). Subclasses set ``KIND``, ``ENUMS`` and
    ``RESUME_IGNORES`` (fields that do not change the trained parameters, so a checkpoint made under other
    values still resumes)."""

    KIND: ClassVar[str] = "trainer"
    ENUMS: ClassVar[dict] = {}
    RESUME_IGNORES: ClassVar[tuple] = ()

    def _coerce_enums(self) -> None:
        for name, enum in self.ENUMS.items():
            value = getattr(self, name)
            if not isinstance(value, enum):
                try:
                    object.__setattr__(self, name, enum(value))
                except ValueError:
                    choices = "|".join(e.value for e in enum)
                    raise InputError(f"{self.KIND} {name} must be one of {choices}, not {value!r}") from None

    # checks for validate(): each raises a one-line InputError naming the field
    def _require_ints(self, *names: str, low: int = 1, allow_none: bool = False) -> None:
        """Each named field is an integer >= ``low`` (1 or 0), or None where ``allow_none``."""
        what = "a positive integer" if low == 1 else "a non-negative integer"
        for name in names:
            value = getattr(self, name)
            if value is None and allow_none:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{self.KIND} {name} must be {what}, not {value!r}")
            if name == "seed" and value > MAX_SEED:
                raise InputError(f"{self.KIND} seed must be at most {MAX_SEED:,}, not {value!r}")

    def _require_positive_numbers(self, *names: str) -> None:
        """Each named field is a finite number > 0."""
        for name in names:
            value = getattr(self, name)
            if not _is_real(value) or value <= 0:
                raise InputError(f"{self.KIND} {name} must be a positive number, not {value!r}")

    def _require_finite(self, *names: str, low: float = 0.0, inclusive: bool = False) -> None:
        """Each named field is a finite number above ``low`` (or equal to it, where ``inclusive``)."""
        for name in names:
            value = getattr(self, name)
            if not _is_real(value) or value < low or (value == low and not inclusive):
                bound = f">= {low}" if inclusive else f"> {low}"
                raise InputError(f"{self.KIND} {name} must be a finite number {bound}, not {value!r}")

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (enums as their string values)."""
        out = dataclasses.asdict(self)
        for name in self.ENUMS:
            out[name] = out[name].value
        return out

    @classmethod
    def from_dict(cls, data: dict):
        """Inverse of :meth:`to_dict`; InputError for unknown fields or bad values."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown {cls.KIND} config field(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def resolved_threads(self) -> int:
        """``threads``, or every available core when it is None."""
        return self.threads or available_cores()

    def resume_key(self) -> dict:
        """The fields a checkpoint must share with this config to be resumed."""
        return {k: v for k, v in self.to_dict().items() if k not in self.RESUME_IGNORES}


def _is_real(value) -> bool:
    """A finite int or float (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
