"""Land cover, height above ground and confidence from an orthophoto on the working grid.

The network only knows the ground sampling distance it was trained at (``WeightsInfo.gsd_m``):
the image is resampled to it (area averaging when shrinking, bilinear when enlarging), predicted
in blended overlapping windows (:func:`reconstruction.training.tiling.predict_tiled`), and the
outputs are resampled back onto the grid (probabilities and heights bilinearly), so any orthophoto
from 0.1 to 2 m per pixel works. A 4-band orthophoto's NIR band goes to the models that read one
(``WeightsInfo.model.in_channels``; see :mod:`reconstruction.training.bands`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from reconstruction.errors import InputError
from reconstruction.models import CLASSES
from reconstruction.prediction.trust import feature_distance, temper
from reconstruction.prediction.weights import WeightsInfo
from reconstruction.progress import ProgressCallback, silent

#: Working-grid resolutions a model is trusted at, metres.
GSD_RANGE_M = (0.1, 2.0)


@dataclass(frozen=True)
class Prediction:
    """The network's view of one area, on the working grid.

    Attributes:
        asprs: ``(H, W)`` uint8 ASPRS class code of the most likely class (0 where the image is missing).
        height: ``(H, W)`` float32 height above ground in metres (NaN where the image is missing).
        class_confidence: ``(H, W)`` float32 probability of the chosen class, 0..1.
        height_std: ``(H, W)`` float32 predicted standard deviation of the height, metres (scaled by the
            model's trust calibration when it has one).
        feature_distance: ``(H, W)`` distance of the cell's network features from the training towns' (see
            :mod:`reconstruction.prediction.trust`), or None for a model without a trust calibration.
        calibrated_confidence: ``class_confidence`` after temperature scaling, or None without a calibration.
        trust: what :func:`reconstruction.prediction.trust.gate` did (for the manifest), None before it ran.
    """

    asprs: npt.NDArray[np.uint8]
    height: npt.NDArray[np.float32]
    class_confidence: npt.NDArray[np.float32]
    height_std: npt.NDArray[np.float32]
    feature_distance: npt.NDArray[np.float32] | None = None
    calibrated_confidence: npt.NDArray[np.float32] | None = None
    trust: dict[str, Any] | None = None


def resample_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resample a ``(B, C, H, W)`` image to ``size`` the way an upload reaches the network's grid.

    Area averaging when shrinking (every source pixel counts, no aliasing), bilinear when enlarging;
    the image itself when ``size`` is already its size. Training reuses it to show the network a
    coarser orthophoto brought back to its grid (:func:`reconstruction.training.imaging.resample_gsd`).
    """
    if tuple(size) == tuple(image.shape[-2:]):
        return image
    if size[0] <= image.shape[-2] and size[1] <= image.shape[-1]:
        return F.interpolate(image, size=size, mode="area")
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def predict_area(
    model: nn.Module,
    info: WeightsInfo,
    rgb: npt.NDArray[np.uint8],
    resolution_m: float,
    valid: npt.NDArray[np.bool_] | None = None,
    device: str | None = None,
    on_progress: ProgressCallback = silent,
    *,
    nir: npt.NDArray[np.uint8] | None = None,
) -> Prediction:
    """Predict every cell of an orthophoto already resampled to the working grid.

    Args:
        model: the network of ``info`` (see :func:`reconstruction.prediction.load_weights`).
        info: its description (training GSD, input channels).
        rgb: ``(3, H, W)`` 8-bit colour on the working grid.
        resolution_m: the grid's cell size in metres.
        valid: ``(H, W)`` cells the orthophoto covers; default all.
        device: ``"cuda"`` or ``"cpu"``; default CUDA when available.
        on_progress: receives ``("predict", fraction, message)``.
        nir: ``(H, W)`` 8-bit near-infrared band of a 4-band orthophoto, or ``None``. A model with a
            NIR input uses it (a 5-channel model is told whether it is there); an RGB model ignores it.

    Raises:
        InputError: the resolution is outside :data:`GSD_RANGE_M`, the image is empty, or the model
            needs a NIR band the orthophoto lacks.
    """
    from reconstruction.training.bands import network_input
    from reconstruction.training.tiling import predict_tiled

    lo, hi = GSD_RANGE_M
    if not lo <= resolution_m <= hi:
        raise InputError(
            f"the model works on orthophotos of {lo} to {hi} m per pixel; this grid is {resolution_m} m. "
            "Resample the orthophoto, or choose a working resolution in that range."
        )
    if rgb.ndim != 3 or rgb.shape[0] != 3 or min(rgb.shape[1:]) < 1:
        raise InputError(f"predict_area expects a (3, H, W) image, got {rgb.shape}")
    h, w = rgb.shape[1:]
    if nir is not None and nir.shape != (h, w):
        raise InputError(f"the NIR band {nir.shape} does not match the RGB image {(h, w)}")
    bands = rgb if nir is None else np.concatenate([rgb, nir[None]])
    image = torch.from_numpy(network_input(bands.astype(np.float32) / 255.0, info.model.in_channels))[None]
    scale = resolution_m / info.gsd_m
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    image = resample_image(image, size)
    out = predict_tiled(model, image[0].numpy(), device=device, on_progress=on_progress)
    trust = info.trust
    extra = [] if trust is None else [feature_distance(model, image[0].numpy(), trust)[None]]
    maps = np.concatenate([out["probabilities"], out["height"][None], out["height_std"][None], *extra])
    if size != (h, w):
        maps = F.interpolate(torch.from_numpy(maps)[None], size=(h, w), mode="bilinear", align_corners=False)[0].numpy()
    n = len(CLASSES)
    probabilities, height, height_std = maps[:n], maps[n], maps[n + 1]
    channel = probabilities.argmax(axis=0)
    codes = np.array([c.asprs for c in CLASSES], dtype=np.uint8)
    asprs = codes[channel]
    confidence = np.take_along_axis(probabilities, channel[None], axis=0)[0].astype(np.float32)
    height = np.maximum(height, 0.0).astype(np.float32)
    distance = calibrated = None
    if trust is not None:
        distance = maps[n + 2].astype(np.float32)
        calibrated = temper(probabilities, trust.temperature).max(axis=0)
        height_std = height_std * trust.height_std_scale
    if valid is not None:
        asprs[~valid] = 0
        height[~valid] = np.nan
        confidence[~valid] = 0.0
        if calibrated is not None:
            calibrated[~valid] = 0.0
    return Prediction(asprs, height, confidence, height_std.astype(np.float32), distance, calibrated)
