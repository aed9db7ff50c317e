"""The torch engine: batched skip-gram / CBOW steps, one code path for the CPU and CUDA.

An epoch is cut into chunks of whole ``max_sentence`` blocks. For each chunk the kept words (subsampling),
their sentences and reduced windows are drawn with numpy (seeded by seed, epoch and chunk), and turned into
updates in corpus order: (context, centre) pairs for skip-gram, (centre, padded context row) for CBOW.
Each step takes ``batch_size`` updates, draws ``negative`` noise words per update on the device, computes
every gradient at the old parameters (the hand-written gradients of :func:`sg_step` / :func:`cbow_step`,
checked against autograd in the tests) and scatters them with ``index_add_``. The loss and the update rules
are the numba kernels' (:mod:`w2v.kernels`); only the order of updates within a step differs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from base.cores import torch_threads
from w2v.config import Method, Word2VecConfig
from w2v.kernels import linear_decay

_CHUNK_BLOCKS = 100  # blocks of max_sentence tokens per chunk (1M tokens at the default)


def _gradients(x, u, negative_mask, lr):
    """x (B, D) inputs, u (B, 1 + K, D) target then noise rows; mask (B, K) of noise words that count.
    Returns (dx (B, D), du (B, 1 + K, D), summed loss), each gradient already scaled by -lr (an SGD step)."""
    z = torch.einsum("bd,bkd->bk", x, u)  # (B, 1 + K)
    labels = torch.zeros_like(z)
    labels[:, 0] = 1.0
    weight = torch.cat([torch.ones_like(z[:, :1]), negative_mask.to(z.dtype)], dim=1)  # (B, 1 + K)
    loss = (F.softplus(-z[:, 0]) + (F.softplus(z[:, 1:]) * weight[:, 1:]).sum(1)).sum(dtype=torch.float64)
    g = (labels - torch.sigmoid(z)) * weight * lr  # (B, 1 + K)
    dx = torch.einsum("bk,bkd->bd", g, u)
    du = g[:, :, None] * x[:, None, :]
    return dx, du, loss


@torch.no_grad()
def sg_step(syn0, syn1, context, center, noise, lr: float) -> torch.Tensor:
    """Skip-gram step on pairs: syn0[context] (B,) predicts syn1[center] (B,) against syn1[noise] (B, K).
    Updates syn0 and syn1 in place; returns the summed loss (float64, 0-d)."""
    outs = torch.cat([center[:, None], noise], dim=1)  # (B, 1 + K)
    dx, du, loss = _gradients(syn0[context], syn1[outs], noise != center[:, None], lr)
    syn1.index_add_(0, outs.reshape(-1), du.reshape(-1, syn1.shape[1]))
    syn0.index_add_(0, context, dx)
    return loss


@torch.no_grad()
def cbow_step(syn0, syn1, contexts, center, noise, lr: float) -> torch.Tensor:
    """CBOW step: the mean of syn0[contexts[b]] over its entries >= 0 (B, 2W) predicts syn1[center[b]]
    against syn1[noise[b]] (B, K); every context row then moves by the gradient of the mean, as word2vec.
    Updates in place; returns the summed loss (float64, 0-d)."""
    present = contexts >= 0  # (B, 2W)
    rows = contexts.clamp(min=0)
    count = present.sum(1, keepdim=True).clamp(min=1).to(syn0.dtype)  # (B, 1)
    h = (syn0[rows] * present[:, :, None]).sum(1) / count  # (B, D)
    outs = torch.cat([center[:, None], noise], dim=1)
    dh, du, loss = _gradients(h, syn1[outs], noise != center[:, None], lr)
    syn1.index_add_(0, outs.reshape(-1), du.reshape(-1, syn1.shape[1]))
    spread = dh[:, None, :].expand(-1, contexts.shape[1], -1)[present]  # (n present, D)
    syn0.index_add_(0, contexts[present], spread)
    return loss


class TorchEngine:
    """Holds the parameters on ``device`` and trains them one epoch at a time."""

    def __init__(self, params: dict, tables, config: Word2VecConfig, device: str) -> None:
        self.config, self.tables, self.device = config, tables, torch.device(device)
        self.syn0 = torch.from_numpy(np.array(params["syn0"])).to(self.device)
        self.syn1 = torch.from_numpy(np.array(params["syn1"])).to(self.device)
        self.noise_bars = torch.from_numpy(tables.noise_bars.astype(np.float64) / 2 ** 32).to(self.device)
        self.noise_alias = torch.from_numpy(tables.noise_alias.astype(np.int64)).to(self.device)

    def numpy_params(self) -> dict:
        return {"syn0": self.syn0.cpu().numpy().copy(), "syn1": self.syn1.cpu().numpy().copy()}

    def _noise(self, shape, generator) -> torch.Tensor:
        """Noise words from the alias table, drawn on the device."""
        v = self.noise_bars.shape[0]
        slot = torch.randint(v, shape, generator=generator, device=self.device)
        u = torch.rand(shape, generator=generator, device=self.device, dtype=torch.float64)
        return torch.where(u < self.noise_bars[slot], slot, self.noise_alias[slot])

    def epoch(self, ids: np.ndarray, epoch: int, bar) -> tuple[float, int]:
        """One pass over ``ids``; (summed loss, updates)."""
        # on the CPU one torch thread: steps are small, intra-op threads only add waiting (a lot, on a busy CPU)
        with torch_threads(1 if self.device.type == "cpu" else None):
            return self._epoch(ids, epoch, bar)

    def _epoch(self, ids: np.ndarray, epoch: int, bar) -> tuple[float, int]:
        config, n = self.config, ids.shape[0]
        block = config.max_sentence
        generator = torch.Generator(device=self.device)
        generator.manual_seed(int(np.random.SeedSequence([config.seed, epoch]).generate_state(1)[0]))
        total_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        updates = 0
        chunk_tokens = block * _CHUNK_BLOCKS
        for chunk, start in enumerate(range(0, n, chunk_tokens)):
            stop = min(start + chunk_tokens, n)
            units = self._updates(ids, start, stop, epoch, chunk)
            inputs, center, position = units
            for b in range(0, center.shape[0], config.batch_size):
                lr = linear_decay(config.alpha, config.min_alpha, float(epoch * n + int(position[b])),
                                  float(config.epochs * n))
                sl = slice(b, b + config.batch_size)
                noise = self._noise((center[sl].shape[0], config.negative), generator)
                step = sg_step if config.method is Method.SKIPGRAM else cbow_step
                total_loss += step(self.syn0, self.syn1, inputs[sl], center[sl], noise, lr)
            updates += int(center.shape[0])
            bar.update(stop - start)
            if not bar.disable and updates:
                bar.set_postfix_str(f"lr={lr:.5f} loss={float(total_loss) / updates:.4f}", refresh=False)
        return float(total_loss), updates

    def _updates(self, ids: np.ndarray, start: int, stop: int, epoch: int, chunk: int):
        """(inputs, centres, raw positions) of the chunk's updates in corpus order, on the device."""
        config, tables = self.config, self.tables
        rng = np.random.default_rng([config.seed, epoch, chunk])
        part = np.asarray(ids[start:stop], dtype=np.int64)
        pos = np.arange(start, stop)
        boundary = (part == tables.eos) | (pos % config.max_sentence == 0)
        sentence = np.cumsum(boundary)
        keep = rng.random(part.shape[0]) < tables.keep_probs[part]
        words, sentence, pos = part[keep], sentence[keep], pos[keep]
        reach = config.window - rng.integers(0, config.window, size=words.shape[0])
        w = config.window
        if config.method is Method.SKIPGRAM:
            centers, contexts = [], []
            for d in list(range(-w, 0)) + list(range(1, w + 1)):
                i = np.arange(max(0, -d), words.shape[0] - max(0, d))  # centres whose i + d is in range
                ok = (reach[i] >= abs(d)) & (sentence[i] == sentence[i + d])
                centers.append(i[ok])
                contexts.append(i[ok] + d)
            centers_i = np.concatenate(centers)
            order = np.argsort(centers_i, kind="stable")
            centers_i, inputs = centers_i[order], words[np.concatenate(contexts)[order]]
        else:
            table = np.full((words.shape[0], 2 * w), -1, dtype=np.int64)
            for col, d in enumerate(list(range(-w, 0)) + list(range(1, w + 1))):
                i = np.arange(max(0, -d), words.shape[0] - max(0, d))
                ok = (reach[i] >= abs(d)) & (sentence[i] == sentence[i + d])
                table[i[ok], col] = words[i[ok] + d]
            centers_i = np.flatnonzero((table >= 0).any(1))
            inputs = table[centers_i]
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.device)  # noqa: E731
        return to(inputs), to(words[centers_i]), pos[centers_i]
