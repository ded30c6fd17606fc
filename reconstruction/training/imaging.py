"""Imaging realism for training crops: coarser ground sampling, JPEG artefacts and colour casts.

Generated towns are rendered at 0.25 m and averaged 2 x 2 onto the training grid (0.5 m), losslessly
and in one palette; real orthophotos come at 0.15-1 m and are resampled to that grid on upload, are
often JPEG-compressed, and differ in white balance, gamma and haze. Each change here is a small pure
function of ``(image, rng, ...)`` on a ``(C, H, W)`` float image in 0..1 that returns a new float32
image of the same shape, so labels and heights stay on the 0.5 m grid. :func:`imaging_realism`
applies the ones an :class:`~reconstruction.training.config.AugmentConfig` switches on.

Not simulated here: a source finer than the grid (a 0.15-0.5 m photo area-averaged to 0.5 m), which is
what the towns' 0.25 m render averaged to 0.5 m already is, and off-nadir lean (the project's real
regions are true orthophotos, so they could not measure it).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

if TYPE_CHECKING:
    from reconstruction.training.config import AugmentConfig

#: Per-band gain of a colour cast (white balance), drawn per band.
GAIN_RANGE = (0.85, 1.15)
#: Colour temperature shift: red x (1 + t), blue x (1 - t); t < 0 cool, t > 0 warm.
TEMPERATURE_RANGE = (-0.12, 0.12)
#: Gamma of the tone curve, ``out = image ** gamma``.
GAMMA_RANGE = (0.75, 1.35)
#: Haze: share of a pale blue-grey airlight blended over the image (lowers contrast).
HAZE_RANGE = (0.0, 0.25)
#: Airlight colour (R, G, B) of haze, before a +-10 % brightness change.
AIRLIGHT = (0.80, 0.84, 0.90)


def resample_gsd(
    image: np.ndarray,
    rng: np.random.Generator,
    resolution_m: float = 0.5,
    gsd_range_m: tuple[float, float] = (0.5, 1.0),
    at_source: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """The crop as an orthophoto of a coarser ground sampling, brought back to the training grid.

    A ground sampling ``g`` is drawn uniformly from ``gsd_range_m``; the crop is area-averaged down to
    ``g`` (every pixel counts: an antialiasing filter, not decimation) and enlarged back bilinearly,
    both with :func:`reconstruction.prediction.predict.resample_image`, the resampler that brings an
    upload to the network's grid.

    Args:
        image: ``(C, H, W)`` float image in 0..1 on a grid of ``resolution_m``.
        rng: the crop's generator.
        resolution_m: cell size of ``image``, metres.
        gsd_range_m: ``(low, high)`` ground sampling of the simulated source, metres, ``low >= resolution_m``.
        at_source: applied to the coarse image before it is enlarged (e.g. :func:`jpeg`: the file is compressed
            at its own sampling).

    Returns:
        A new float32 image of the same shape, clipped to 0..1.
    """
    from reconstruction.prediction.predict import resample_image

    lo, hi = gsd_range_m
    if not resolution_m <= lo <= hi:
        raise ValueError(f"gsd_range_m {gsd_range_m} must start at the grid's {resolution_m} m or coarser")
    gsd = float(rng.uniform(lo, hi))
    h, w = image.shape[-2:]
    small = (max(1, round(h * resolution_m / gsd)), max(1, round(w * resolution_m / gsd)))
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
    coarse = resample_image(tensor, small)
    if at_source is not None:
        coarse = torch.from_numpy(np.ascontiguousarray(at_source(coarse[0].numpy()), dtype=np.float32))[None]
    return np.clip(resample_image(coarse, (h, w))[0].numpy(), 0.0, 1.0).astype(np.float32)


def jpeg(image: np.ndarray, rng: np.random.Generator, quality_range: tuple[int, int] = (30, 90)) -> np.ndarray:
    """JPEG-encode and decode the crop with Pillow (libjpeg) at a random quality.

    The first three bands go through one colour JPEG (YCbCr, chroma subsampled 4:2:0 as Pillow does by
    default, so colour bleeds across edges); any further band (NIR) through a greyscale JPEG of the
    same quality. The image is rounded to 8 bits on the way, as a file would be.

    Args:
        image: ``(C, H, W)`` float image in 0..1.
        rng: the crop's generator.
        quality_range: ``(low, high)`` JPEG quality, drawn uniformly (inclusive), 1..95.

    Returns:
        A new float32 image of the same shape in 0..1.
    """
    quality = int(rng.integers(quality_range[0], quality_range[1] + 1))
    bytes_ = (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    out = np.empty(bytes_.shape, dtype=np.float32)
    start = 0
    if bytes_.shape[0] >= 3:
        out[:3] = _round_trip(np.moveaxis(bytes_[:3], 0, -1), "RGB", quality).transpose(2, 0, 1)
        start = 3
    for band in range(start, bytes_.shape[0]):
        out[band] = _round_trip(bytes_[band], "L", quality)
    return out / np.float32(255.0)


def _round_trip(pixels: np.ndarray, mode: str, quality: int) -> np.ndarray:
    """``pixels`` (uint8, H x W or H x W x 3) after a JPEG file of ``quality``, as float32 0..255."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert(mode), dtype=np.float32)


