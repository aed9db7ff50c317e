"""Cross-entropy of the output head, computed in row chunks without ever holding the full logits.

For a 10k vocabulary and a 32 x 128 batch the logits are 4096 x 10000 floats (164 MB); on a CPU writing,
normalizing and reading them back costs as much as the whole transformer. :class:`ChunkedLinearCrossEntropy`
computes ``mean(cross_entropy(h @ W^T, targets))`` a chunk of rows at a time (each chunk's logits fit in
cache) and, since a training loss is always differentiated, the gradients with respect to ``h`` and ``W``
in the same pass; backward only scales them. The result equals ``F.cross_entropy(F.linear(h, W), targets)``
up to float rounding (a test checks values and gradients against autograd). :func:`linear_token_losses`
gives the per-token losses the same way, for evaluation.

In bf16 (``--precision bf16``) the three matrix products (logits, and the gradients of ``h`` and ``W``) take
bf16 operands, ``h`` and ``W`` cast once per call; the logits come out of the product and are turned to
fp32 at once, so the softmax, the loss and the gradients' accumulation stay fp32.
"""

from __future__ import annotations

import torch

CHUNK_ELEMENTS = 1 << 20  # logits per chunk: 4 MB of float32, about one L2 cache
# bf16: bf16 products of few rows are slow, and each chunk adds a (V, C) product into fp32; 4x the rows
# made the head 10-20% faster (AMD EPYC, 2 threads, 2026-12-03: 245 against 267-305 ms at 4096 x 128 x 10k)
CHUNK_ELEMENTS_BF16 = 1 << 22


def _operands(h: torch.Tensor, weight: torch.Tensor, bf16: bool) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The products' operands, ``h`` and ``weight`` cast once (bf16, or fp32), and the rows per chunk."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    chunk = max(16, (CHUNK_ELEMENTS_BF16 if bf16 else CHUNK_ELEMENTS) // weight.shape[0])
    return h.to(dtype), weight.to(dtype), chunk


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """``loss = mean_i(logsumexp(h_i W^T) - h_i . W[t_i])`` with its gradients computed chunk by chunk."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, with_grad: bool,
                bf16: bool = False) -> torch.Tensor:
        # h (N, C), weight (V, C), targets (N,); autocast off: the products' operands are chosen here
        with torch.autocast(h.device.type, enabled=False):
            h32, w32 = h.float(), weight.float()
            hm, wm, chunk = _operands(h32, w32, bf16)  # fp32: h32 and w32 themselves
            N = h.shape[0]
            need_h, need_w = with_grad and ctx.needs_input_grad[0], with_grad and ctx.needs_input_grad[1]
            grad_h = torch.empty_like(h32) if need_h else None  # (N, C)
            grad_w = torch.zeros_like(w32) if need_w else None  # (V, C)
            total = torch.zeros((), dtype=torch.float64, device=h.device)
            rows = torch.arange(min(chunk, N), device=h.device)
            for start in range(0, N, chunk):
                hc, tc = hm[start : start + chunk], targets[start : start + chunk]  # (n, C), (n,)
                n = hc.shape[0]
                logits = (hc @ wm.t()).float()  # (n, V) fp32 (the same tensor when the operands are)
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
                if bf16:
                    probs = probs.to(torch.bfloat16)
                    if need_h:
                        grad_h[start : start + chunk] = probs @ wm  # (n, C)
                    if need_w:
                        grad_w += probs.t() @ hc  # (V, C), summed in fp32
                    continue
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
        return grad_h, grad_w, None, None, None


def linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                         bf16: bool = False) -> torch.Tensor:
    """Mean cross-entropy of ``F.linear(h, weight)`` against ``targets``: ``h`` (..., C), ``targets`` (...);
    ``bf16``: the products in bf16, the rest in fp32."""
    flat_h, flat_t = h.reshape(-1, h.shape[-1]), targets.reshape(-1)
    return ChunkedLinearCrossEntropy.apply(flat_h, weight, flat_t, torch.is_grad_enabled(), bf16)


@torch.no_grad()
def linear_token_losses(h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                        bf16: bool = False) -> torch.Tensor:
    """Per-token cross-entropy ``(...)`` of ``F.linear(h, weight)`` against ``targets``, in fp32, a chunk of
    rows at a time (no gradients): the val curve and test losses without holding every logit; ``bf16`` as
    in :func:`linear_cross_entropy`."""
    flat_h, flat_t = h.reshape(-1, h.shape[-1]), targets.reshape(-1)  # (N, C), (N,)
    with torch.autocast(h.device.type, enabled=False):
        hm, wm, chunk = _operands(flat_h, weight, bf16)
        N = flat_h.shape[0]
        out = torch.empty(N, dtype=torch.float32, device=h.device)
        rows = torch.arange(min(chunk, N), device=h.device)
        for start in range(0, N, chunk):
            logits = (hm[start : start + chunk] @ wm.t()).float()  # (n, V)
            tc = flat_t[start : start + chunk]
            out[start : start + chunk] = torch.logsumexp(logits, dim=1) - logits[rows[: len(tc)], tc]
    return out.view(targets.shape)
