"""Real regions as held-out truth and as training anchors: true orthophoto, heights, building truth."""

import numpy as np
import pytest

from reconstruction.errors import ConfigError
from reconstruction.training.config import DataConfig
from reconstruction.training.real_regions import REGIONS, load_region
from reconstruction.training.samples import IGNORE, load_data
from tests.conftest import require


def test_unknown_real_regions_are_refused_and_known_ones_are_a_training_source():
    with pytest.raises(ConfigError, match="no region.*nowhere"):
        DataConfig(real_regions=("nowhere",))
    assert DataConfig(train_scenes=(), real_regions=("neon_florida",)).real_regions == ("neon_florida",)


def _region(shared_data, name):
    laz, _ = REGIONS[name]
    require((shared_data / laz).is_file(), f"{laz} is absent")
    return load_region(name, shared_data)


def test_a_house_block_gets_its_ground_from_the_filter_and_its_buildings_from_height(shared_data):
    region = _region(shared_data, "ign_houses_876")
    sample = region.sample
    assert sample.image.shape[0] == 4  # RGB + NIR from the points
    assert region.building_from == "height > 2.5 m" and not region.has_classes
    assert (sample.labels == IGNORE).all()
    heights = sample.height[np.isfinite(sample.height)]
    assert np.median(heights) < 0.5 and heights.max() > 5.0  # mostly ground, roofs stand
    assert np.array_equal(region.building, np.nan_to_num(sample.height) > 2.5)


def test_neon_has_classes_and_no_building_and_its_pines_are_trees(shared_data):
    region = _region(shared_data, "neon_florida")
    assert region.has_classes and region.building_from == "class 6" and not region.building.any()
    tall = np.nan_to_num(region.sample.height) > 5
    assert (region.sample.labels[tall] == 3).mean() > 0.9  # class 5 high vegetation -> tree channel


def test_real_regions_join_the_training_samples(shared_data):
    _region(shared_data, "ign_houses_874")
    train, val = load_data(DataConfig(train_scenes=(), val_scenes=(), real_regions=("ign_houses_874",)))
    assert [s.region for s in train] == ["ign_houses_874"] and val == []
