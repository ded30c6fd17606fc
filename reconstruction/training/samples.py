"""Training samples: aligned image, class and height rasters from synthetic scenes or classified LiDAR.

A :class:`Sample` is one co-registered tile of a *region* (a synthetic seed, a LiDAR file, or a
block of one). Splits are made by region, never by cropping one tile into train and validation
parts, so validation scores measure generalisation to unseen ground.

LiDAR supervision (:func:`samples_from_lidar`) maps ASPRS codes to :data:`LIDAR_TO_CHANNEL`:
2 ground, 11 road, 6 building, 4/5 medium/high vegetation -> tree, 3 low vegetation, 9 water.
Class 17 (bridge deck) is *ignored* (255): a deck is neither the ground under it nor reliably a
road, and IGN LiDAR HD uses it for rail and footbridges too. Class 1 (unclassified) and every
other code (7 noise, 64+ custom, ...) are ignored as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from reconstruction.errors import ConfigError, InputError

if TYPE_CHECKING:
    from reconstruction.synthetic import SyntheticScene

F32 = npt.NDArray[np.float32]

#: Label value of cells without supervision.
IGNORE = 255

#: CityNet class channel of each ASPRS code in synthetic scenes (see ``models.CLASSES``).
ASPRS_TO_CHANNEL: dict[int, int] = {2: 0, 11: 1, 6: 2, 5: 3, 3: 4, 9: 5}

#: CityNet class channel of each ASPRS code in real LiDAR; codes not listed (1, 7, 17, ...) are ignored.
LIDAR_TO_CHANNEL: dict[int, int] = {**ASPRS_TO_CHANNEL, 4: 3}


@dataclass(frozen=True)
class Sample:
    """One aligned training tile.

    Attributes:
        image: ``(C, H, W)`` float32 image scaled to 0..1.
        labels: ``(H, W)`` int64 class channel (see ``models.CLASSES``) or 255 (ignore).
        height: ``(H, W)`` float32 height above ground (nDSM) in metres, NaN where unknown.
        region: name of the area the tile comes from; splits never share a region.
    """

    image: F32
    labels: npt.NDArray[np.int64]
    height: F32
    region: str

    def __post_init__(self) -> None:
        """Check that the rasters share one grid.

        Raises:
            InputError: shapes disagree.
        """
        if self.image.ndim != 3 or self.labels.shape != self.image.shape[1:] or self.height.shape != self.labels.shape:
            raise InputError(
                f"sample {self.region!r}: image {self.image.shape}, labels {self.labels.shape} and height "
                f"{self.height.shape} must share one (H, W) grid"
            )


def _lookup(codes: npt.NDArray[np.integer], table: dict[int, int]) -> npt.NDArray[np.int64]:
    """Map codes 0..255 through ``table``; unknown codes become :data:`IGNORE`."""
    lut = np.full(256, IGNORE, dtype=np.int64)
    for code, channel in table.items():
        lut[code] = channel
    return lut[np.asarray(codes, dtype=np.int64) & 0xFF]


def samples_from_scene(scene: SyntheticScene) -> list[Sample]:
    """Turn a synthetic scene into one sample on its DSM grid.

    Args:
        scene: a :class:`reconstruction.synthetic.SyntheticScene`; its orthophoto is averaged down
            to the DSM grid (the ortho pixel size must divide the DSM pixel size).

    Returns:
        One :class:`Sample`, region ``"synthetic-<seed>"``.

    Raises:
        InputError: the orthophoto does not tile the DSM grid.
    """
    ortho = np.asarray(scene.ortho)
    dsm = np.asarray(scene.dsm, dtype=np.float32)
    h, w = dsm.shape
    if ortho.shape[1] % h or ortho.shape[2] % w or ortho.shape[1] // h != ortho.shape[2] // w:
        raise InputError(f"orthophoto {ortho.shape[1:]} is not an integer multiple of the DSM grid {dsm.shape}")
    k = ortho.shape[1] // h
    image = ortho.astype(np.float32).reshape(ortho.shape[0], h, k, w, k).mean(axis=(2, 4)) / 255.0
    height = np.maximum(dsm - np.asarray(scene.dtm, dtype=np.float32), 0.0).astype(np.float32)
    labels = _lookup(scene.labels, ASPRS_TO_CHANNEL)
    return [Sample(image.astype(np.float32), labels, height, f"synthetic-{scene.config.seed}")]


def samples_from_lidar(laz_path: Path, resolution: float = 0.5) -> list[Sample]:
    """Rasterise a classified LAS/LAZ file into one sample.

    Cells are ``resolution`` metres on the file's own CRS, covering its header bounds. Per cell:
    image = mean point colour (16-bit LAS colours scaled to 0..1; files without colour, or with
    all-zero colour, get the 1st-99th percentile stretched intensity in all three bands);
    DSM = highest point; DTM = lowest ground (class 2) point, gaps filled by push-pull
    interpolation; height = DSM - DTM clipped at 0; label = class of the highest point, mapped by
    :data:`LIDAR_TO_CHANNEL`. Cells without points get label 255 and height NaN; their image
    values are interpolated from neighbouring cells.

    Args:
        laz_path: classified LAS or LAZ file in a projected CRS (metres).
        resolution: cell size in metres.

    Returns:
        One :class:`Sample`, region = the file name without extension.

    Raises:
        ConfigError: ``resolution`` is not positive.
        InputError: the file cannot be read, or has no ground (class 2) points.
    """
    import laspy

    from reconstruction.terrain import fill_holes

    if not resolution > 0:
        raise ConfigError(f"resolution must be positive metres, got {resolution}")
    try:
        las = laspy.read(str(laz_path))
    except (OSError, laspy.LaspyException) as err:
        raise InputError(f"cannot read LiDAR file {laz_path}: {err}") from err
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (las.x, las.y, las.z))
    cls = np.asarray(las.classification, dtype=np.int64)
    if not (cls == 2).any():
        raise InputError(f"{laz_path} has no ground (class 2) points; classify it first")
    left, top = np.floor(x.min() / resolution) * resolution, np.ceil(y.max() / resolution) * resolution
    w = max(1, int(np.ceil(round((x.max() - left) / resolution, 6))))
    h = max(1, int(np.ceil(round((top - y.min()) / resolution, 6))))
    col = np.clip(((x - left) / resolution).astype(np.int64), 0, w - 1)
    row = np.clip(((top - y) / resolution).astype(np.int64), 0, h - 1)
    idx = row * w + col
    n = h * w

    count = np.bincount(idx, minlength=n)
    hit = count > 0
    colour = _point_colour(las)
    image = np.empty((3, h, w), dtype=np.float32)
    for band in range(3):
        mean = np.bincount(idx, weights=colour[band], minlength=n) / np.maximum(count, 1)
        image[band] = fill_holes(mean.reshape(h, w).astype(np.float32), hit.reshape(h, w))

    order = np.argsort(z, kind="stable")  # highest point written last
    dsm = np.full(n, np.nan, dtype=np.float32)
    dsm[idx[order]] = z[order]
    top_class = np.full(n, 1, dtype=np.int64)
    top_class[idx[order]] = cls[order]
    ground = cls == 2
    gorder = np.argsort(-z[ground], kind="stable")  # lowest ground point written last
    dtm = np.full(n, np.nan, dtype=np.float32)
    dtm[idx[ground][gorder]] = z[ground][gorder]
    dtm_grid = fill_holes(dtm.reshape(h, w), np.isfinite(dtm).reshape(h, w))

    height = np.maximum(dsm.reshape(h, w) - dtm_grid, 0.0).astype(np.float32)  # NaN stays NaN
    labels = _lookup(top_class, LIDAR_TO_CHANNEL).reshape(h, w)
    labels[~hit.reshape(h, w)] = IGNORE
    return [Sample(np.clip(image, 0.0, 1.0), labels, height, Path(laz_path).stem)]


def _point_colour(las: object) -> npt.NDArray[np.float64]:
    """``(3, N)`` colour of every point in 0..1 (RGB, or stretched intensity when colour is missing)."""
    names = set(las.point_format.dimension_names)  # type: ignore[attr-defined]
    if {"red", "green", "blue"} <= names:
        rgb = np.stack([np.asarray(getattr(las, c), dtype=np.float64) for c in ("red", "green", "blue")])
        peak = rgb.max(initial=0.0)
        if peak > 0:
            return rgb / (255.0 if peak <= 255 else 65535.0)
    intensity = np.asarray(las.intensity, dtype=np.float64)  # type: ignore[attr-defined]
    lo, hi = np.percentile(intensity, [1, 99]) if intensity.size else (0.0, 1.0)
    grey = np.clip((intensity - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.stack([grey, grey, grey])


def split_regions(
    samples: list[Sample], val_fraction: float = 0.2, test_fraction: float = 0.0, seed: int = 0
) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """Split samples into train, validation and test sets that share no region.

    Regions (not samples) are shuffled with ``seed``; each non-zero fraction gets at least one
    region, and training keeps at least one.

    Args:
        samples: samples from any number of regions.
        val_fraction: share of regions for validation, 0..1.
        test_fraction: share of regions for testing, 0..1.
        seed: shuffle seed.

    Returns:
        ``(train, val, test)`` lists of samples.

    Raises:
        ConfigError: fractions out of range, or too few regions for the requested splits
            (use :func:`split_blocks` to split one large region).
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(f"val_fraction {val_fraction} and test_fraction {test_fraction} must be >= 0, sum < 1")
    regions = sorted({s.region for s in samples})
    rng = np.random.default_rng(seed)
    rng.shuffle(regions)
    n_val = max(1, round(val_fraction * len(regions))) if val_fraction > 0 else 0
    n_test = max(1, round(test_fraction * len(regions))) if test_fraction > 0 else 0
    if n_val + n_test >= len(regions):
        raise ConfigError(
            f"{len(regions)} region(s) cannot give {n_val} validation and {n_test} test region(s) plus training; "
            "add regions or split one large region with split_blocks"
        )
    val, test = set(regions[:n_val]), set(regions[n_val : n_val + n_test])
    return (
        [s for s in samples if s.region not in val | test],
        [s for s in samples if s.region in val],
        [s for s in samples if s.region in test],
    )


