"""Tests of the procedural town generator (reconstruction.synthetic)."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio import features
from shapely.geometry import box

from reconstruction.errors import ConfigError
from reconstruction.synthetic import (
    SceneConfig,
    SyntheticScene,
    generate_scene,
    write_scene,
)

GROUND, TREE, BUILDING, WATER, ROAD = 2, 5, 6, 9, 11


@pytest.fixture(scope="module")
def scene() -> SyntheticScene:
    """The default 200 m scene (seed 0)."""
    return generate_scene(SceneConfig())


@pytest.fixture(scope="module")
def ndsm(scene: SyntheticScene) -> np.ndarray:
    """Heights above ground of the default scene, metres."""
    return scene.dsm.astype(np.float64) - scene.dtm


def test_same_seed_gives_identical_scene() -> None:
    """Two runs with one configuration give the same arrays and objects."""
    cfg = SceneConfig(size_m=80.0, seed=7)
    a, b = generate_scene(cfg), generate_scene(cfg)
    for name in ("ortho", "dsm", "dtm", "labels"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert [x["footprint"].wkt for x in a.buildings] == [x["footprint"].wkt for x in b.buildings]
    assert a.trees == b.trees


def test_different_seed_gives_different_scene() -> None:
    """Another seed gives another town."""
    a = generate_scene(SceneConfig(size_m=80.0, seed=1))
    b = generate_scene(SceneConfig(size_m=80.0, seed=2))
    assert not np.array_equal(a.dsm, b.dsm)
    assert not np.array_equal(a.ortho, b.ortho)


def test_shapes_transforms_and_crs(scene: SyntheticScene) -> None:
    """Grids have size / pixel pixels and the origin at their lower-left corner."""
    assert scene.dsm.shape == scene.dtm.shape == scene.labels.shape == (400, 400)
    assert scene.ortho.shape == (3, 800, 800)
    assert scene.dsm.dtype == scene.dtm.dtype == np.float32
    assert scene.ortho.dtype == scene.labels.dtype == np.uint8
    assert scene.crs == "EPSG:32631"
    for transform, n, res in ((scene.dsm_transform, 400, 0.5), (scene.ortho_transform, 800, 0.25)):
        assert transform.a == pytest.approx(res)
        assert transform.e == pytest.approx(-res)
        assert transform.b == transform.d == 0
        assert transform @ (0, n) == pytest.approx((574_000.0, 5_096_000.0))
        assert transform @ (n, 0) == pytest.approx((574_200.0, 5_096_200.0))


def test_shapes_follow_config() -> None:
    """Non-default sizes and pixel sizes give matching raster sizes."""
    cfg = SceneConfig(size_m=60.0, gsd_m=1.0, ortho_gsd_m=0.5, origin=(1000.0, 2000.0))
    small = generate_scene(cfg)
    assert small.dsm.shape == (60, 60)
    assert small.ortho.shape == (3, 120, 120)
    assert small.dsm_transform @ (0, 60) == pytest.approx((1000.0, 2000.0))


def test_terrain_is_gentle_and_starts_at_base_height(scene: SyntheticScene) -> None:
    """Bare earth stays within a few metres of the base height."""
    assert abs(float(scene.dtm[-1, 0]) - 170.0) < 1.5
    assert float(scene.dtm.max() - scene.dtm.min()) < 15.0


def test_dsm_never_below_dtm(scene: SyntheticScene, ndsm: np.ndarray) -> None:
    """Objects only add height."""
    assert (ndsm >= -1e-4).all()


def test_classes_present(scene: SyntheticScene) -> None:
    """The default scene shows ground, trees, buildings and roads, nothing else."""
    present = set(np.unique(scene.labels).tolist())
    assert {GROUND, TREE, BUILDING, ROAD} <= present
    assert present <= {GROUND, TREE, BUILDING, WATER, ROAD}


def test_building_heights_match_records(scene: SyntheticScene, ndsm: np.ndarray) -> None:
    """Inside a footprint nDSM lies between eave and ridge height, on building labels."""
    assert len(scene.buildings) >= 5
    assert {b["roof"] for b in scene.buildings} == {"flat", "gable"}
    shape = scene.dsm.shape
    for building in scene.buildings:
        mask = features.rasterize([(building["footprint"], 1)], out_shape=shape, transform=scene.dsm_transform).astype(
            bool
        )
        assert mask.any()
        heights = ndsm[mask]
        assert (scene.labels[mask] == BUILDING).all()
        assert heights.min() >= building["height_m"] - 1e-3
        assert heights.max() <= building["ridge_height_m"] + 1e-3
        if building["roof"] == "flat":
            assert heights.max() == pytest.approx(building["height_m"], abs=1e-3)
        else:
            assert heights.max() > building["height_m"] + 0.5
    assert (scene.labels == BUILDING).sum() == pytest.approx(
        sum(b["footprint"].area for b in scene.buildings) / 0.25, rel=0.05
    )


def test_buildings_do_not_overlap_and_stay_inside(scene: SyntheticScene) -> None:
    """Footprints are disjoint, valid and inside the scene."""
    extent = box(574_000.0, 5_096_000.0, 574_200.0, 5_096_200.0)
    footprints = [b["footprint"] for b in scene.buildings]
    assert [b["id"] for b in scene.buildings] == list(range(1, len(footprints) + 1))
    for i, a in enumerate(footprints):
        assert a.geom_type == "Polygon" and a.is_valid
        assert extent.contains(a)
        for b in footprints[i + 1 :]:
            assert a.intersection(b).area < 1e-6


def test_roads_are_bare(scene: SyntheticScene, ndsm: np.ndarray) -> None:
    """Nothing stands on road pixels and roads are a sizeable share of the scene."""
    road = scene.labels == ROAD
    assert road.mean() > 0.05
    assert np.abs(ndsm[road]).max() < 1e-3


def test_trees_are_raised_and_on_open_ground(scene: SyntheticScene, ndsm: np.ndarray) -> None:
    """Tree pixels stand above 2 m and every trunk sits on a tree pixel."""
    assert (ndsm[scene.labels == TREE] > 2.0).all()
    assert len(scene.trees) >= 10
    inverse = ~scene.dsm_transform
    for tree in scene.trees:
        assert 5.0 <= tree["height_m"] <= 20.0
        assert 3.0 <= tree["crown_diameter_m"] <= 10.0
        col, row = (int(c) for c in inverse @ (tree["x"], tree["y"]))
        assert scene.labels[row, col] == TREE


def test_water_is_flat_and_below_ground() -> None:
    """A scene with a river has water labels at the bare-earth (= water) surface."""
    river = next(
        s
        for s in (generate_scene(SceneConfig(size_m=120.0, seed=seed)) for seed in range(20))
        if (s.labels == WATER).any()
    )
    water = river.labels == WATER
    np.testing.assert_array_equal(river.dsm[water], river.dtm[water])


def test_ortho_colours_match_labels(scene: SyntheticScene) -> None:
    """Roads are dark grey, vegetation green, roofs differ from grass."""
    labels = np.repeat(np.repeat(scene.labels, 2, axis=0), 2, axis=1)
    rgb = scene.ortho.astype(np.float64)

    def mean(code: int) -> np.ndarray:
        return rgb[:, labels == code].mean(axis=1)

    road, grass, trees = mean(ROAD), mean(GROUND), mean(TREE)
    assert road.max() - road.min() < 15 and road.mean() < 120
    assert grass[1] > grass[2] and trees[1] > trees[0] and trees[1] > trees[2]
    assert trees.mean() < grass.mean()
    assert scene.ortho.std() > 20


def test_write_scene_round_trip(scene: SyntheticScene, tmp_path: Path) -> None:
    """GeoTIFFs keep CRS, transform, dtype, nodata and values."""
    paths = write_scene(scene, tmp_path / "out")
    assert set(paths) == {"ortho", "dsm", "dtm", "labels"}
    expected = {
        "ortho": (scene.ortho, scene.ortho_transform, None),
        "dsm": (scene.dsm[None], scene.dsm_transform, -9999.0),
        "dtm": (scene.dtm[None], scene.dsm_transform, -9999.0),
        "labels": (scene.labels[None], scene.dsm_transform, 0),
    }
    for name, (array, transform, nodata) in expected.items():
        assert paths[name] == tmp_path / "out" / f"{name}.tif"
        with rasterio.open(paths[name]) as src:
            assert src.crs.to_epsg() == 32631
            assert src.transform.almost_equals(transform)
            assert src.dtypes[0] == array.dtype.name
            assert src.nodata == nodata
            np.testing.assert_array_equal(src.read(), array)
            if name == "ortho":
                assert src.count == 3
                assert [c.name for c in src.colorinterp] == ["red", "green", "blue"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gsd_m": 0.0},
        {"size_m": 5.0},
        {"size_m": 30_000.0},
        {"gsd_m": 0.25, "ortho_gsd_m": 0.5},
        {"size_m": 100.3},
        {"size_m": 15.0, "gsd_m": 1.0},
        {"ortho_gsd_m": 0.3},
        {"seed": -1},
        {"epsg": 4326},
        {"size_m": float("nan")},
        {"origin": (0.0, float("inf"))},
    ],
)
def test_bad_config_raises(kwargs: dict) -> None:
    """Out-of-range or inconsistent values raise ConfigError with a message."""
    with pytest.raises(ConfigError) as err:
        SceneConfig(**kwargs)
    assert str(err.value)
