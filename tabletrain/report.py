"""The report keys every table trainer writes into its table's ``meta``, in one order."""

from __future__ import annotations

REPORT_FORMAT_VERSION = 1
UNTRAINED_FILL = "normal(0, std of the trained rows)"


def table_meta(config, *, method: str, corpus_hash: str, tokens: int, state: dict, device: str, backend: str,
               threads: int | None, boundary: str, resumed_from: int, untrained: int,
               training: dict | None = None, inputs: dict | None = None) -> dict:
    """A trained table's ``meta``: what was trained on what, how fast, its losses and how it was exported.

    ``state`` is the trainer's checkpoint state (``train_seconds``, ``loss_per_epoch``); ``config`` its
    :class:`tabletrain.config.TrainerConfig` (with ``epochs`` and ``export_vectors``). The trainer's own
    keys go after the losses (``training``) and after the engine (``inputs``: where the data came from).
    """
    seconds = max(state["train_seconds"], 1e-9)
    return {
        "format_version": REPORT_FORMAT_VERSION, "method": method, "config": config.to_dict(),
        "corpus_hash": corpus_hash, "tokens": tokens, "epochs": config.epochs,
        "train_seconds": state["train_seconds"], "words_per_second": tokens * config.epochs / seconds,
        "loss_per_epoch": [float(x) for x in state["loss_per_epoch"]],
        **(training or {}),
        "export_vectors": config.export_vectors.value, "device": device, "backend": backend,
        "threads": threads,
        **(inputs or {}),
        "boundary": boundary, "resumed_from_epoch": resumed_from,
        "untrained_rows": untrained, "untrained_fill": UNTRAINED_FILL,
    }
