"""Position information for the GPT: five ways to tell a token where it is.

- ``learned``: an absolute table of ``context`` rows added to the token embeddings (GPT-2).
- ``sinusoidal``: the fixed sin/cos table of Vaswani et al. (2017), added to the token embeddings.
- ``rope``: rotary embeddings applied to queries and keys in every layer (Su et al. 2021), base 10000.
- ``alibi``: a per-head linear distance penalty added to the attention scores (Press et al. 2022).
- ``none``: nothing; only the causal mask breaks the symmetry between positions.

Additive kinds (learned, sinusoidal) act once on the input; rope and alibi act inside attention, through
:class:`Rotary` and :func:`alibi_bias`.

Both additive kinds enter at the token rows' scale. Token rows start with std ``init_std`` (0.02; a table is
rescaled to it) and so does a learned position table; the raw sinusoidal table has entries of RMS
1/sqrt(2) (each sin/cos pair has unit norm), 35 times larger, which would bury the tokens under the positions
at init. It is therefore multiplied by ``init_std * sqrt(2)``, which gives its entries RMS ``init_std`` too.
Scaling the tokens up by sqrt(d_model) instead (Vaswani et al.) would move every token arm, the frozen
tables and the learned positions off the scale the rest of the init assumes.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from base.errors import InputError


def sinusoidal_table(length: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """The sinusoidal position table: ``PE[p, 2i] = sin(p / base^(2i/dim))``, ``PE[p, 2i+1] = cos(...)``."""
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (L, 1)
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (ceil(dim/2),)
    angles = position * inv_freq  # (L, ceil(dim/2))
    table = torch.zeros(length, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return table.float()


class AdditivePositions(nn.Module):
    """Absolute positions added to the token embeddings: a learned table or the fixed sinusoidal one.

    ``std`` is the token rows' init std; the sinusoidal table is scaled so its entries have that RMS.
    """

    def __init__(self, kind: str, context: int, dim: int, std: float = 0.02):
        super().__init__()
        self.kind = kind
        self.scale = std * math.sqrt(2.0)  # sinusoidal entries have RMS 1/sqrt(2): scaled, RMS std
        if kind == "learned":
            self.table = nn.Parameter(torch.zeros(context, dim))
        elif kind == "sinusoidal":
            self.register_buffer("table", sinusoidal_table(context, dim) * self.scale, persistent=False)
        else:
            raise ValueError(f"not an additive position kind: {kind}")

    def forward(self, length: int) -> torch.Tensor:
        """Rows for positions ``0 .. length-1``: ``(length, dim)``."""
        if length > self.table.shape[0]:
            if self.kind == "learned":
                raise InputError(f"context {length} is longer than the learned position table "
                                 f"({self.table.shape[0]} positions)")
            self.table = (sinusoidal_table(length, self.table.shape[1]) * self.scale).to(self.table.device)
        return self.table[:length]


class Rotary(nn.Module):
    """Rotary position embedding: rotates each (i, i + d/2) pair of a query or key by ``p * base^(-2i/d)``.

    The score of a rotated query at position m and a rotated key at position n depends on m - n only.
    cos and sin are cached and grown when a longer sequence comes.
    """

    def __init__(self, head_dim: int, base: float = 10000.0, length: int = 128):
        super().__init__()
        if head_dim % 2:
            raise InputError(f"rope needs an even head size, got {head_dim}")
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._build(length)

    def _build(self, length: int) -> None:
        angles = torch.arange(length, dtype=torch.float64).unsqueeze(1) * self.inv_freq  # (L, d/2)
        angles = torch.cat([angles, angles], dim=-1)  # (L, d)
        device = self.inv_freq.device
        self.register_buffer("cos", angles.cos().float().to(device), persistent=False)
        self.register_buffer("sin", angles.sin().float().to(device), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """Rotate ``x`` of shape ``(B, H, T, head_dim)`` whose first row sits at position ``offset``."""
        T = x.shape[-2]
        if offset + T > self.cos.shape[0]:
            self._build(2 * (offset + T))
        cos = self.cos[offset : offset + T].to(x.dtype)  # (T, d)
        sin = self.sin[offset : offset + T].to(x.dtype)
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)  # (B, H, T, d)
        return x * cos + rotated * sin


def alibi_slopes(n_head: int) -> torch.Tensor:
    """ALiBi head slopes: ``2^(-8 (h+1) / n)`` for n a power of two; otherwise the paper's interleaving."""

    def powers(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (h + 1) for h in range(n)]

    if math.log2(n_head).is_integer():
        slopes = powers(n_head)
    else:
        closest = 2 ** math.floor(math.log2(n_head))
        slopes = powers(closest) + powers(2 * closest)[0::2][: n_head - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(slopes: torch.Tensor, length: int, causal: bool = True) -> torch.Tensor:
    """The additive attention bias ``-slope_h * (i - j)`` of shape ``(H, T, T)``; ``-inf`` above the diagonal.

    Without ``causal`` the distance is ``|i - j|`` and nothing is masked.
    """
    pos = torch.arange(length, device=slopes.device)
    distance = (pos.view(-1, 1) - pos.view(1, -1)).float()  # (T, T): i - j
    bias = -slopes.view(-1, 1, 1) * distance.abs()  # (H, T, T)
    if causal:
        bias = bias.masked_fill(distance < 0, float("-inf"))
    return bias
