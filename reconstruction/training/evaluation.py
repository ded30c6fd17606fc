"""Scoring a trained network, or a non-learning baseline, on held-out samples.

Both go through :class:`reconstruction.metrics.RasterScores`, so the numbers in one comparison table
are computed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from torch import nn

from reconstruction.errors import InputError
from reconstruction.metrics import RasterScores
from reconstruction.training.samples import Sample

#: A predictor: ``(C, H, W)`` image in 0..1 -> ``(class channels (H, W), heights (H, W) in metres)``.
Predictor = Callable[[npt.NDArray[np.float32]], tuple[npt.NDArray[np.integer], npt.NDArray[np.float32]]]


def evaluate(model: nn.Module, samples: list[Sample], tile: int = 256, device: str | None = None) -> dict[str, Any]:
    """Score a network on held-out samples, predicting each whole sample with tiled inference.

    Args:
        model: a network returning ``{"logits", "height", "height_logvar"}``.
        samples: held-out samples (labels 255 and NaN heights are left out of the scores); RGB or
            RGB+NIR images, given to the network as its input layout needs (see
            :func:`reconstruction.training.bands.network_input`).
        tile: inference window in pixels.
        device: see :func:`reconstruction.training.tiling.predict_tiled`.

    Returns:
        The :meth:`RasterScores.report` dict plus ``"regions"``.
    """
    from reconstruction.training.bands import network_input
    from reconstruction.training.tiling import predict_tiled

    channels = int(getattr(model, "in_channels", 3))

    def predict(image: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.float32]]:
        bands = network_input(image, channels)
        pred = predict_tiled(model, bands, tile=tile, overlap=min(64, tile // 4), device=device)
        return pred["probabilities"].argmax(axis=0), pred["height"]

    return evaluate_predictor(predict, samples)


def evaluate_predictor(predict: Predictor, samples: list[Sample]) -> dict[str, Any]:
    """Score any predictor (a network's wrapper or a baseline) on held-out samples.

    Raises:
        InputError: no samples.
    """
    from reconstruction.models import CLASSES

    if not samples:
        raise InputError("evaluate needs at least one sample")
    names = [c.name for c in CLASSES]
    scores = RasterScores(names, building=names.index("building"))
    for sample in samples:
        classes, height = predict(sample.image)
        scores.add(sample.labels, classes, sample.height, height)
    return scores.report() | {"regions": [s.region for s in samples]}


def colour_baseline(image: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.float32]]:
    """The non-learning baseline: colour thresholds for land cover, flat ground for height.

    Vegetation where the excess-green index ``2G - R - B`` exceeds 0.05 (Woebbecke et al. 1995),
    split into trees (darker, value < 0.35) and low vegetation; water where blue dominates and the
    pixel is dark; everything else ground/impervious. Height is 0 m everywhere: without a model,
    one image says nothing about height.
    """
    from reconstruction.models import CLASSES

    index = {c.name: i for i, c in enumerate(CLASSES)}
    r, g, b = (np.asarray(image[i], dtype=np.float32) for i in range(3))
    value = np.max(image[:3], axis=0)
    classes = np.full(r.shape, index["ground"], dtype=np.int64)
    green = (2 * g - r - b) > 0.05
    classes[green & (value < 0.35)] = index["tree"]
    classes[green & (value >= 0.35)] = index["low_vegetation"]
    classes[(b > r + 0.05) & (b > g) & (value < 0.4)] = index["water"]
    return classes, np.zeros(r.shape, dtype=np.float32)
