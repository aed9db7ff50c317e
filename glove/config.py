"""GloVe settings: one frozen dataclass for counting and training, its enums, and their validation.

Defaults follow Stanford GloVe (window 10 with 1/distance weighting, x_max 100, alpha 0.75, AdaGrad with
initial learning rate 0.05, 15 epochs, W + W~ exported) except ``dim``, which follows the project (128).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from base.errors import InputError
from base.limits import DEFAULT_DIM
from tabletrain.config import Backend, Device, ExportVectors, TrainerConfig


class DistanceWeighting(str, Enum):
    """How a co-occurrence at distance d inside the window is counted."""

    HARMONIC = "harmonic"  # 1/d, Stanford cooccur's default
    UNIFORM = "uniform"  # 1, Stanford cooccur's -distance-weighting 0


_ENUMS = {"distance_weighting": DistanceWeighting, "export_vectors": ExportVectors, "device": Device,
          "backend": Backend}

# Fields that do not change the trained parameters: a checkpoint made under other values resumes.
RESUME_IGNORES = ("epochs", "threads", "memory_gb", "device", "export_vectors")


@dataclass(frozen=True)
class GloveConfig(TrainerConfig):
    """Everything that decides a GloVe table besides the corpus.

    window: symmetric context window in tokens (windows never cross a document's ``<eos>``).
    x_max, alpha: the weighting f(x) = min(1, (x / x_max) ** alpha); x_max 100 is Stanford's default for
        large corpora, 10 suits small ones (a few million tokens).
    lr: AdaGrad's initial learning rate. grad_clip: per-coordinate gradient clip, as Stanford's.
    threads: CPU threads for counting and the numba trainer (None: every core). With more than one
        thread the numba trainer is hogwild (lock-free), so only threads=1 is bit-for-bit repeatable.
    memory_gb: working memory for counting (dense block for frequent pairs plus overflow buffers).
    batch_size: entries per step of the torch trainer (ignored by numba, which updates per entry).
    """

    KIND = "glove"
    ENUMS = _ENUMS
    RESUME_IGNORES = RESUME_IGNORES

    dim: int = DEFAULT_DIM
    window: int = 10
    distance_weighting: DistanceWeighting = DistanceWeighting.HARMONIC
    x_max: float = 100.0
    alpha: float = 0.75
    lr: float = 0.05
    epochs: int = 15
    seed: int = 0
    threads: int | None = None
    export_vectors: ExportVectors = ExportVectors.SUM
    memory_gb: float = 2.0
    grad_clip: float = 100.0
    device: Device = Device.CPU  # the compiled kernels; torch steps (CUDA) only when asked for
    backend: Backend = Backend.AUTO
    batch_size: int = 16384

    def __post_init__(self) -> None:
        self._coerce_enums()
        self.validate()

    def validate(self) -> None:
        """InputError (one line) for any value that makes no sense."""
        self._require_ints("dim", "window", "epochs", "batch_size")
        self._require_ints("threads", allow_none=True)
        self._require_positive_numbers("x_max", "alpha", "lr", "memory_gb", "grad_clip")
        self._require_ints("seed", low=0)
        if self.window > 1000:
            raise InputError(f"glove window {self.window} is too large (at most 1000)")

