"""TensorBoard event files of a GPT run, written beside its ``curve.csv`` when ``tensorboard`` is installed.

Each run writes into its own folder, ``gpt/<variant>/seed<k>/``, so ``tensorboard --logdir runs/<name>/gpt``
names every curve by its arm, budget or fraction and seed (``skipgram-init@200k/seed1``) and lays the arms
of a study side by side. Scalars per row of the curve, against tokens seen (so runs of other batch sizes or
budgets share one axis): ``loss/val``, ``loss/train`` (the mean since the previous row), ``lr`` and
``tokens_per_second`` (training steps only, since the previous row).

Without ``tensorboard`` nothing is written (the CSV curve is the record); :data:`AVAILABLE` says which.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

AVAILABLE = importlib.util.find_spec("tensorboard") is not None
PATTERN = "events.out.tfevents.*"


class RunEvents:
    """The event writer of one run's folder; every method is a no-op without ``tensorboard``.

    ``resumed``: (tokens, train seconds) of the last curve row a resumed run keeps; rows a killed run logged
    after its checkpoint are purged from the folder's older files (TensorBoard's ``purge_step``). None: a
    fresh start, whose folder loses any event files of an earlier run.
    """

    def __init__(self, folder: Path, resumed: tuple[int, float] | None = None, enabled: bool = AVAILABLE) -> None:
        self.writer = None
        self.last = resumed  # (tokens, train seconds) of the previous row
        if not enabled:
            return
        folder = Path(folder)
        if resumed is None:
            for old in folder.glob(PATTERN):
                old.unlink()
        from torch.utils.tensorboard import SummaryWriter

        purge = None if resumed is None else int(resumed[0]) + 1
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=purge)

    def row(self, tokens: int, val_loss: float, train_loss: float | None, lr: float, train_seconds: float) -> None:
        """One row of the curve (see :data:`gpt.train.CURVE_COLUMNS`)."""
        if self.writer is None:
            return
        w, step = self.writer, int(tokens)
        w.add_scalar("loss/val", val_loss, step)
        if train_loss is not None:
            w.add_scalar("loss/train", train_loss, step)
        w.add_scalar("lr", lr, step)
        if self.last is not None and train_seconds > self.last[1]:
            w.add_scalar("tokens_per_second", (tokens - self.last[0]) / (train_seconds - self.last[1]), step)
        self.last = (tokens, train_seconds)
        w.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
