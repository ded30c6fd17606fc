"""How far to trust a classifier's confidence, and how much of the predicted building area is real.

* :func:`reliability` -- reliability-diagram bins (mean confidence against accuracy) and the expected
  calibration error (ECE, Guo et al. 2017): the bins' |accuracy - confidence| weighted by their share of pixels.
* :func:`building_area_scores` -- precision and recall of a predicted building mask by area against a reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Reliability:
    """Reliability bins of a classifier's confidence.

    Attributes:
        ece: expected calibration error, 0..1.
        confidence: mean confidence per non-empty bin.
        accuracy: share of correct pixels per non-empty bin.
        share: share of the pixels per non-empty bin.
    """

    ece: float
    confidence: list[float]
    accuracy: list[float]
    share: list[float]


def reliability(confidence: npt.NDArray[np.floating], correct: npt.NDArray[np.bool_], bins: int = 15) -> Reliability:
    """Equal-width confidence bins over 0..1 and the expected calibration error.

    Args:
        confidence: probability of the chosen class per pixel (any shape; pixels without truth left out).
        correct: whether each pixel's chosen class is right.
        bins: number of bins.

    Raises:
        ValueError: no pixels, or shapes differ.
    """
    conf, ok = np.asarray(confidence, np.float64).ravel(), np.asarray(correct, bool).ravel()
    if conf.shape != ok.shape or conf.size == 0:
        raise ValueError(f"reliability needs pixels with a confidence and a truth each; got {conf.shape}, {ok.shape}")
    index = np.clip((conf * bins).astype(np.int64), 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    mean_conf = np.bincount(index, weights=conf, minlength=bins) / np.maximum(count, 1)
    accuracy = np.bincount(index, weights=ok.astype(np.float64), minlength=bins) / np.maximum(count, 1)
    share = count / conf.size
    used = count > 0
    ece = float((share * np.abs(accuracy - mean_conf))[used].sum())
    return Reliability(ece, mean_conf[used].tolist(), accuracy[used].tolist(), share[used].tolist())


@dataclass(frozen=True)
class BuildingAreaScores:
    """A building mask against the reference, by area.

    Attributes:
        precision: share of the predicted building area that is building (None when none is predicted).
        recall: share of the reference building area predicted (None when the reference has none).
        predicted_m2: predicted building area, square metres.
        false_m2: predicted building area where the reference has none ("phantom" buildings).
        reference_m2: reference building area.
    """

    precision: float | None
    recall: float | None
    predicted_m2: float
    false_m2: float
    reference_m2: float


def building_area_scores(
    predicted: npt.NDArray[np.bool_],
    reference: npt.NDArray[np.bool_],
    cell_area_m2: float,
    known: npt.NDArray[np.bool_] | None = None,
) -> BuildingAreaScores:
    """Precision and recall of ``predicted`` against ``reference`` over the ``known`` cells."""
    keep = np.ones(predicted.shape, bool) if known is None else np.asarray(known, bool)
    p, r = np.asarray(predicted, bool) & keep, np.asarray(reference, bool) & keep
    tp, n_pred, n_ref = int((p & r).sum()), int(p.sum()), int(r.sum())
    return BuildingAreaScores(
        precision=tp / n_pred if n_pred else None,
        recall=tp / n_ref if n_ref else None,
        predicted_m2=n_pred * cell_area_m2,
        false_m2=(n_pred - tp) * cell_area_m2,
        reference_m2=n_ref * cell_area_m2,
    )
