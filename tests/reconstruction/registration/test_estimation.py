"""Weighted RANSAC: recovers transforms among outliers, honours weights, and flags degenerate results."""

import numpy as np
import pytest

from reconstruction.registration.estimation import degeneracy, estimate_transform


def _points(n, seed=0):
    return np.random.default_rng(seed).uniform(-500, 500, (n, 2))


def _apply(h, xy):
    p = np.c_[xy, np.ones(len(xy))] @ h.T
    return p[:, :2] / p[:, 2:3]


@pytest.mark.parametrize(
    ("model", "truth"),
    [
        ("affine", np.array([[0.99, -0.05, 12.0], [0.05, 1.01, -7.0], [0, 0, 1]])),
        ("projective", np.array([[1.0, 0.02, 3.0], [-0.01, 0.98, 5.0], [2e-5, -1e-5, 1]])),
    ],
)
def test_recovers_the_transform_among_40_percent_outliers(model, truth):
    moving = _points(300)
    reference = _apply(truth, moving) + np.random.default_rng(1).normal(0, 0.3, (300, 2))
    reference[:120] = _points(120, seed=2)  # outliers
    found = estimate_transform(moving, reference, np.ones(300), model, 2.0, 500)
    assert found is not None
    assert not found.inliers[:120].any() and found.inliers[120:].mean() > 0.95
    grid = _points(50, seed=3)
    assert np.abs(_apply(found.matrix, grid) - _apply(truth, grid)).max() < 0.3


def test_weights_decide_between_two_consistent_groups():
    moving = _points(100)
    a = moving + (5.0, 0.0)  # 60 matches agree on one shift
    b = moving + (-5.0, 0.0)  # 40 on another
    reference = np.r_[a[:60], b[60:]]
    plain = estimate_transform(moving, reference, np.ones(100), "affine", 1.0, 300)
    weights = np.r_[np.ones(60), np.full(40, 3.0)]
    weighted = estimate_transform(moving, reference, weights, "affine", 1.0, 300)
    assert plain is not None and weighted is not None
    assert plain.matrix[0, 2] == pytest.approx(5.0, abs=0.01)
    assert weighted.matrix[0, 2] == pytest.approx(-5.0, abs=0.01)


def test_too_few_matches_give_no_estimate():
    assert estimate_transform(_points(3), _points(3), np.ones(3), "affine", 2.0, 50) is None


@pytest.mark.parametrize(
    ("matrix", "words"),
    [
        (np.diag([-1.0, 1.0, 1.0]), "mirrors"),
        (np.diag([3.0, 3.0, 1.0]), "scales"),
        (np.array([[1.0, 0.6, 0], [0, 0.8, 0], [0, 0, 1]]), "shears"),
        (np.array([[1.0, 0, 0], [0, 1.0, 0], [1e-3, 0, 1]]), "perspective"),
    ],
)
def test_degenerate_transforms_are_named(matrix, words):
    assert words in degeneracy(matrix, 500.0)


def test_a_plausible_transform_passes():
    assert degeneracy(np.array([[1.01, -0.03, 4.0], [0.03, 0.99, -2.0], [1e-6, 0, 1]]), 500.0) is None
