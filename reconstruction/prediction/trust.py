"""Where the network may be trusted: calibrated confidence and height spread, a distribution-shift score, a gate.

The network learned from generated towns only. On imagery unlike them it is confidently wrong (a ploughed field
or a parking lot comes out as a 9 m building at 97 % confidence), so neither its confidence nor its height
spread can tell such cells apart. Its own encoder can: the features at the bottleneck of a cell unlike the towns
lie far from theirs. A :class:`TrustCalibration`, saved beside the weights (``<name>.trust.npz``), holds

* the mean and (shrunk) inverse covariance of those features over generated training towns, and the median
  Mahalanobis distance of the towns' own cells (the *reference*: a shift score of 1 means "like the towns");
* the largest distance a cell may have and still be trusted, tuned on ONE real region for building precision
  (phantom buildings cost more than missing ones: see ``tuned_on`` and docs/models.md);
* a temperature for the class probabilities and a scale for the height standard deviation, fitted on that
  region (temperature scaling, Guo et al. 2017; the scale makes the mean absolute error match
  ``sqrt(2 / pi)`` times the standard deviation).

:func:`gate` then leaves every untrusted cell ground at 0 m, and drops each predicted building whose cells are
mostly untrusted or which is too small, before the buildings are made. Cells the network calls ground, road or
water get 0 m too: by their own class they stand on the ground (their predicted heights are noise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage
from torch import nn

from reconstruction.prediction.trust_report import TrustReport

#: Suffix of the calibration file beside a weights file (``citynet-v1.pt`` -> ``citynet-v1.trust.npz``).
TRUST_SUFFIX = ".trust.npz"
#: ASPRS codes of the classes the gate writes and removes.
GROUND, BUILDING = 2, 6
#: Classes that stand no higher than the ground they are (ground, road, water): the gate gives them 0 m.
FLAT = (2, 11, 9)


@dataclass(frozen=True)
class TrustCalibration:
    """What the gate needs: feature statistics of the training towns, thresholds and calibration.

    Attributes:
        mean: ``(D,)`` mean of the bottleneck features over the generated towns.
        precision: ``(D, D)`` inverse of their shrunk covariance.
        reference_distance: median Mahalanobis distance of the towns' own cells.
        max_distance: a cell whose features lie farther than this is untrusted.
        temperature: divides the class log-probabilities (> 1 makes the network less sure).
        height_std_scale: multiplies the predicted height standard deviation.
        tuned_on: the real region the thresholds and calibration were fitted on.
        min_building_share: share of a predicted building's cells that must be trusted to keep it.
        min_building_m2: smaller predicted buildings are dropped.
        facts: free-form numbers about the tuning (ECE before and after, ...).
    """

    mean: npt.NDArray[np.float32]
    precision: npt.NDArray[np.float32]
    reference_distance: float
    max_distance: float
    temperature: float = 1.0
    height_std_scale: float = 1.0
    tuned_on: str = ""
    min_building_share: float = 0.5
    min_building_m2: float = 10.0
    facts: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        """Write the calibration as an ``.npz`` (arrays) with a JSON header."""
        header = {k: v for k, v in self.__dict__.items() if k not in ("mean", "precision")}
        np.savez_compressed(path, mean=self.mean, precision=self.precision, header=np.array(json.dumps(header)))
        return path

    @classmethod
    def load(cls, path: Path) -> TrustCalibration:
        """Read a calibration written by :meth:`save`."""
        with np.load(path) as data:
            header = json.loads(str(data["header"]))
            return cls(mean=data["mean"].astype(np.float32), precision=data["precision"].astype(np.float32), **header)


def calibration_path(weights: Path) -> Path:
    """Where the calibration of a weights file lives."""
    return weights.with_name(weights.stem + TRUST_SUFFIX)


def bottleneck_features(model: nn.Module, image: npt.NDArray[np.float32], window: int = 256) -> npt.NDArray[np.float32]:
    """The network's bottleneck features over an image, in non-overlapping windows.

    Args:
        model: a :class:`reconstruction.models.CityNet` (``stem``, ``encoder``, ``bridge``).
        image: ``(C, H, W)`` network input.
        window: window side in pixels (a multiple of the network's ``size_multiple``).

    Returns:
        ``(D, ceil(H / m), ceil(W / m))`` float32 with ``m`` the network's ``size_multiple``.
    """
    m = int(getattr(model, "size_multiple", 16))
    _, h, w = image.shape
    hp, wp = -(-h // m) * m, -(-w // m) * m
    padded = np.pad(image, ((0, 0), (0, hp - h), (0, wp - w)), mode="reflect" if min(h, w) > 1 else "edge")
    device = next(model.parameters()).device
    stem, encoder, bridge = (getattr(model, name) for name in ("stem", "encoder", "bridge"))
    out: npt.NDArray[np.float32] | None = None
    with torch.inference_mode():
        for r in range(0, hp, window):
            for c in range(0, wp, window):
                x = torch.from_numpy(np.ascontiguousarray(padded[None, :, r : r + window, c : c + window])).to(device)
                y = stem(x)
                for stage in encoder:
                    y = stage(y)
                y = bridge(y)[0].float().cpu().numpy()
                if out is None:
                    out = np.zeros((y.shape[0], hp // m, wp // m), np.float32)
                out[:, r // m : r // m + y.shape[1], c // m : c // m + y.shape[2]] = y
    assert out is not None
    return out


def feature_distance(
    model: nn.Module, image: npt.NDArray[np.float32], calibration: TrustCalibration
) -> npt.NDArray[np.float32]:
    """``(H, W)`` Mahalanobis distance of each pixel's bottleneck features from the training towns'."""
    features = bottleneck_features(model, image)
    d, fh, fw = features.shape
    x = features.reshape(d, -1).T - calibration.mean
    distance = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", x, calibration.precision, x), 0.0)).reshape(fh, fw)
    m = int(getattr(model, "size_multiple", 16))
    full = np.kron(distance, np.ones((m, m), np.float32))
    return full[: image.shape[1], : image.shape[2]].astype(np.float32)


def temper(probabilities: npt.NDArray[np.float32], temperature: float) -> npt.NDArray[np.float32]:
    """Temperature-scaled probabilities: ``softmax(log(p) / T)`` (the logits up to a constant)."""
    logits = np.log(np.clip(probabilities, 1e-7, 1.0)) / temperature
    logits -= logits.max(axis=0, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=0, keepdims=True)).astype(np.float32)


def gate(prediction: Any, calibration: TrustCalibration, resolution_m: float) -> tuple[Any, TrustReport]:
    """Leave untrusted cells ground at 0 m and drop untrusted or tiny predicted buildings.

    Args:
        prediction: a :class:`reconstruction.prediction.predict.Prediction` with ``feature_distance``.
        calibration: the model's calibration.
        resolution_m: the grid's cell size.

    Returns:
        The gated prediction (``trust`` set to the report's dict) and the report.
    """
    valid = np.isfinite(prediction.height)
    distance = prediction.feature_distance
    trusted = valid & np.isfinite(distance) & (distance <= calibration.max_distance)
    cell_m2 = resolution_m * resolution_m
    predicted = valid & (prediction.asprs == BUILDING)
    parts, count = ndimage.label(predicted)
    if count:
        ids = np.arange(1, count + 1)
        share = ndimage.mean(trusted.astype(np.float64), parts, ids)
        cells = ndimage.sum(np.ones_like(trusted, np.float64), parts, ids)
        keep = np.r_[
            False, (share >= calibration.min_building_share) & (cells * cell_m2 >= calibration.min_building_m2)
        ]
        trusted = np.where(predicted, keep[parts], trusted)
    untrusted = valid & ~trusted
    asprs, height = prediction.asprs.copy(), prediction.height.copy()
    calibrated = getattr(prediction, "calibrated_confidence", None)
    confidence = (prediction.class_confidence if calibrated is None else calibrated).copy()
    asprs[untrusted], height[untrusted], confidence[untrusted] = GROUND, 0.0, 0.0
    height[valid & np.isin(asprs, FLAT)] = 0.0
    covered = max(int(valid.sum()), 1)
    finite = distance[valid & np.isfinite(distance)]
    report = TrustReport(
        shift_score=float(np.median(finite) / calibration.reference_distance) if finite.size else float("nan"),
        untrusted_share=float(untrusted.sum() / covered),
        untrusted_m2=float(untrusted.sum() * cell_m2),
        covered_m2=float(valid.sum() * cell_m2),
        removed_building_m2=float((predicted & untrusted).sum() * cell_m2),
        kept_building_m2=float((predicted & trusted).sum() * cell_m2),
        max_distance=calibration.max_distance,
        tuned_on=calibration.tuned_on,
    )
    gated = replace(prediction, asprs=asprs, height=height, class_confidence=confidence, trust=report.to_dict())
    return gated, report
