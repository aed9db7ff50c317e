"""word2vec settings: one frozen dataclass for CBOW and skip-gram, its enums, and their validation.

Defaults follow word2vec C and gensim: window 5, 5 negative samples, subsampling threshold 1e-3, 5 epochs,
initial learning rate 0.025 for skip-gram and 0.05 for CBOW decaying linearly to ``min_alpha`` (gensim's
0.0001) over all epochs; ``dim`` follows the project (128). ``alpha=None`` takes the method's default, and
the stored config (``to_dict``) holds the value actually used.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from base.errors import InputError
from base.limits import DEFAULT_DIM
from tabletrain.config import Backend, Device, ExportVectors, TrainerConfig


class Method(str, Enum):
    """What predicts what: the mean of the context vectors predicts the word, or the word its contexts."""

    CBOW = "cbow"
    SKIPGRAM = "skipgram"


class NoiseSharing(str, Enum):
    """Skip-gram's noise words: fresh for every (context, centre) pair, as word2vec and gensim, or drawn
    once per centre and shared by its whole window (Ji et al. 2016: one small matrix product per centre)."""

    PAIR = "pair"
    WINDOW = "window"


DEFAULT_ALPHA = {Method.SKIPGRAM: 0.025, Method.CBOW: 0.05}
DEFAULT_BATCH = {Method.SKIPGRAM: 1024, Method.CBOW: 256}  # torch engine: pairs / centres per step
_ENUMS = {"method": Method, "noise": NoiseSharing, "export_vectors": ExportVectors, "device": Device,
          "backend": Backend}

# Fields that do not change the trained parameters: a checkpoint made under other values resumes.
RESUME_IGNORES = ("threads", "export_vectors", "device")


@dataclass(frozen=True)
class Word2VecConfig(TrainerConfig):
    """Everything that decides a CBOW or skip-gram table besides the corpus.

    window: largest distance of a context word; each position draws its own window uniformly in 1..window
        (word2vec's reduced windows). Windows never cross ``<eos>`` nor a ``max_sentence`` block boundary.
    negative: noise words per update, drawn from unigram counts ** 0.75.
    noise: skip-gram only: ``pair`` draws noise words for every (context, centre) pair (word2vec, gensim);
        ``window`` draws them once per centre and updates its whole window at once (numba engine only;
        about twice as fast, and on the bench corpus better than gensim on word similarity).
    sample: subsampling threshold t; a word of frequency f is kept with probability
        (sqrt(f / t) + 1) * t / f (word2vec's formula); 0 keeps every word.
    alpha, min_alpha: learning rate, decayed linearly from alpha to min_alpha over all epochs.
    threads: CPU threads of the numba engine (None: every core). More than one thread is hogwild
        (lock-free), so only threads=1 is bit-for-bit repeatable.
    max_sentence: the token stream is cut in blocks of this many tokens (as gensim's 10,000-word sentence
        limit); each block has its own random stream, so results do not depend on how work is split.
    batch_size: updates per step of the torch engine (ignored by numba); None: 1024 (skip-gram pairs) or
        256 (CBOW centres, each touching up to 2 * window rows). Updates of one step add up, so much
        larger steps can overshoot on frequent words and diverge (a NaN loss is reported as bad input).
    """

    KIND = "word2vec"
    ENUMS = _ENUMS
    RESUME_IGNORES = RESUME_IGNORES

    method: Method = Method.SKIPGRAM
    dim: int = DEFAULT_DIM
    window: int = 5
    negative: int = 5
    noise: NoiseSharing = NoiseSharing.PAIR
    sample: float = 1e-3
    epochs: int = 5
    alpha: float | None = None
    min_alpha: float = 0.0001
    seed: int = 0
    threads: int | None = None
    export_vectors: ExportVectors = ExportVectors.IN
    device: Device = Device.CPU
    backend: Backend = Backend.AUTO
    max_sentence: int = 10000
    batch_size: int | None = None

    def __post_init__(self) -> None:
        self._coerce_enums()
        if self.alpha is None:
            object.__setattr__(self, "alpha", DEFAULT_ALPHA[self.method])
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", DEFAULT_BATCH[self.method])
        self.validate()

    def validate(self) -> None:
        """InputError (one line) for any value that makes no sense."""
        self._require_ints("dim", "window", "negative", "epochs", "max_sentence", "batch_size")
        self._require_ints("threads", allow_none=True)
        self._require_finite("alpha")
        self._require_finite("min_alpha", "sample", inclusive=True)
        if self.min_alpha > self.alpha:
            raise InputError(f"word2vec min_alpha {self.min_alpha} is above alpha {self.alpha}")
        self._require_ints("seed", low=0)
        if self.window > 1000 or self.negative > 1000:
            raise InputError(f"word2vec window ({self.window}) and negative ({self.negative}) must be <= 1000")

