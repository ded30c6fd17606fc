"""Random fixed-size crops of training samples, with flips, 90-degree rotations and photometric jitter."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from reconstruction.errors import ConfigError, InputError
from reconstruction.training.bands import drop_nir, network_input
from reconstruction.training.samples import IGNORE, Sample

if TYPE_CHECKING:
    from reconstruction.training.config import AugmentConfig


class TileDataset(Dataset[dict[str, torch.Tensor]]):
    """``length`` random crops of ``tile x tile`` pixels drawn from a list of samples.

    Item ``i`` depends only on ``(seed, i)``: the sample (chosen with probability proportional to
    its area), the crop offset and the augmentation (one of the 8 flips/rotations) come from a
    generator seeded with both, so a training run can index crops by step and resume exactly.
    Samples smaller than the tile are padded with zeros (image), 255 (labels) and NaN (height).
    """

    def __init__(
        self,
        samples: list[Sample],
        tile: int,
        length: int,
        seed: int = 0,
        augment: bool = True,
        in_channels: int | None = None,
        nir_dropout: float = 0.0,
        imaging: AugmentConfig | None = None,
        resolution_m: float = 0.5,
    ) -> None:
        """Store the samples and crop parameters.

        Args:
            samples: at least one sample; all with the same channel count unless ``in_channels`` is given.
            tile: crop side in pixels.
            length: number of items.
            seed: base seed of every crop.
            augment: apply random flips, 90-degree rotations and :func:`photometric_jitter`.
            in_channels: the network's input channels; crops are turned into its bands with
                :func:`reconstruction.training.bands.network_input` (RGB and RGB+NIR samples may then
                be mixed). ``None`` returns the sample's bands as they are.
            nir_dropout: for ``in_channels = 5`` with augmentation, the probability that a crop's NIR
                band is dropped (NIR 0, flag 0), so one model learns both inputs.
            imaging: with augmentation, the imaging-realism changes to apply after the jitter
                (:func:`reconstruction.training.imaging.imaging_realism`); ``None`` applies none.
            resolution_m: cell size of the samples, metres (for the coarser ground sampling).

        Raises:
            ConfigError: ``tile`` or ``length`` is not positive, or ``nir_dropout`` is outside 0..1.
            InputError: no samples, or samples with different channel counts.
        """
        if tile < 1 or length < 1:
            raise ConfigError(f"tile and length must be positive, got {tile} and {length}")
        if not 0.0 <= nir_dropout <= 1.0:
            raise ConfigError(f"nir_dropout must be in 0..1, got {nir_dropout}")
        if not samples:
            raise InputError("TileDataset needs at least one sample; check the data section of the config")
        if in_channels is None and len({s.image.shape[0] for s in samples}) != 1:
            raise InputError("all samples must have the same number of image channels")
        self.samples, self.tile, self.length, self.seed, self.augment = samples, tile, length, seed, augment
        self.in_channels, self.nir_dropout = in_channels, nir_dropout
        self.imaging, self.resolution_m = imaging, resolution_m
        areas = np.array([s.labels.size for s in samples], dtype=np.float64)
        self._weights = areas / areas.sum()

    def __len__(self) -> int:
        """Number of crops."""
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Crop number ``index``.

        Returns:
            ``"image"``: ``(C, tile, tile)`` float32; ``"labels"``: ``(tile, tile)`` int64 (255 = ignore);
            ``"height"``: ``(tile, tile)`` float32 metres, NaN where unknown.
        """
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, index])
        sample = self.samples[int(rng.choice(len(self.samples), p=self._weights))]
        image, labels, height = _pad(sample, self.tile)
        h, w = labels.shape
        r, c = int(rng.integers(0, h - self.tile + 1)), int(rng.integers(0, w - self.tile + 1))
        window = (slice(r, r + self.tile), slice(c, c + self.tile))
        image, labels, height = image[(slice(None), *window)], labels[window], height[window]
        if self.augment:
            k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
            image, labels, height = (np.rot90(a, k, axes=(-2, -1)) for a in (image, labels, height))
            if flip:
                image, labels, height = (a[..., ::-1] for a in (image, labels, height))
            image = photometric_jitter(image, rng)
            if self.imaging is not None and self.imaging.enabled:
                from reconstruction.training.imaging import imaging_realism

                image = imaging_realism(image, rng, self.imaging, self.resolution_m)
            if self.in_channels == 5 and image.shape[0] > 3 and rng.random() < self.nir_dropout:
                image = drop_nir(image)
        if self.in_channels is not None:
            image = network_input(np.asarray(image, dtype=np.float32), self.in_channels)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)),
            "labels": torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)),
            "height": torch.from_numpy(np.ascontiguousarray(height, dtype=np.float32)),
        }


def photometric_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vary an image's radiometry the way real orthophotos vary between flights and sensors.

    Brightness x0.7..1.3, contrast x0.7..1.3 around the mean, saturation x0.5..1.5, a per-band gain of
    +-8 % (white balance), with probability 0.3 a 3x3 box blur (softer optics or resampling), and
    Gaussian noise of 0..0.03. Generated towns are too clean and too uniform; without this the
    network keys on their exact colours and fails on real photos.

    Args:
        image: ``(C, H, W)`` float image in 0..1 (bands after the third, e.g. NIR, get brightness,
            contrast, gain and noise but no saturation change).
        rng: the crop's generator (keeps items reproducible).

    Returns:
        A new float32 image clipped to 0..1.
    """
    from scipy.ndimage import uniform_filter

    out = np.asarray(image, dtype=np.float32).copy()
    out *= rng.uniform(0.7, 1.3)
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.7, 1.3) + mean
    if out.shape[0] >= 3:
        grey = out[:3].mean(axis=0, keepdims=True)
        out[:3] = grey + (out[:3] - grey) * rng.uniform(0.5, 1.5)
    out *= rng.uniform(0.92, 1.08, size=(out.shape[0], 1, 1)).astype(np.float32)
    if rng.random() < 0.3:
        out = uniform_filter(out, size=(1, 3, 3), mode="nearest")
    out += rng.normal(0.0, rng.uniform(0.0, 0.03), size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def _pad(sample: Sample, tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sample's rasters, padded at the bottom and right up to ``tile`` when smaller."""
    h, w = sample.labels.shape
    ph, pw = max(0, tile - h), max(0, tile - w)
    if not ph and not pw:
        return sample.image, sample.labels, sample.height
    return (
        np.pad(sample.image, ((0, 0), (0, ph), (0, pw))),
        np.pad(sample.labels, ((0, ph), (0, pw)), constant_values=IGNORE),
        np.pad(sample.height, ((0, ph), (0, pw)), constant_values=np.nan),
    )


def collate(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items into a batch: image ``(B, C, H, W)``, labels ``(B, H, W)``, height ``(B, H, W)``."""
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}
