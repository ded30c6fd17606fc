"""Roads (centre lines, width, grade, slope), water bodies and land use per block."""

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS
from rasterio.transform import rowcol

from reconstruction.io.grid import Grid
from reconstruction.objects import extract_roads, land_use_blocks, water_bodies
from reconstruction.objects.roads import grade_for
from reconstruction.synthetic import SceneConfig, generate_scene

RES = 0.5


def _grid(h: int, w: int) -> Grid:
    return Grid(CRS.from_epsg(32631), Affine(RES, 0, 500_000.0, 0, -RES, 5_000_000.0), w, h)


def test_a_straight_street_gives_one_segment_with_its_width_length_and_slope():
    labels = np.zeros((200, 200), bool)
    labels[80:100, 10:190] = True  # 10 m wide, 90 m long, west-east
    dtm = np.tile(np.arange(200, dtype=np.float32) * RES * 0.03, (200, 1))  # rises 3 % to the east
    (road,) = extract_roads(labels, dtm, _grid(200, 200))
    assert road.width_m == pytest.approx(10.0, abs=0.6)
    assert road.grade == "secondary" and road.slope_percent == pytest.approx(3.0, abs=0.2)
    assert 75 < road.length_m <= 90 and road.polygon.area == pytest.approx(road.width_m * road.length_m, rel=0.15)
    assert road.attributes["grade"] == "secondary" and road.attributes["road_id"] == 1


def test_grades_follow_documented_widths():
    assert [grade_for(w) for w in (6.0, 8.4, 8.5, 11.9, 12.0, 16.0)] == [
        "local",
        "local",
        "secondary",
        "secondary",
        "primary",
        "primary",
    ]


@pytest.mark.parametrize("seed", [3, 11, 21])
def test_generated_towns_streets_get_their_drawn_widths_and_grades(seed):
    # The generator draws local streets 6-8 m, collectors 9-11 m and main roads 13-16 m wide.
    scene = generate_scene(SceneConfig(size_m=200, seed=seed))
    labels = np.asarray(scene.labels)
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, labels.shape[1], labels.shape[0])
    roads = extract_roads(labels == 11, np.asarray(scene.dtm), grid)
    assert len(roads) >= 5
    bands = {"local": (5.5, 8.5), "secondary": (8.5, 11.6), "primary": (12.5, 16.6)}
    for road in roads:
        lo, hi = bands[road.grade]
        assert lo <= road.width_m <= hi, (road.grade, road.width_m)
        assert road.slope_percent is not None and road.slope_percent < 15
    # Centre lines run on the carriageway.
    points = [r.centreline.interpolate(f, normalized=True) for r in roads for f in np.linspace(0.1, 0.9, 9)]
    rows, cols = rowcol(grid.transform, [p.x for p in points], [p.y for p in points])
    on_road = labels[np.asarray(rows), np.asarray(cols)] == 11
    assert np.mean(on_road) > 0.95


def test_blocks_between_roads_get_their_land_use():
    labels = np.full((200, 200), 2, np.uint8)
    labels[95:105, :] = 11
    labels[:, 95:105] = 11  # a crossing: four blocks
    labels[10:80, 10:80] = 6  # north-west: buildings cover most of it
    labels[10:90, 120:190] = 3  # north-east: lawn
    labels[120:190, 10:90] = 9  # south-west: a pond
    labels[150:160, 150:160] = 6  # south-east: a few buildings on open ground
    blocks = {
        (b.polygon.centroid.x < 500_050, b.polygon.centroid.y > 4_999_950): b
        for b in land_use_blocks(labels, _grid(200, 200))
    }
    assert len(blocks) == 4
    assert blocks[(True, True)].land_use == "dense urban"
    assert blocks[(False, True)].land_use == "green space"
    assert blocks[(True, False)].land_use == "water"
    assert blocks[(False, False)].land_use == "open / paved"
    attrs = blocks[(True, True)].attributes
    assert attrs["land_use"] == "dense urban" and attrs["building_percent"] > 40 and attrs["area_m2"] > 1500
    (pond,) = water_bodies(labels, _grid(200, 200))
    assert pond.area == pytest.approx(70 * 80 * RES**2)
