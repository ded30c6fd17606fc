"""The trust gate on the real regions the project holds out (../shared/data): targets of issue 17, section 1."""

import pytest

from reconstruction.prediction.weights import load_weights
from reconstruction.training.real_regions import REGIONS, load_region
from reconstruction.training.trust_calibration import score_region
from tests.conftest import require

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def shipped():
    return load_weights("citynet-v1")


def _region(shared_data, name):
    laz, ortho = REGIONS[name]
    require(all((shared_data / p).is_file() for p in (laz, ortho) if p), f"{name}'s files are absent")
    return load_region(name, shared_data)


@pytest.mark.parametrize("name", ["montpellier", "ign_houses_874", "ign_houses_876", "neon_florida"])
def test_held_out_regions_meet_the_targets(shared_data, shipped, name):
    model, info = shipped
    assert info.trust.tuned_on not in ("montpellier", "ign_houses_874", "ign_houses_876", "neon_florida")
    scores = score_region(model, info, _region(shared_data, name))
    gated = scores["gated"]
    assert gated["mae"] < scores["zero_mae"]
    assert gated["precision"] is None or gated["precision"] >= 0.7


def test_the_tuning_region_loses_its_phantom_buildings_and_calibration_lowers_ece(shared_data, shipped):
    model, info = shipped
    scores = score_region(model, info, _region(shared_data, info.trust.tuned_on))
    raw, gated = scores["raw"], scores["gated"]
    assert raw["false_m2"] > 10_000  # the bare field, a 9 m "building" before the gate
    assert gated["false_m2"] < 50
    assert gated["mae"] < raw["mae"] / 10
    assert gated["ece"] < raw["ece"] - 0.05
