"""A small decoder-only transformer (GPT-2 style, pre-norm) with swappable token and position embeddings.

Every weight is initialized from a generator of its own, seeded from the run seed and the weight's name,
so that for one seed every weight two variants share starts identical, whatever the embedding mode or the
extra weights (an untied head, a projection) one of them has.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt.config import GPTConfig
from gpt.embedding import AlignedTable, TokenEmbedding
from gpt.loss import linear_cross_entropy, linear_token_losses
from gpt.positions import AdditivePositions, Rotary, alibi_bias, alibi_slopes


def seeded_generator(seed: int, name: str) -> torch.Generator:
    """A CPU generator seeded from ``(seed, name)``: independent streams for independent weights."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``; rope and alibi plug in here."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, rotary: Rotary | None = None, bias: torch.Tensor | None = None,
                causal: bool = True) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, hd)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if rotary is not None:
            q, k = rotary(q), rotary(k)
        # No dropout on the attention weights: with it the CPU kernel falls back to materialized attention
        # (several times slower); dropout acts on the embeddings and on every residual branch instead.
        if q.dtype == torch.bfloat16 and q.device.type == "cpu":
            # bf16 attention is slower on a CPU: its backward took 2.6x the fp32 one (AMD EPYC, 2 threads,
            # 2026-12-03), so there the attention runs in fp32 while the products around it stay bf16
            with torch.autocast("cpu", enabled=False):
                y = self._attend(q.float(), k.float(), v.float(), bias, causal)  # (B, T, C)
        else:
            y = self._attend(q, k, v, bias, causal)
        return self.resid_drop(self.proj(y))

    def _attend(self, q, k, v, bias, causal) -> torch.Tensor:
        """Softmax attention of (B, H, T, hd) heads, merged back to (B, T, C)."""
        B, H, T, hd = q.shape
        if bias is not None:  # alibi: the float mask holds the causal -inf too
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, H, T, hd)
        return y.transpose(1, 2).contiguous().view(B, T, H * hd)  # (B, T, C)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.d_model, 4 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(4 * config.d_model, config.d_model, bias=config.bias)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, rotary=None, bias=None, causal=True):
        x = x + self.attn(self.ln1(x), rotary, bias, causal)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """The language model: token embedding (+ positions) -> blocks -> final norm -> head over the vocabulary.

    ``table_dim`` and ``missing`` describe a table's shape (its width, and for a frozen table the rows it
    lacks); call :meth:`init_weights` to fill the weights, or load a state dict.
    """

    def __init__(self, config: GPTConfig, vocab_size: int, table_dim: int | None = None,
                 missing: torch.Tensor | None = None):
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.tok = TokenEmbedding(vocab_size, config.d_model, config.embedding, table_dim, missing,
                                  project=config.project)
        self.pos = None
        if config.position in ("learned", "sinusoidal"):
            self.pos = AdditivePositions(config.position, config.context, config.d_model, config.init_std)
        head_dim = config.d_model // config.n_head
        self.rotary = Rotary(head_dim, config.rope_base, config.context) if config.position == "rope" else None
        if config.position == "alibi":
            self.register_buffer("alibi_slopes", alibi_slopes(config.n_head), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.d_model, bias=config.bias)
        self.head = None if config.head_tied else nn.Linear(config.d_model, vocab_size, bias=False)

    @torch.no_grad()
    def init_weights(self, table: AlignedTable | None = None) -> None:
        """Initialize every weight (normal, std ``init_std``; residual projections scaled by 1/sqrt(2L))."""
        cfg = self.config
        std = cfg.init_std
        random_rows = torch.randn(self.vocab_size, cfg.d_model, generator=seeded_generator(cfg.seed, "token"))
        self.tok.initialize(random_rows * std, table, seeded_generator(cfg.seed, "token-extra"), std)
        if self.pos is not None and self.pos.kind == "learned":
            self.pos.table.normal_(0.0, std, generator=seeded_generator(cfg.seed, "position"))
        for i, block in enumerate(self.blocks):
            gen = seeded_generator(cfg.seed, f"block{i}")
            for name, p in block.named_parameters():
                if name.startswith("ln"):
                    p.fill_(1.0 if name.endswith("weight") else 0.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    scale = (2 * cfg.n_layer) ** -0.5 if name.endswith("proj.weight") else 1.0
                    p.normal_(0.0, std * scale, generator=gen)
        self.ln_f.reset_parameters()
        if self.head is not None:
            self.head.weight.normal_(0.0, std, generator=seeded_generator(cfg.seed, "head"))

    def param_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups under the one decay policy of every arm (see :class:`GPTConfig`): decay on the matrices
        of the blocks' linear layers (and a table's projection); none on token rows, the output head (tied,
        untied or beside a frozen table alike), positions, norms and biases."""
        decay, other = [], []
        for name, p in self.named_parameters():
            if not p.requires_grad:
                continue
            matrix = (name.startswith("blocks.") and p.ndim == 2) or name == "tok.projection.weight"
            (decay if matrix else other).append(p)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": other, "weight_decay": 0.0}]

    def num_parameters(self, trainable_only: bool = True) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def hidden(self, idx: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """The final normed hidden states ``(B, T, d_model)`` of token ids ``idx`` ``(B, T)``."""
        T = idx.shape[1]
        x = self.tok(idx)  # (B, T, C)
        if self.pos is not None:
            x = x + self.pos(T)  # (T, C) broadcast
        bias = None
        if self.config.position == "alibi":
            bias = alibi_bias(self.alibi_slopes, T, causal)  # (H, T, T)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, self.rotary, bias, causal)
        return self.ln_f(x)

    def output_weight(self) -> torch.Tensor:
        """The head's ``(V, C)`` weight: its own when untied, else the token embedding's."""
        return self.head.weight if self.head is not None else self.tok.output_weight()

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Head over the vocabulary: ``(..., C) -> (..., V)``."""
        return F.linear(h, self.output_weight())

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, causal: bool = True,
                reduction: str = "mean") -> torch.Tensor:
        """Logits ``(B, T, V)`` without targets; with targets ``(B, T)`` the cross-entropy loss.

        The loss is computed by the chunked head (:mod:`gpt.loss`), never holding all logits: the mean, or
        with ``reduction="none"`` the per-token losses ``(B, T)`` (no gradients: for evaluation);
        ``causal=False`` drops the causal mask (a property test of the position-free model uses it).
        """
        h = self.hidden(idx, causal)  # (B, T, C)
        bf16 = self.config.precision == "bf16"
        if targets is None:
            return self.logits(h)  # (B, T, V)
        if reduction == "mean":
            return linear_cross_entropy(h, self.output_weight(), targets, bf16)
        if reduction != "none":
            raise ValueError(f"reduction must be mean or none, got {reduction!r}")
        return linear_token_losses(h, self.output_weight(), targets, bf16)  # (B, T)
