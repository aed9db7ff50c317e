"""Every default of the small GPT and its training run, in one frozen dataclass.

A :class:`GPTConfig` is saved (as JSON) in ``config.json`` and inside every checkpoint; two runs with equal
configs (and the same corpus and table) are the same run, which is what lets a stage skip or resume work.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from base.cores import bf16_units
from base.errors import InputError
from base.limits import DEFAULT_DIM, MAX_SEED, MAX_TOKENS
from corpus.fraction import check_fraction

FORMAT_VERSION = 2  # 2: geometric evaluation schedule, per-seed tables, one decay policy, scaled sinusoids

EMBEDDING_MODES = ("learned", "init", "frozen")
PRECISIONS = ("fp32", "bf16")  # of the matrix products; weights, optimizer state, norms and the loss stay fp32
POSITIONS = ("learned", "sinusoidal", "rope", "alibi", "none")


def flag(default, name: str, help: str):
    """A config field with its command-line flag and help: ``train_gpt``'s options and a plan file's
    command lines are made from these, so a new field is written once."""
    return dataclasses.field(default=default, metadata={"flag": name, "help": help})


@dataclass(frozen=True)
class GPTConfig:
    """Model shape, embedding choice and training budget of one GPT run.

    The defaults suit the default corpus (about 600k train tokens) on a 2-core CPU: a 2M-parameter model
    that reads its 1M-token budget (a little under two epochs) in a few minutes.

    Weight decay, one policy for every arm: AdamW decays the matrices of the transformer blocks' linear
    layers (and a table's projection, a matrix only projected arms have). It never decays token rows or
    the output head, whether the head is tied to the embedding (learned, init), untied beside a frozen table,
    or the frozen arm's trainable rows; nor positions, norms and biases. So the arms differ in the
    optimizer only by the parameters an arm adds or freezes. Every group has the same learning rate.

    Evaluation: the val loss is measured on a fixed sample of ``eval_windows`` windows at step 0 and at
    ``evals`` steps spaced geometrically up to the last (dense early, where the curves move fastest), so a
    figure read off the curve, such as the tokens an arm needs to reach the baseline's final loss, is
    resolved at every budget; a checkpoint is written every ``checkpoint_interval`` steps and at the end.
    """

    # model shape
    d_model: int = flag(DEFAULT_DIM, "--d-model", "Width of the model (a table's dim unless --project).")
    n_layer: int = flag(4, "--layers", "Transformer blocks.")
    n_head: int = flag(4, "--heads", "Attention heads.")
    context: int = flag(128, "--context", "Tokens per window (also the size of a learned position table).")
    dropout: float = flag(0.0, "--dropout", "On embeddings and residual branches; under 2 epochs 0 trains best.")
    bias: bool = flag(False, "--bias/--no-bias", "Biases in linear layers and layer norms.")
    init_std: float = flag(0.02, "--init-std", "Std of every random init (residual projections: / sqrt(2 "
                                                "layers)).")

    # token and position embeddings
    embedding: str = flag("learned", "--embedding", "learned | init | frozen (with --embedding MODE:TABLE).")
    # the table's name and the text it was pretrained on are recorded here and interpreted by the caller that
    # hands the run its table (study.sources): this package knows a table only as an aligned matrix
    table: str | None = flag(None, "--embedding", "Method name of the run or a vector file (init and frozen).")
    table_seed: int | None = flag(None, "--table-seed", "Trainer seed of a run's table [the run's own seed].")
    rescale: bool = flag(True, "--rescale/--no-rescale", "Rescale a table's rows to the init std before use.")
    project: bool = flag(False, "--project/--no-project", "A learned projection from the table's dim to "
                                                          "--d-model.")
    position: str = flag("learned", "--position", "learned | sinusoidal | rope | alibi | none.")
    rope_base: float = flag(10000.0, "--rope-base", "Base of the rotary frequencies.")

    # optimisation
    tokens: int = flag(1_000_000, "--tokens", "Training budget in tokens (steps = ceil(tokens / (batch-size x "
                                              "context))).")
    batch_size: int = flag(8, "--batch-size", "Windows per step: small batches, many steps suit budgets of a "
                                              "few epochs or less.")
    lr: float = flag(2e-3, "--lr", "Peak learning rate.")
    min_lr_ratio: float = flag(0.1, "--min-lr-ratio", "The cosine decay ends at lr x this.")
    warmup_fraction: float = flag(0.05, "--warmup-fraction", "Fraction of the steps spent warming the lr up.")
    weight_decay: float = flag(0.1, "--weight-decay", "On matrices of linear layers only (not embeddings, "
                                                      "norms, biases).")
    beta1: float = flag(0.9, "--beta1", "AdamW beta1.")
    beta2: float = flag(0.95, "--beta2", "AdamW beta2.")
    grad_clip: float = flag(1.0, "--grad-clip", "Clip the gradient norm at this (0: no clipping).")

    # evaluation and checkpoints
    evals: int = flag(24, "--evals", "Val evaluations after step 0, spaced geometrically up to the last step.")
    eval_windows: int = flag(16, "--eval-windows", "Windows of the val split in the fixed val sample.")
    checkpoint_interval: int = flag(100, "--checkpoint-interval", "Steps between checkpoints (a kill loses at "
                                                                  "most this many).")
    frequent_words: int = flag(1000, "--frequent-words", "Test loss is also reported on targets among this "
                                                         "many most frequent ids.")
    seed: int = flag(0, "--seed", "Seed of the init, batches and dropout.")

    # data size and precision (left out of to_dict at their defaults: see OMITTED_AT_DEFAULT)
    fraction: float = flag(1.0, "--fraction", "Share of the train split's documents to train on: a seeded "
                                              "choice of whole documents, nested across fractions.")
    keep_best: bool = flag(False, "--keep-best/--no-keep-best", "Also report the test loss of the model at its "
                                                                "best val evaluation.")
    table_data: str = flag("run", "--table-data", "Text a run table was pretrained on, as the table's source "
                                                  "names it.")
    precision: str = flag("fp32", "--precision", "fp32 | bf16: the matrix products in bfloat16 (fp32 master "
                                                 "weights and optimizer state; norms, softmax, loss in fp32).")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise InputError (one line) for any value that cannot make a model or a run."""
        positive = ("d_model", "n_layer", "n_head", "context", "tokens", "batch_size", "evals", "eval_windows",
                    "checkpoint_interval")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InputError(f"{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.tokens > MAX_TOKENS:
            raise InputError(f"tokens {self.tokens:.3g} is above the limit of {MAX_TOKENS:,} (10^12) tokens")
        for name in ("seed", "table_seed"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_SEED:
                raise InputError(f"{name.replace('_', '-')} must be in 0..{MAX_SEED:,}, got {value}")
        if self.d_model % self.n_head:
            raise InputError(f"d-model {self.d_model} is not divisible by heads {self.n_head}")
        if self.position == "rope" and (self.d_model // self.n_head) % 2:
            raise InputError(f"rope needs an even head size, got {self.d_model // self.n_head}")
        check_fraction(self.fraction)
        for name in ("dropout", "init_std", "lr", "min_lr_ratio", "warmup_fraction", "weight_decay", "beta1",
                     "beta2", "grad_clip", "rope_base"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(f"{name.replace('_', '-')} must be a finite number, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.lr <= 0 or self.init_std <= 0:
            raise InputError("lr and init-std must be positive")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise InputError(f"warmup-fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise InputError("weight-decay and grad-clip must not be negative")
        if self.embedding not in EMBEDDING_MODES:
            raise InputError(f"unknown embedding mode {self.embedding!r}; expected one of {EMBEDDING_MODES}")
        if self.position not in POSITIONS:
            raise InputError(f"unknown position {self.position!r}; expected one of {POSITIONS}")
        if self.embedding == "learned" and self.table is not None:
            raise InputError("a learned embedding takes no table")
        if self.embedding != "learned" and not self.table:
            raise InputError(f"embedding mode {self.embedding} needs a table (e.g. {self.embedding}:skipgram)")
        if self.table_seed is not None and self.embedding == "learned":
            raise InputError(f"table-seed {self.table_seed} needs a table")
        if self.precision not in PRECISIONS:
            raise InputError(f"unknown precision {self.precision!r}; expected one of {PRECISIONS}")
        if not isinstance(self.table_data, str) or not self.table_data:
            raise InputError(f"table data must be a name, got {self.table_data!r}")

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.context

    @property
    def steps(self) -> int:
        """Optimizer steps the token budget buys (the last step may overshoot it by under one batch)."""
        return -(-self.tokens // self.tokens_per_step)

    @property
    def trained_tokens(self) -> int:
        """Tokens the run trains on: whole steps, so at least ``tokens``."""
        return self.steps * self.tokens_per_step

    @property
    def trainer_seed(self) -> int:
        """The seed of the run's table to use: ``table_seed``, or the run's own seed."""
        return self.seed if self.table_seed is None else self.table_seed

    def eval_steps(self) -> list[int]:
        """The steps after which the val loss is measured: 0, then ``evals`` distinct steps spaced
        geometrically from 1 to the last step (all of them when there are fewer steps than that)."""
        return eval_schedule(self.steps, self.evals)

    @property
    def head_tied(self) -> bool:
        """The output head shares the token embedding, except for a frozen table (it could not learn)."""
        return self.embedding != "frozen"

    def to_dict(self) -> dict:
        """The config as JSON-ready primitives, without the fields of :data:`OMITTED_AT_DEFAULT` while they
        hold their defaults.

        A run's record holds this dict and equal records are the same run, so a field added later must not
        change the dict of a config that leaves it at its default: runs finished (or checkpointed) before the
        field existed keep matching their records and are skipped or resumed, not trained again.
        """
        data = dataclasses.asdict(self)
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name in OMITTED_AT_DEFAULT:
            if data[name] == defaults[name]:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "GPTConfig":
        """Rebuild a config from JSON; unknown keys are an error (a file from another version); the fields of
        :data:`OMITTED_AT_DEFAULT` that are absent take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"unknown GPT config keys {unknown}")
        return cls(**data)

    def replace(self, **changes) -> "GPTConfig":
        return dataclasses.replace(self, **changes)


# Fields added after runs were recorded: to_dict leaves them out while they hold their defaults (and
# config_flags too, so a plan line of such a config is as before), except the precision in config_flags:
# train_gpt's default for it is auto, which differs by machine, so a command line always names it.
OMITTED_AT_DEFAULT = ("fraction", "keep_best", "table_data", "precision")
AUTO_PRECISION = "auto"


def resolve_precision(precision: str | None, device: str, units: list[str] | None = None) -> str:
    """The precision a run uses: ``fp32`` or ``bf16`` as given; ``auto`` (or None) picks, by device, the one
    measured faster end to end (README, "Speed"): bf16 on CUDA and on a CPU whose bf16 matrix units are
    AVX512-BF16 without AMX (as AMD EPYC's); fp32 on any other CPU (without bf16 units bf16 is emulated; with
    AMX it is not yet measured). ``units``: the CPU's bf16 units (:func:`base.cores.bf16_units`, read when
    None)."""
    if precision in (None, AUTO_PRECISION):
        if str(device).startswith("cuda"):
            return "bf16"
        units = bf16_units() if units is None else units
        return "bf16" if "avx512_bf16" in units and "amx_bf16" not in units else "fp32"
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be auto, fp32 or bf16, got {precision!r}")
    return precision


def eval_schedule(steps: int, evals: int) -> list[int]:
    """Step 0 and ``min(evals, steps)`` distinct steps in ``[1, steps]``, geometrically spaced, ``steps`` last.

    Rounding makes the first geometric points collide (1, 1.3, 1.7 ...), so the grid is refined until it
    holds enough distinct steps; the result depends on its arguments alone.
    """
    wanted = min(evals, steps)
    points: list[int] = []
    n = wanted
    while len(points) < wanted:
        ratio = steps ** (1.0 / (n - 1)) if n > 1 else 1.0
        points = sorted({min(steps, max(1, round(ratio ** i))) for i in range(n)} | {steps})
        n += 1
    if len(points) > wanted:  # keep the last step, drop the surplus among the earliest
        points = points[len(points) - wanted:]
    return [0] + points


def parse_embedding(spec: str) -> tuple[str, str | None]:
    """Split ``learned`` / ``init:TABLE`` / ``frozen:TABLE`` into (mode, table)."""
    mode, _, table = spec.partition(":")
    if mode not in EMBEDDING_MODES:
        raise InputError(f"--embedding must be learned, init:TABLE or frozen:TABLE, got {spec!r}")
    if mode == "learned":
        if table:
            raise InputError("--embedding learned takes no table")
        return mode, None
    if not table:
        raise InputError(f"--embedding {mode} needs a table: {mode}:skipgram or {mode}:path/to/vectors.txt")
    return mode, table


def config_flags(config: GPTConfig) -> list[str]:
    """``train_gpt`` arguments that make exactly ``config``: every field, by its flag, in field order."""
    args: list[str] = []
    for field in dataclasses.fields(config):
        name, value = field.metadata["flag"], getattr(config, field.name)
        if field.name == "table" or (value is None and field.name == "table_seed"):
            continue  # the table is part of --embedding; no table seed means the run's own
        if field.name in OMITTED_AT_DEFAULT and value == field.default and field.name != "precision":
            continue  # as before these fields existed
        if field.name == "embedding":
            args += [name, value if value == "learned" else f"{value}:{config.table}"]
        elif isinstance(value, bool):
            on, off = name.split("/")
            args.append(on if value else off)
        else:
            args += [name, repr(value) if isinstance(value, float) else str(value)]
    return args
