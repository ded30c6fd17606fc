"""Training samples: synthetic and LiDAR rasters are aligned; splits never share a region."""

import numpy as np
import pytest

from reconstruction.errors import ConfigError
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.training.samples import (
    IGNORE,
    Sample,
    samples_from_lidar,
    samples_from_scene,
    split_blocks,
    split_regions,
)


def _scene_sample(seed: int = 3) -> Sample:
    return samples_from_scene(generate_scene(SceneConfig(size_m=60.0, gsd_m=0.5, ortho_gsd_m=0.25, seed=seed)))[0]


def test_synthetic_sample_is_aligned():
    s = _scene_sample()
    assert s.image.shape == (3, 120, 120) and s.image.dtype == np.float32
    assert 0.0 <= s.image.min() and s.image.max() <= 1.0
    assert s.labels.dtype == np.int64 and set(np.unique(s.labels)) <= {0, 1, 2, 3, 4, 5, IGNORE}
    assert np.isfinite(s.height).all() and s.height.min() >= 0.0
    assert s.region == "synthetic-3"
    tall = s.height > 2.0
    assert tall.any()
    assert np.isin(s.labels[tall], [2, 3]).mean() > 0.9  # tall things are buildings or trees


def test_lidar_sample_is_aligned(montpellier):
    (s,) = samples_from_lidar(montpellier / "lidar_77055_627760.laz", resolution=0.5)
    assert s.image.shape == (3, 100, 100)
    assert np.isfinite(s.image).all() and 0.0 <= s.image.min() and s.image.max() <= 1.0
    assert s.region == "lidar_77055_627760"
    building = s.labels == 2
    assert building.sum() > 500
    assert (s.height[building] > 2.0).mean() > 0.9  # building labels sit where nDSM > 2 m
    ground = s.labels == 0
    assert np.nanmedian(s.height[ground]) < 0.5
    # No points: ignored label and unknown height together.
    assert np.array_equal(np.isnan(s.height), np.isnan(s.height) & (s.labels == IGNORE))


def _fake(region: str) -> Sample:
    return Sample(np.zeros((3, 4, 4), np.float32), np.zeros((4, 4), np.int64), np.zeros((4, 4), np.float32), region)


def test_split_regions_is_disjoint_and_seeded():
    samples = [_fake(f"r{i}") for i in range(10) for _ in range(2)]
    train, val, test = split_regions(samples, val_fraction=0.2, test_fraction=0.1, seed=1)
    regions = [{s.region for s in part} for part in (train, val, test)]
    assert len(regions[1]) == 2 and len(regions[2]) == 1 and len(regions[0]) == 7
    assert not (regions[0] & regions[1]) and not (regions[0] & regions[2]) and not (regions[1] & regions[2])
    assert len(train) + len(val) + len(test) == len(samples)
    again = split_regions(samples, val_fraction=0.2, test_fraction=0.1, seed=1)
    assert [s.region for s in again[1]] == [s.region for s in val]
    with pytest.raises(ConfigError, match="split_blocks"):
        split_regions([_fake("only")], val_fraction=0.2)


def test_split_blocks_leaves_a_gap():
    s = _scene_sample()
    west, east = split_blocks(s, val_fraction=0.25, gap=16)
    assert west.labels.shape[1] + east.labels.shape[1] + 16 == s.labels.shape[1]
    assert np.array_equal(east.image, s.image[:, :, -east.labels.shape[1] :])
    assert west.region != east.region
