"""Binary cross-entropy over all span × type pairs, or its focal variant."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pair_loss(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, focal: tuple[float, float] | None = None
) -> torch.Tensor:
    """Summed over valid pairs, averaged over the batch. ``focal``: (alpha, gamma)."""
    logits = logits.float()
    loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if focal is not None:
        alpha, gamma = focal
        p = torch.sigmoid(logits)
        p_true = p * targets + (1 - p) * (1 - targets)
        loss = loss * (1 - p_true) ** gamma * (alpha * targets + (1 - alpha) * (1 - targets))
    return (loss * mask).sum() / logits.size(0)
