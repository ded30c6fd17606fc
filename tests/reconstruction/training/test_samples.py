"""Training samples: synthetic and LiDAR rasters are aligned; splits never share a region."""

import numpy as np
import pytest

from reconstruction.errors import ConfigError
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.training.dataset import photometric_jitter
from reconstruction.training.lidar import samples_from_area, samples_from_lidar
from reconstruction.training.samples import (
    IGNORE,
    Sample,
    rotated,
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


def test_area_sample_puts_the_real_orthophoto_on_the_lidar_grid(montpellier):
    (s,) = samples_from_area(montpellier / "ortho_rgb_20cm.tif", montpellier / "lidar_77055_627760.laz")
    (lidar,) = samples_from_lidar(montpellier / "lidar_77055_627760.laz", resolution=0.5)
    assert s.image.shape == (3, 100, 100) and s.region == "lidar_77055_627760"
    assert np.array_equal(s.labels[s.labels != IGNORE], lidar.labels[s.labels != IGNORE])
    # The photo, not the (all-zero) LiDAR colour: red tile roofs are redder than the vegetation.
    red_minus_green = s.image[0] - s.image[1]
    assert red_minus_green[s.labels == 2].mean() > red_minus_green[s.labels == 3].mean() + 0.1


def test_area_sample_refuses_an_orthophoto_elsewhere(montpellier, small_scene_files):
    with pytest.raises(Exception, match="overlap"):
        samples_from_area(small_scene_files["ortho"], montpellier / "lidar_77055_627760.laz")


def test_rotation_keeps_the_content_and_marks_the_new_corners():
    s = _scene_sample()
    r = rotated(s, 30.0)
    assert r.region == s.region and r.image.shape[1] > s.image.shape[1]
    uncovered = r.labels == IGNORE
    assert uncovered.any() and np.isnan(r.height[uncovered]).all()
    for channel in np.unique(s.labels):  # class shares survive the turn within a few per cent
        assert (r.labels == channel).sum() == pytest.approx((s.labels == channel).sum(), rel=0.05)
    assert np.nanmax(r.height) == pytest.approx(s.height.max(), rel=0.1)


def test_photometric_jitter_is_seeded_and_stays_in_range():
    image = _scene_sample().image
    a = photometric_jitter(image, np.random.default_rng(4))
    b = photometric_jitter(image, np.random.default_rng(4))
    assert np.array_equal(a, b) and a.shape == image.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0 and not np.allclose(a, image, atol=0.01)


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


def test_open_ground_reaches_the_training_towns():
    """``data.open_ground`` puts cars (ground, 1-1.65 m high) into training and validation towns alike."""
    from reconstruction.training.config import DataConfig
    from reconstruction.training.samples import load_data

    def car_cells(open_ground: bool) -> list[int]:
        cfg = DataConfig(train_scenes=(9,), val_scenes=(2,), open_ground=open_ground)
        return [
            int(((s.labels == 0) & (s.height > 0.8) & (s.height < 1.7)).sum())
            for samples in load_data(cfg)
            for s in samples
        ]

    assert car_cells(False) == [0, 0]
    assert min(car_cells(True)) > 100
    with pytest.raises(ConfigError, match="open_ground"):
        DataConfig(open_ground=1)
