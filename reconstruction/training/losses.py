"""Losses: cross-entropy and soft Dice on classes, Gaussian NLL and L1 on height, and their weighted sum."""

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

#: Log-variances are clamped to this range so a confident wrong pixel cannot blow up the loss.
_LOGVAR_RANGE = (-10.0, 10.0)


def dice_loss(logits: Tensor, labels: Tensor, ignore_index: int = 255, smooth: float = 1.0) -> Tensor:
    """Soft Dice loss averaged over classes, ignoring ``ignore_index`` pixels.

    Args:
        logits: ``(B, K, H, W)`` class scores.
        labels: ``(B, H, W)`` int64 class channels or ``ignore_index``.
        ignore_index: label of pixels left out.
        smooth: added to numerator and denominator; a class absent from both prediction and
            target scores 0 loss.

    Returns:
        Scalar ``1 - mean_k dice_k``, 0 for a perfect prediction.
    """
    n_classes = logits.shape[1]
    valid = (labels != ignore_index).unsqueeze(1).to(logits.dtype)
    probs = logits.float().softmax(dim=1) * valid
    target = F.one_hot(labels.clamp(0, n_classes - 1) * (labels != ignore_index), n_classes)
    target = target.permute(0, 3, 1, 2).to(probs.dtype) * valid
    dims = (0, 2, 3)
    intersection = (probs * target).sum(dims)
    total = probs.sum(dims) + target.sum(dims)
    return 1.0 - ((2.0 * intersection + smooth) / (total + smooth)).mean()


def height_nll(height: Tensor, logvar: Tensor, target: Tensor) -> Tensor:
    """Gaussian negative log-likelihood of the height where the target is known (finite).

    Args:
        height: ``(B, 1, H, W)`` or ``(B, H, W)`` predicted height, metres.
        logvar: same shape, log of the predicted variance (m^2).
        target: ``(B, H, W)`` true height in metres, NaN where unknown.

    Returns:
        Scalar ``mean(0.5 * (logvar + (h - t)^2 / exp(logvar)))`` over known pixels (0 if none).
    """
    h, lv, t = height.float().reshape(target.shape), logvar.float().reshape(target.shape), target.float()
    known = torch.isfinite(t)
    if not known.any():
        return h.sum() * 0.0
    lv = lv[known].clamp(*_LOGVAR_RANGE)
    return (0.5 * (lv + (h[known] - t[known]) ** 2 * torch.exp(-lv))).mean()


def height_l1(height: Tensor, target: Tensor) -> Tensor:
    """Mean absolute height error in metres over known (finite) target pixels (0 if none)."""
    h, t = height.float().reshape(target.shape), target.float()
    known = torch.isfinite(t)
    if not known.any():
        return h.sum() * 0.0
    return (h[known] - t[known]).abs().mean()


class MultiTaskLoss(nn.Module):
    """Weighted sum of cross-entropy, soft Dice, Gaussian height NLL and height L1."""

    def __init__(
        self, ce: float = 1.0, dice: float = 1.0, nll: float = 0.1, l1: float = 0.1, ignore_index: int = 255
    ) -> None:
        """Store the weights (0 switches a term off).

        Args:
            ce: weight of the cross-entropy on classes.
            dice: weight of the soft Dice loss on classes.
            nll: weight of the Gaussian NLL on height (trains ``height_logvar``).
            l1: weight of the height mean absolute error (metres).
            ignore_index: label of pixels without class supervision.
        """
        super().__init__()
        self.ce, self.dice, self.nll, self.l1, self.ignore_index = ce, dice, nll, l1, ignore_index

    def forward(self, outputs: dict[str, Tensor], labels: Tensor, height: Tensor) -> dict[str, Tensor]:
        """Compute every term and the total.

        Args:
            outputs: the network's ``{"logits", "height", "height_logvar"}``.
            labels: ``(B, H, W)`` int64 class channels, 255 = ignore.
            height: ``(B, H, W)`` float32 metres, NaN = unknown.

        Returns:
            ``"ce"``, ``"dice"``, ``"nll"``, ``"l1"`` and ``"total"`` scalars.
        """
        logits = outputs["logits"].float()
        if (labels != self.ignore_index).any():
            ce = F.cross_entropy(logits, labels, ignore_index=self.ignore_index)
        else:
            ce = logits.sum() * 0.0
        terms = {
            "ce": ce,
            "dice": dice_loss(logits, labels, self.ignore_index),
            "nll": height_nll(outputs["height"], outputs["height_logvar"], height),
            "l1": height_l1(outputs["height"], height),
        }
        terms["total"] = (
            self.ce * terms["ce"] + self.dice * terms["dice"] + self.nll * terms["nll"] + self.l1 * terms["l1"]
        )
        return terms
