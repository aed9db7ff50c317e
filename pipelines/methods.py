"""The table-training methods ``pretrain`` knows: how command-line options become each trainer's config.

w2v/ and glove/ never import each other; they meet here. An option left unset (None) takes the method's own
default, so ``--window`` means 5 for word2vec and 10 for GloVe unless given.
"""

from __future__ import annotations

METHODS = ("cbow", "skipgram", "glove")


def _given(options: dict, *names: str) -> dict:
    """The options among ``names`` that were given a value (None means: the trainer's default)."""
    return {name: options[name] for name in names if options.get(name) is not None}


def build_config(method: str, options: dict):
    """The trainer config of ``method`` from the pretrain options (dim, window, epochs, seed, ...)."""
    if method == "glove":
        from glove.config import GloveConfig

        fields = _given(options, "dim", "window", "epochs", "seed", "threads", "x_max", "memory_gb", "device")
        if options.get("alpha") is not None:
            fields["lr"] = options["alpha"]  # --alpha is the initial learning rate for every method
        if options.get("export_vectors") is not None:
            fields["export_vectors"] = options["export_vectors"]
        return GloveConfig(**fields)
    if method in ("cbow", "skipgram"):
        from w2v.config import Word2VecConfig

        fields = _given(options, "dim", "window", "negative", "sample", "epochs", "alpha", "seed", "threads",
                        "export_vectors", "device", "noise")
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
