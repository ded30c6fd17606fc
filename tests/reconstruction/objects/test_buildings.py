import math

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from reconstruction.errors import ConfigError, InputError
from reconstruction.io import Grid
from reconstruction.objects import Building, BuildingConfig, extract_buildings
from reconstruction.pointcloud import rasterize_points
from reconstruction.synthetic import SceneConfig, generate_scene

GRID = Grid(CRS.from_epsg(2154), Affine(0.5, 0, 770000, 0, -0.5, 6277100), 200, 160)


def _scene_buildings(scene) -> list[Building]:
    height, width = scene.dsm.shape
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, width, height)
    ndsm = (scene.dsm - scene.dtm).astype(np.float32)
    return extract_buildings(scene.labels == 6, ndsm, scene.dtm, grid, BuildingConfig())


def _match(truth: dict, buildings: list[Building]) -> Building:
    (found,) = [b for b in buildings if b.footprint.contains(truth["footprint"].representative_point())]
    return found


def _blocks(*blocks: tuple[int, int, int, int, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mask, nDSM and DTM on GRID from (row0, row1, col0, col1, height) boxes drawn in order."""
    ndsm = np.zeros(GRID.shape, np.float32)
    for r0, r1, c0, c1, height in blocks:
        ndsm[r0:r1, c0:c1] = height
    dtm = np.full(GRID.shape, 42.0, np.float32)
    return ndsm > 0, ndsm, dtm


def test_synthetic_town_footprints_heights_and_roofs(small_scene):
    buildings = _scene_buildings(small_scene)
    assert [b.id for b in buildings] == list(range(1, len(buildings) + 1))
    truth = shapely.union_all([t["footprint"] for t in small_scene.buildings])
    found = shapely.union_all([b.footprint for b in buildings])
    iou = found.intersection(truth).area / found.union(truth).area
    assert iou > 0.85  # measured 0.963 (8 of 8 houses found)
    pitched = 0
    for t in small_scene.buildings:
        building = _match(t, buildings)
        attributes = building.attributes
        assert building.footprint.is_valid and len(building.parts) == 1
        assert attributes["building_type"] == "house"
        assert attributes["ridge_m"] == pytest.approx(t["ridge_height_m"], abs=1.0)  # measured <= 0.21 m
        assert abs(attributes["area_m2"] - t["footprint"].area) < 0.1 * t["footprint"].area
        if t["roof"] == "flat":
            assert attributes["height_m"] == pytest.approx(t["height_m"], abs=1.0)  # measured 0.00 m
            assert attributes["roof_type"] == "flat"
        else:
            pitched += attributes["roof_type"] == "pitched"
            assert t["height_m"] - 0.5 < attributes["eave_m"] < t["ridge_height_m"]
    assert pitched >= 0.8 * sum(t["roof"] == "gable" for t in small_scene.buildings)  # measured 7 of 7


@pytest.mark.parametrize("seed", [2, 9])
def test_halls_and_apartment_blocks_are_recognised(seed):
    scene = generate_scene(SceneConfig(size_m=160.0, seed=seed))
    buildings = _scene_buildings(scene)
    expected = {"hall": "commercial/industrial hall", "apartment": "apartment block", "house": "house"}
    kinds = {t["kind"] for t in scene.buildings}
    assert {"hall", "apartment"} <= kinds
    for t in scene.buildings:
        building = _match(t, buildings)
        assert building.attributes["building_type"] == expected[t["kind"]]
        if t["roof"] == "flat":
            assert building.attributes["height_m"] == pytest.approx(t["height_m"], abs=1.0)
            (part,) = building.parts
            assert part.height_m == pytest.approx(t["height_m"], abs=1.0)
            assert building.attributes["floors"] == max(1, round(t["height_m"] / 3.0))


def test_touching_buildings_of_different_heights_become_two_parts():
    mask, ndsm, dtm = _blocks((20, 60, 20, 60, 6.0), (20, 60, 60, 110, 15.0))  # 20 x 20 m and 25 x 20 m
    (building,) = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())
    low, high = sorted(building.parts, key=lambda p: p.height_m)
    assert (low.height_m, high.height_m) == (6.0, 15.0) and low.ground_m == high.ground_m == 42.0
    assert low.footprint.area == pytest.approx(400.0) and high.footprint.area == pytest.approx(500.0)
    shared = low.footprint.intersection(high.footprint)
    assert shared.area == 0 and shared.length == pytest.approx(20.0)  # a common wall, no overlap, no gap
    assert building.footprint.area == pytest.approx(900.0) and building.footprint.geom_type == "Polygon"


def test_a_small_step_or_a_small_roof_structure_does_not_split():
    mask, ndsm, dtm = _blocks((20, 60, 20, 60, 6.0), (20, 60, 60, 100, 8.0), (30, 34, 30, 34, 12.0))
    (building,) = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())
    assert len(building.parts) == 1  # 2 m step (< 3 m) and a 4 m2 chimney block (< 15 m2)


def test_courtyard_is_kept_and_small_holes_are_filled():
    mask, ndsm, dtm = _blocks((20, 80, 20, 100, 12.0))
    mask[35:65, 45:75] = False  # a 15 x 15 m courtyard
    mask[25:27, 25:27] = False  # a 1 m2 gap in the data
    (building,) = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())
    (courtyard,) = building.footprint.interiors
    assert shapely.Polygon(courtyard).area == pytest.approx(225.0)
    assert building.footprint.area == pytest.approx(40 * 30 - 225.0)
    assert building.attributes["perimeter_m"] == pytest.approx(2 * (40 + 30) + 4 * 15)
    (part,) = building.parts
    assert len(part.footprint.interiors) == 1


def test_speckles_are_dropped_and_ids_follow_reading_order():
    mask, ndsm, dtm = _blocks((100, 130, 10, 40, 5.0), (10, 30, 150, 180, 7.0), (60, 64, 60, 64, 4.0))
    mask[5, 5] = mask[140, 20:90] = True  # a lone cell and a one-cell-wide line
    ndsm[mask & (ndsm == 0)] = 3.0
    buildings = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())
    assert [(b.id, b.attributes["height_m"]) for b in buildings] == [(1, 7.0), (2, 5.0)]  # the 4 m2 block is too small


def test_building_type_rules_on_simple_blocks():
    mask, ndsm, dtm = _blocks(
        (2, 12, 2, 14, 2.5),  # 5 x 6 m shed
        (20, 60, 2, 42, 50.0),  # 20 x 20 m tower
        (70, 150, 2, 82, 8.0),  # 40 x 40 m flat hall
        (2, 26, 100, 196, 16.0),  # 48 x 12 m block of five storeys
        (60, 80, 120, 140, 6.0),  # 10 x 10 m house
    )
    by_height = {
        b.attributes["height_m"]: b.attributes for b in extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())
    }
    assert {h: a["building_type"] for h, a in by_height.items()} == {
        2.5: "annex",
        50.0: "high-rise",
        8.0: "commercial/industrial hall",
        16.0: "apartment block",
        6.0: "house",
    }
    assert by_height[16.0]["floors"] == 5 and by_height[6.0]["floors"] == 2
    assert all(a["roof_type"] == "flat" and a["ground_m"] == 42.0 for a in by_height.values())


def test_unknown_heights_are_tolerated():
    mask, ndsm, dtm = _blocks((20, 60, 20, 60, 9.0))
    ndsm[30:40, 30:40] = np.nan
    (building,) = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())
    assert building.attributes["height_m"] == 9.0 and building.parts[0].height_m == 9.0
    ndsm[mask] = np.nan
    assert extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig()) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"min_area_m2": -1.0}, {"height_jump_m": 0.0}, {"storey_height_m": math.nan}, {"simplify_m": "1"}],
)
def test_config_refuses_bad_values(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        BuildingConfig(**kwargs)


def test_rasters_must_match_the_grid():
    mask, ndsm, dtm = _blocks((20, 60, 20, 60, 9.0))
    with pytest.raises(InputError, match="nDSM has shape"):
        extract_buildings(mask, ndsm[:-1], dtm, GRID, BuildingConfig())


def test_montpellier_long_building(montpellier_lidar_grid):
    ndsm, dtm, grid, points = montpellier_lidar_grid
    mask = np.isfinite(rasterize_points(points.xyz[points.classification == 6], grid, "highest"))
    buildings = extract_buildings(mask, ndsm, dtm, grid, BuildingConfig())
    (long,) = [b for b in buildings if b.attributes["area_m2"] > 300]
    attributes = long.attributes
    # Measured: area 624.5 m2, height (p90) 7.25 m, eave (p25) 4.73 m, ridge (p99) 7.79 m, 2 floors, pitched,
    # ground 21.34 m; parts 572.8 m2 at 6.78 m plus two low annexes (25.4 m2 at 2.72 m, 26.4 m2 at 2.48 m).
    # The IGN nDSM puts this roof at 6-8 m, not 15-18 m: the 15-18 m returns north-east of it are trees (class 5).
    assert attributes["building_type"] == "apartment block"
    assert 6.5 < attributes["height_m"] < 8.0 and attributes["ridge_m"] < 9.0
    assert attributes["floors"] == 2 and attributes["roof_type"] == "pitched"
    assert 550 < attributes["area_m2"] < 700 and 20.5 < attributes["ground_m"] < 22.0
    corners = np.asarray(shapely.minimum_rotated_rectangle(long.footprint).exterior.coords)[:3]
    sides = sorted(np.hypot(*np.diff(corners, axis=0).T))
    assert sides[1] > 50 and sides[0] < 20  # measured 60.8 m x 15.6 m
    main = max(long.parts, key=lambda p: p.footprint.area)
    assert 6.3 < main.height_m < 7.3 and main.footprint.area > 500
    covered = sum(b.footprint.area for b in buildings)
    assert abs(covered - mask.sum() * 0.25) < 0.05 * mask.sum() * 0.25  # measured 665.5 m2 of 671.25 m2 of mask


def _cell_box(r0: int, r1: int, c0: int, c1: int) -> shapely.Polygon:
    t = GRID.transform
    return shapely.box(t.c + c0 * 0.5, t.f - r1 * 0.5, t.c + c1 * 0.5, t.f - r0 * 0.5)


def test_map_footprints_split_a_terrace_the_heights_cannot():
    # Three touching houses of the same height: one block from the mask alone, three with the map.
    mask, ndsm, dtm = _blocks((20, 60, 20, 50, 7.0), (20, 60, 50, 80, 7.0), (20, 60, 80, 110, 7.0))
    assert len(extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig())) == 1
    houses = [_cell_box(20, 60, c, c + 30) for c in (20, 50, 80)]
    demolished = _cell_box(100, 140, 150, 190)  # on the map, but the imagery sees no building there
    buildings = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig(), [*houses, demolished])
    assert len(buildings) == 3
    for house, building in zip(houses, buildings, strict=True):
        assert building.footprint.symmetric_difference(house).area < 1.0
        assert building.attributes["footprint_source"] == "map" and building.attributes["height_m"] == 7.0


def test_buildings_missing_from_the_map_are_still_found():
    mask, ndsm, dtm = _blocks((20, 60, 20, 60, 6.0), (100, 140, 100, 150, 12.0))
    buildings = extract_buildings(mask, ndsm, dtm, GRID, BuildingConfig(), [_cell_box(20, 60, 20, 60)])
    assert [b.attributes["footprint_source"] for b in buildings] == ["map", "image"]
    assert buildings[1].attributes["height_m"] == 12.0 and buildings[1].footprint.area == pytest.approx(500.0)