def colour_cast(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    gain_range: tuple[float, float] = GAIN_RANGE,
    temperature_range: tuple[float, float] = TEMPERATURE_RANGE,
    gamma_range: tuple[float, float] = GAMMA_RANGE,
    haze_range: tuple[float, float] = HAZE_RANGE,
) -> np.ndarray:
    """Another camera's white balance and tone, and the air between it and the ground.

    In order: per-band gains (``gain_range``, each band its own), a colour temperature shift (red x (1 + t),
    blue x (1 - t), ``t`` from ``temperature_range``), gamma (``out ** g``, ``g`` from ``gamma_range``) and
    haze (blend ``h`` of :data:`AIRLIGHT`, ``h`` from ``haze_range``). Only the first three bands change; a NIR
    band is left as it is. Pass ``(1, 1)``/``(0, 0)`` ranges to switch a step off.

    Args:
        image: ``(C, H, W)`` float image in 0..1 with at least three bands (R, G, B first).
        rng: the crop's generator.
        gain_range: per-band gain range.
        temperature_range: colour temperature shift range.
        gamma_range: gamma range.
        haze_range: haze share range.

    Returns:
        A new float32 image of the same shape, clipped to 0..1.
    """
    out = np.asarray(image, dtype=np.float32).copy()
    if out.shape[0] < 3:
        raise ValueError(f"colour_cast needs R, G, B bands, got {out.shape[0]} band(s)")
    rgb = out[:3]
    gains = rng.uniform(*gain_range, size=3)
    t = rng.uniform(*temperature_range)
    gains *= np.array([1.0 + t, 1.0, 1.0 - t])
    rgb *= gains.astype(np.float32)[:, None, None]
    np.clip(rgb, 0.0, 1.0, out=rgb)
    rgb **= np.float32(rng.uniform(*gamma_range))
    haze = np.float32(rng.uniform(*haze_range))
    airlight = np.asarray(AIRLIGHT, dtype=np.float32)[:, None, None] * np.float32(rng.uniform(0.9, 1.1))
    out[:3] = rgb * (1.0 - haze) + airlight * haze
    return np.clip(out, 0.0, 1.0)


def imaging_realism(
    image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, resolution_m: float = 0.5
) -> np.ndarray:
    """Apply the changes ``cfg`` switches on, each to a share ``cfg.probability`` of crops.

    Order: colour cast (the camera), then the file: with resampling, the crop is coarsened, JPEG-compressed
    at that sampling when JPEG also applies, and enlarged back; without, JPEG at the grid. With every
    switch off, the image itself is returned and ``rng`` is not drawn from.
    """
    if not cfg.enabled:
        return image
    if cfg.colour and rng.random() < cfg.probability:
        image = colour_cast(image, rng)
    compress = cfg.jpeg and rng.random() < cfg.probability
    if cfg.resample and rng.random() < cfg.probability:

        def at_source(coarse: np.ndarray) -> np.ndarray:
            return jpeg(coarse, rng, cfg.jpeg_quality) if compress else coarse

        return resample_gsd(image, rng, resolution_m, cfg.gsd_range_m, at_source)
    return jpeg(image, rng, cfg.jpeg_quality) if compress else image
