"""Cross-entropy of the output head, computed in row chunks without ever holding the full logits.

For a 10k vocabulary and a 32 x 128 batch the logits are 4096 x 10000 floats (164 MB); on a CPU writing,
normalizing and reading them back costs as much as the whole transformer. :class:`ChunkedLinearCrossEntropy`
computes ``mean(cross_entropy(h @ W^T, targets))`` a chunk of rows at a time (each chunk's logits fit in
cache) and, since a training loss is always differentiated, the gradients with respect to ``h`` and ``W``
in the same pass; backward only scales them. The result equals ``F.cross_entropy(F.linear(h, W), targets)``
up to float rounding (a test checks values and gradients against autograd).
"""

from __future__ import annotations

import torch

CHUNK_ELEMENTS = 1 << 20  # logits per chunk: 4 MB of float32, about one L2 cache


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """``loss = mean_i(logsumexp(h_i W^T) - h_i . W[t_i])`` with its gradients computed chunk by chunk."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, with_grad: bool) -> torch.Tensor:
        # h (N, C), weight (V, C), targets (N,); all in float32, autocast off (logits need the range)
        with torch.autocast(h.device.type, enabled=False):
            h32, w32 = h.float(), weight.float()
            N, V = h.shape[0], weight.shape[0]
            chunk = max(16, CHUNK_ELEMENTS // V)
            need_h, need_w = with_grad and ctx.needs_input_grad[0], with_grad and ctx.needs_input_grad[1]
            grad_h = torch.empty_like(h32) if need_h else None  # (N, C)
            grad_w = torch.zeros_like(w32) if need_w else None  # (V, C)
            total = torch.zeros((), dtype=torch.float64, device=h.device)
            rows = torch.arange(min(chunk, N), device=h.device)
            for start in range(0, N, chunk):
                hc, tc = h32[start : start + chunk], targets[start : start + chunk]  # (n, C), (n,)
                n = hc.shape[0]
                logits = hc @ w32.t()  # (n, V)
                target_logits = logits[rows[:n], tc]  # (n,)
                top = logits.amax(dim=1, keepdim=True)  # (n, 1)
                exps = logits.sub_(top).exp_()  # in place: exp(logits - max)
                sums = exps.sum(dim=1, keepdim=True)  # (n, 1)
                lse = (sums.log() + top).squeeze(1)  # (n,) logsumexp
                total += (lse - target_logits).sum(dtype=torch.float64)
                if not (need_h or need_w):
                    continue
                probs = exps.div_(sums)  # softmax, in place
                probs[rows[:n], tc] -= 1.0  # d(loss_i)/d(logits_i) = softmax - onehot
                if need_h:
                    torch.mm(probs, w32, out=grad_h[start : start + chunk])  # (n, C)
                if need_w:
                    grad_w.addmm_(probs.t(), hc)  # (V, C)
        ctx.save_for_backward(grad_h, grad_w)
        ctx.n = N
        ctx.dtypes = (h.dtype, weight.dtype)
        return (total / N).float()

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        grad_h, grad_w = ctx.saved_tensors
        scale = grad_out / ctx.n
        grad_h = (grad_h * scale).to(ctx.dtypes[0]) if grad_h is not None else None
        grad_w = (grad_w * scale).to(ctx.dtypes[1]) if grad_w is not None else None
        return grad_h, grad_w, None, None


def linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``F.linear(h, weight)`` against ``targets``: ``h`` (..., C), ``targets`` (...)."""
    flat_h, flat_t = h.reshape(-1, h.shape[-1]), targets.reshape(-1)
    return ChunkedLinearCrossEntropy.apply(flat_h, weight, flat_t, torch.is_grad_enabled())