def split_blocks(sample: Sample, val_fraction: float = 0.25, gap: int = 16) -> tuple[Sample, Sample]:
    """Split one large sample into a western training block and an eastern validation block.

    The two blocks are separated by ``gap`` dropped columns so that no training crop touches a
    validation pixel (crops and receptive fields stay on their own side when ``gap`` is at least
    the network's receptive radius). Regions become ``"<region>/west"`` and ``"<region>/east"``.

    Args:
        sample: the sample to split.
        val_fraction: share of the remaining columns given to the eastern block, 0..1.
        gap: columns dropped between the blocks.

    Returns:
        ``(train, val)`` samples.

    Raises:
        ConfigError: the fraction is out of range or the sample is too narrow.
    """
    w = sample.labels.shape[1]
    if not 0 < val_fraction < 1 or gap < 0:
        raise ConfigError(f"val_fraction must be in (0, 1) and gap >= 0, got {val_fraction} and {gap}")
    n_val = round((w - gap) * val_fraction)
    n_train = w - gap - n_val
    if n_val < 1 or n_train < 1:
        raise ConfigError(f"sample {sample.region!r} ({w} columns) is too narrow for a {gap}-column gap")

    def cut(lo: int, hi: int, name: str) -> Sample:
        return Sample(
            sample.image[:, :, lo:hi].copy(),
            sample.labels[:, lo:hi].copy(),
            sample.height[:, lo:hi].copy(),
            f"{sample.region}/{name}",
        )

    return cut(0, n_train, "west"), cut(w - n_val, w, "east")
