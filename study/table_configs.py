"""The table trainers' configs: pretrain's options at their defaults, one method's config built from options
or read back from a table's report, and training one table in memory.

w2v/ and glove/ never import each other; they meet here. An option left unset (None) takes the method's own
default, so ``--window`` means 5 for word2vec and 10 for GloVe unless given.
"""

from __future__ import annotations

from base.cores import available_cores
from base.device import resolve_device
from base.limits import DEFAULT_DIM
from study.settings import given

METHODS = ("cbow", "skipgram", "glove")
SHUFFLED_TABLE = "shuffled"
SHUFFLE_SEED = 1234
DEFAULT_X_MAX = 10.0  # GloVe's x_max for tables pretrained by a study: 10 suits corpora of a few million tokens

# pretrain's trainer options at their defaults: its click options and a study's tables both read them here
TRAINER_DEFAULTS = {"dim": DEFAULT_DIM, "window": None, "negative": 5, "noise": None, "sample": 1e-3,
                    "epochs": None, "alpha": None, "threads": None, "seed": 0, "export_vectors": None,
                    "x_max": 100.0, "memory_gb": 2.0, "device": "auto"}


def table_device(name: str) -> str:
    """The table trainers' device: ``auto`` means the CPU kernels, so a table does not depend on whether a
    GPU happens to be present; ``cuda`` must be asked for."""
    return "cpu" if name == "auto" else resolve_device(name)


def trainer_defaults() -> dict:
    """The trainer options of ``pretrain`` at their defaults, every core and the table device resolved."""
    options = dict(TRAINER_DEFAULTS, threads=available_cores())
    options["device"] = table_device(options["device"])
    return options


def build_config(method: str, options: dict):
    """The trainer config of ``method`` from the pretrain options (dim, window, epochs, seed, ...)."""
    if method == "glove":
        from glove.config import GloveConfig

        fields = given(options, ("dim", "window", "epochs", "seed", "threads", "x_max", "memory_gb", "device"))
        if options.get("alpha") is not None:
            fields["lr"] = options["alpha"]  # --alpha is the initial learning rate for every method
        if options.get("export_vectors") is not None:
            fields["export_vectors"] = options["export_vectors"]
        return GloveConfig(**fields)
    if method in ("cbow", "skipgram"):
        from w2v.config import Word2VecConfig

        fields = given(options, ("dim", "window", "negative", "sample", "epochs", "alpha", "seed", "threads",
                               "export_vectors", "device", "noise"))
        return Word2VecConfig(method=method, **fields)
    raise ValueError(f"unknown method {method!r}")


def config_from_dict(method: str, data: dict):
    """The trainer config of ``method`` saved as ``data`` (a table report's ``config``)."""
    if method == "glove":
        from glove.config import GloveConfig

        return GloveConfig.from_dict(data)
    if method in ("cbow", "skipgram"):
        from w2v.config import Word2VecConfig

        return Word2VecConfig.from_dict(data)
    raise ValueError(f"unknown method {method!r}")


def train_method(method: str, prepared, config, *, checkpoint_dir, progress: bool):
    """Train one table; returns a vectors.EmbeddingTable whose meta holds the report keys."""
    if method == "glove":
        from glove.train import train
    else:
        from w2v.train import train
    return train(prepared, config, checkpoint_dir=checkpoint_dir, progress=progress)



def method_of(config) -> str:
    """The method name of a trainer config: ``glove``, or a word2vec config's ``cbow``/``skipgram``."""
    from glove.config import GloveConfig

    return "glove" if isinstance(config, GloveConfig) else config.method.value
