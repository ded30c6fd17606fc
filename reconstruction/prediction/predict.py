"""Land cover, height above ground and confidence from an orthophoto on the working grid.

The network only knows the ground sampling distance it was trained at (``WeightsInfo.gsd_m``):
the image is resampled to it (area averaging when shrinking, bilinear when enlarging), predicted
in blended overlapping windows (:func:`reconstruction.training.tiling.predict_tiled`), and the
outputs are resampled back onto the grid (probabilities and heights bilinearly), so any orthophoto
from 0.1 to 2 m per pixel works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from reconstruction.errors import InputError
from reconstruction.models import CLASSES
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
        height_std: ``(H, W)`` float32 predicted standard deviation of the height, metres.
    """

    asprs: npt.NDArray[np.uint8]
    height: npt.NDArray[np.float32]
    class_confidence: npt.NDArray[np.float32]
    height_std: npt.NDArray[np.float32]


def predict_area(
    model: nn.Module,
    info: WeightsInfo,
    rgb: npt.NDArray[np.uint8],
    resolution_m: float,
    valid: npt.NDArray[np.bool_] | None = None,
    device: str | None = None,
    on_progress: ProgressCallback = silent,
) -> Prediction:
    """Predict every cell of an orthophoto already resampled to the working grid.

    Args:
        model: the network of ``info`` (see :func:`reconstruction.prediction.load_weights`).
        info: its description (training GSD).
        rgb: ``(3, H, W)`` 8-bit colour on the working grid.
        resolution_m: the grid's cell size in metres.
        valid: ``(H, W)`` cells the orthophoto covers; default all.
        device: ``"cuda"`` or ``"cpu"``; default CUDA when available.
        on_progress: receives ``("predict", fraction, message)``.

    Raises:
        InputError: the resolution is outside :data:`GSD_RANGE_M` or the image is empty.
    """
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
    image = torch.from_numpy(rgb.astype(np.float32) / 255.0)[None]
    scale = resolution_m / info.gsd_m
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size != (h, w):
        mode = "area" if scale < 1 else "bilinear"
        image = F.interpolate(image, size=size, mode=mode, **({} if mode == "area" else {"align_corners": False}))
    out = predict_tiled(model, image[0].numpy(), device=device, on_progress=on_progress)
    maps = np.concatenate([out["probabilities"], out["height"][None], out["height_std"][None]])
    if size != (h, w):
        maps = F.interpolate(torch.from_numpy(maps)[None], size=(h, w), mode="bilinear", align_corners=False)[0].numpy()
    probabilities, height, height_std = maps[:-2], maps[-2], maps[-1]
    channel = probabilities.argmax(axis=0)
    codes = np.array([c.asprs for c in CLASSES], dtype=np.uint8)
    asprs = codes[channel]
    confidence = np.take_along_axis(probabilities, channel[None], axis=0)[0].astype(np.float32)
    height = np.maximum(height, 0.0).astype(np.float32)
    if valid is not None:
        asprs[~valid] = 0
        height[~valid] = np.nan
        confidence[~valid] = 0.0
    return Prediction(asprs, height, confidence, height_std.astype(np.float32))
