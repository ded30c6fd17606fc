"""Roads, water and buildings of a LiDAR-only run on real Delft AHN3, against the official BGT map.

The numbers are ``bench.bench_delft``'s (docs/models.md); each bound is the measured value less a margin, so a
change that loses roads, water or buildings fails here.
"""

from pathlib import Path

import pytest

from bench import bench_delft


@pytest.fixture(scope="module")
def scores(shared_data: Path) -> bench_delft.DelftScores:
    """One LiDAR-only run of the two merged Delft tiles, scored (about 20 s)."""
    assert (bench_delft.DELFT / bench_delft.TILES[0]).is_file(), f"{bench_delft.DELFT} is incomplete"
    return bench_delft.measure()


def test_water_comes_from_the_water_returns_and_their_gaps(scores):
    # Measured: recall 0.79, precision 1.00 (0 and 0 when class 9 was ignored).
    assert scores.water.recall > 0.70
    assert scores.water.precision > 0.90


def test_roads_come_from_the_dark_ground_without_a_photograph(scores):
    # Measured: carriageways recall 0.31, precision 0.75; all traffic areas 0.18, 0.94; 88 % graded local.
    assert scores.carriageways.recall > 0.22
    assert scores.carriageways.precision > 0.60
    assert scores.traffic.precision > 0.80
    assert scores.local_share > 0.75


def test_published_buildings_match_the_map(scores):
    # Measured: IoU 0.835, completeness 0.955, correctness 0.869.
    assert scores.building_iou > 0.80
    assert scores.building_completeness > 0.92
    assert scores.building_correctness > 0.83
