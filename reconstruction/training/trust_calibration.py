"""Fit a model's trust calibration (:mod:`reconstruction.prediction.trust`) and score the gate on real regions.

:func:`town_statistics` measures the network's bottleneck features on generated training towns;
:func:`fit_calibration` fits the temperature, the height-spread scale and the feature-distance threshold on ONE
real region (:mod:`reconstruction.training.real_regions`); :func:`score_region` scores the model on a region
before and after the gate, with the all-zero prediction beside it, as the pipeline would run it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from torch import nn

from reconstruction.metrics import RasterScores
from reconstruction.metrics.calibration import building_area_scores, reliability
from reconstruction.prediction.trust import TrustCalibration, bottleneck_features, gate, temper
from reconstruction.training.real_regions import RealRegion
from reconstruction.training.samples import IGNORE

#: Candidate temperatures for the class probabilities.
TEMPERATURES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
#: Building precision by area the threshold is tuned for.
TARGET_PRECISION = 0.7


def town_statistics(model: nn.Module, in_channels: int, seeds: range, shrinkage: float = 0.1) -> dict[str, Any]:
    """Mean, inverse shrunk covariance and median distance of the bottleneck features over generated towns.

    Args:
        model: the network.
        in_channels: its input channels (see :func:`reconstruction.training.bands.network_input`).
        seeds: generated towns (100 m, 0.5 m cells, the training look) to measure.
        shrinkage: weight of the scaled identity mixed into the covariance (keeps it invertible).
    """
    from reconstruction.synthetic import SceneConfig, generate_scene
    from reconstruction.training.bands import network_input
    from reconstruction.training.samples import samples_from_scene

    rows = []
    for seed in seeds:
        scene = generate_scene(SceneConfig(size_m=100.0, gsd_m=0.5, ortho_gsd_m=0.25, seed=seed))
        image = network_input(samples_from_scene(scene)[0].image, in_channels)
        features = bottleneck_features(model, image)
        rows.append(features.reshape(features.shape[0], -1).T)
    x = np.concatenate(rows).astype(np.float64)
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False)
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / len(mean) * np.eye(len(mean))
    precision = np.linalg.inv(cov)
    centred = x - mean
    distance = np.sqrt(np.einsum("ij,jk,ik->i", centred, precision, centred))
    return {
        "mean": mean.astype(np.float32),
        "precision": precision.astype(np.float32),
        "reference_distance": float(np.median(distance)),
        "towns": f"seeds {seeds.start}-{seeds.stop - 1}",
    }


def predict_region(model: nn.Module, info: Any, region: RealRegion) -> Any:
    """The pipeline's prediction (:func:`reconstruction.prediction.predict.predict_area`) on a region's cells."""
    from reconstruction.prediction.predict import predict_area

    image = np.clip(np.rint(region.sample.image * 255), 0, 255).astype(np.uint8)
    nir = image[3] if image.shape[0] > 3 else None
    valid = np.isfinite(region.sample.height)
    return predict_area(model, info, image[:3], 0.5, valid, device="cpu", nir=nir)


def _probabilities(model: nn.Module, info: Any, region: RealRegion) -> npt.NDArray[np.float32]:
    from reconstruction.training.bands import network_input
    from reconstruction.training.tiling import predict_tiled

    image = network_input(region.sample.image, info.model.in_channels)
    return predict_tiled(model, image, device="cpu")["probabilities"]


def fit_calibration(model: nn.Module, info: Any, region: RealRegion, stats: dict[str, Any]) -> TrustCalibration:
    """Fit temperature, height-spread scale and the feature-distance threshold on ONE real region.

    The temperature minimises the negative log-likelihood of the region's LiDAR classes; the scale makes the
    mean absolute height error ``sqrt(2 / pi)`` times the mean standard deviation (a Gaussian's); the threshold
    is the largest distance (among the region's percentiles) at which the gated buildings reach
    :data:`TARGET_PRECISION` by area, or none is left (a region without buildings).

    Raises:
        ValueError: the region has no class truth (the temperature needs it).
    """
    labels = region.sample.labels
    known = labels != IGNORE
    if not known.any():
        raise ValueError(f"{region.name} has no class truth to fit a temperature on")
    probabilities = _probabilities(model, info, region)
    truth = np.where(known, labels, 0)

    def nll(t: float) -> float:
        p = np.take_along_axis(temper(probabilities, t), truth[None], axis=0)[0]
        return float(-np.log(np.clip(p[known], 1e-7, 1.0)).mean())

    temperature = min(TEMPERATURES, key=nll)
    calibration = TrustCalibration(
        mean=stats["mean"],
        precision=stats["precision"],
        reference_distance=stats["reference_distance"],
        max_distance=math.inf,
        temperature=float(temperature),
        tuned_on=region.name,
    )
    raw = predict_region(model, replace(info, trust=calibration), region)
    heights = region.sample.height
    measured = np.isfinite(heights) & np.isfinite(raw.height)
    error = float(np.abs(raw.height - heights)[measured].mean())
    scale = error / (math.sqrt(2 / math.pi) * float(raw.height_std[measured].mean()))
    assert raw.feature_distance is not None
    candidates = np.percentile(raw.feature_distance[measured], np.arange(99, 0, -1))
    chosen = float(candidates[-1])
    for threshold in candidates:
        trial = replace(calibration, max_distance=float(threshold))
        gated, _ = gate(raw, trial, 0.5)
        area = building_area_scores(gated.asprs == 6, region.building, 0.25, measured)
        if area.precision is None or area.precision >= TARGET_PRECISION:
            chosen = float(threshold)
            break
    calibrated = temper(probabilities, temperature)
    correct = calibrated.argmax(axis=0) == labels
    facts = {
        "ece_before": reliability(probabilities.max(axis=0)[known], correct[known]).ece,
        "ece_after": reliability(calibrated.max(axis=0)[known], correct[known]).ece,
        "towns": stats.get("towns", ""),
    }
    return replace(calibration, max_distance=chosen, height_std_scale=float(scale), facts=facts)


def score_region(model: nn.Module, info: Any, region: RealRegion) -> dict[str, Any]:
    """Scores of the model on a region, ungated and gated, with the all-zero prediction's height MAE.

    Returns:
        ``region``, ``building_from``, ``zero_mae``, and for ``raw`` and ``gated``: ``mae``, ``precision``,
        ``recall``, ``false_m2``, ``miou`` (None without class truth), ``ece`` (of the raw confidence for ``raw``,
        of the temperature-scaled one for ``gated``, both on the network's own classes); plus ``shift_score``
        and ``untrusted_share`` of the gate.
    """
    from reconstruction.models import CLASSES

    prediction = predict_region(model, info, region)
    heights, labels = region.sample.height, region.sample.labels
    measured = np.isfinite(heights)
    known = (labels != IGNORE) & measured
    lookup = np.zeros(256, np.int64)  # ASPRS code -> class channel (unknown codes: ground)
    for i, c in enumerate(CLASSES):
        lookup[c.asprs] = i
    out: dict[str, Any] = {
        "region": region.name,
        "building_from": region.building_from,
        "zero_mae": float(np.abs(heights[measured]).mean()),
    }
    gated, report = gate(prediction, info.trust, 0.5) if info.trust is not None else (prediction, None)
    names = [c.name for c in CLASSES]
    for name, p in (("raw", prediction), ("gated", gated)):
        classes = lookup[p.asprs]
        area = building_area_scores(p.asprs == 6, region.building, 0.25, measured)
        row = {"mae": float(np.abs(p.height - heights)[measured].mean()), "miou": None, "ece": None}
        row |= {"precision": area.precision, "recall": area.recall, "false_m2": area.false_m2}
        if known.any():
            scores = RasterScores(names, building=2)
            scores.add(np.where(known, labels, IGNORE), classes, heights, p.height)
            row["miou"] = scores.report()["miou"]
        out[name] = row
    if known.any():  # calibration of the class confidence, on the network's own classes
        classes = lookup[prediction.asprs]
        correct = (classes == labels)[known]
        out["raw"]["ece"] = reliability(prediction.class_confidence[known], correct).ece
        if prediction.calibrated_confidence is not None:
            out["gated"]["ece"] = reliability(prediction.calibrated_confidence[known], correct).ece
    if report is not None:
        out |= {"shift_score": report.shift_score, "untrusted_share": report.untrusted_share}
    return out
