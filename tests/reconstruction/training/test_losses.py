"""Losses: Dice of a perfect prediction is ~0, ignored pixels and unknown heights do not count."""

import math

import torch

from reconstruction.training.losses import MultiTaskLoss, dice_loss, height_l1, height_nll


def _perfect_logits(labels: torch.Tensor, k: int = 6) -> torch.Tensor:
    return torch.nn.functional.one_hot(labels.clamp(0, k - 1), k).permute(0, 3, 1, 2).float() * 50.0


def test_dice_of_perfect_prediction_is_zero():
    labels = torch.randint(0, 6, (2, 16, 16), generator=torch.Generator().manual_seed(0))
    assert float(dice_loss(_perfect_logits(labels), labels)) < 1e-3
    wrong = _perfect_logits((labels + 1) % 6)
    assert float(dice_loss(wrong, labels)) > 0.9


def test_ignored_pixels_do_not_count():
    labels = torch.randint(0, 6, (1, 8, 8), generator=torch.Generator().manual_seed(1))
    logits = _perfect_logits(labels)
    noisy = labels.clone()
    noisy[:, :4] = 255
    logits[:, :, :4] = torch.randn(1, 6, 4, 8)  # garbage where ignored
    loss = MultiTaskLoss()
    height = torch.zeros(1, 8, 8)
    out = {"logits": logits, "height": torch.zeros(1, 1, 8, 8), "height_logvar": torch.zeros(1, 1, 8, 8)}
    terms = loss(out, noisy, height)
    assert float(terms["ce"]) < 1e-3 and float(terms["dice"]) < 1e-3
    all_ignored = loss(out, torch.full_like(labels, 255), height)
    assert float(all_ignored["ce"]) == 0.0 and math.isfinite(float(all_ignored["total"]))


def test_height_losses_skip_unknown_cells():
    target = torch.tensor([[[1.0, float("nan")], [3.0, float("nan")]]])
    pred = torch.tensor([[[[2.0, 100.0], [3.0, -100.0]]]])
    assert math.isclose(float(height_l1(pred, target)), 0.5)
    nll = height_nll(pred, torch.zeros_like(pred), target)
    assert math.isclose(float(nll), 0.25)  # 0.5 * mean(0 + [1, 0])
    assert float(height_l1(pred, torch.full_like(target, float("nan")))) == 0.0
