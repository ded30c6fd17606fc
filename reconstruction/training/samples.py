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
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from reconstruction.errors import ConfigError, InputError

if TYPE_CHECKING:
    from reconstruction.synthetic import SyntheticScene
    from reconstruction.training.config import DataConfig

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


def lookup_classes(codes: npt.NDArray[np.integer], table: dict[int, int]) -> npt.NDArray[np.int64]:
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
    labels = lookup_classes(scene.labels, ASPRS_TO_CHANNEL)
    return [Sample(image.astype(np.float32), labels, height, f"synthetic-{scene.config.seed}")]


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


def rotated(sample: Sample, angle_deg: float) -> Sample:
    """The sample turned by any angle about its centre (the canvas grows to keep every pixel).

    Generated towns are laid out along the axes; real streets are not, and flips and quarter turns
    cannot teach that. Image and height are interpolated bilinearly, labels by nearest neighbour;
    the corners the rotation uncovers get label 255 and height NaN (no supervision there).

    Args:
        sample: the sample to turn.
        angle_deg: counter-clockwise angle in degrees.

    Returns:
        A new sample with the same region (it is the same place, so splits keep it on the same side).
    """
    from scipy.ndimage import rotate

    def turn(a: np.ndarray, order: int, cval: float) -> np.ndarray:
        return rotate(a, angle_deg, axes=(-1, -2), reshape=True, order=order, mode="constant", cval=cval)

    inside = turn(np.ones(sample.labels.shape, dtype=np.float32), 0, 0.0) > 0.5
    labels = turn(sample.labels.astype(np.float32), 0, IGNORE).astype(np.int64)
    labels[~inside] = IGNORE
    known = turn(np.isfinite(sample.height).astype(np.float32), 1, 0.0) > 0.99
    height = turn(np.nan_to_num(sample.height, nan=0.0), 1, 0.0).astype(np.float32)
    height[~inside | ~known] = np.nan
    image = np.clip(turn(sample.image, 1, 0.0), 0.0, 1.0).astype(np.float32)
    return Sample(image, labels, height, sample.region)


def load_data(cfg: DataConfig) -> tuple[list[Sample], list[Sample]]:
    """Build the training and validation samples a :class:`DataConfig` names.

    Returns:
        ``(train, val)`` samples; no region appears in both.

    Raises:
        InputError: a LiDAR file is unreadable or unclassified.
    """
    from reconstruction.synthetic import SceneConfig, generate_scene

    def scenes(seeds: tuple[int, ...]) -> list[Sample]:
        out: list[Sample] = []
        for seed in seeds:
            for season in cfg.seasons:
                scene_cfg = SceneConfig(
                    size_m=cfg.scene_size_m,
                    gsd_m=cfg.resolution,
                    ortho_gsd_m=cfg.resolution / 2,
                    seed=seed,
                    nir=cfg.nir,
                    season=season,
                    open_ground=cfg.open_ground,
                    open_ground_uses=cfg.open_ground_uses,
                    big_trees=cfg.big_trees,
                    water=cfg.water,
                )
                out += samples_from_scene(generate_scene(scene_cfg))
        return out

    def with_rotations(samples: list[Sample]) -> list[Sample]:
        rng = np.random.default_rng(cfg.rotation_seed)
        return samples + [rotated(s, float(rng.uniform(5, 85))) for s in samples for _ in range(cfg.rotations)]

    from reconstruction.training.lidar import samples_from_lidar

    train, val = with_rotations(scenes(cfg.train_scenes)), scenes(cfg.val_scenes)
    for path in cfg.train_lidar:
        train += samples_from_lidar(path, cfg.resolution)
    for path in cfg.val_lidar:
        val += samples_from_lidar(path, cfg.resolution)
    for path in cfg.block_lidar:
        for sample in samples_from_lidar(path, cfg.resolution):
            west, east = split_blocks(sample, cfg.block_val_fraction, cfg.block_gap)
            train.append(west)
            val.append(east)
    if cfg.footprint_areas:
        from reconstruction.training.footprints import samples_from_footprints

        for ortho, footprints in cfg.footprint_areas:
            train += samples_from_footprints(ortho, footprints, cfg.resolution)
    if cfg.real_regions:
        from reconstruction.training.real_regions import load_region

        train += [load_region(name, resolution=cfg.resolution).sample for name in cfg.real_regions]
    return train, val
