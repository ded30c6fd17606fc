"""The generator's opt-in near-infrared band and seasons (reconstruction.synthetic.seasons, ortho)."""

from pathlib import Path

import numpy as np
import pytest
import rasterio

from reconstruction.errors import ConfigError
from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene, write_footprints, write_scene
from tests.reconstruction.synthetic.towns import scene_digest

GROUND, TREE, BUILDING, WATER, ROAD = 2, 5, 6, 9, 11

# SHA-256 of ortho, DSM, DTM and labels of SceneConfig(size_m=60, seed=3), recorded before the NIR band
# and the seasons existed: the default output must never change (tests, the demo and v1 rely on it).
DEFAULT_60M_SEED3 = "5c691882cc9d110cbe63351fefa17925d329544ed35fee8f107541fda679a3be"

# 120 m, seed 6: water, buildings, trees, roads and ground in one small town.
TOWN = SceneConfig(size_m=120.0, seed=6, nir=True)


def _per_ortho_pixel(scene: SyntheticScene) -> np.ndarray:
    """The label grid repeated onto the orthophoto grid."""
    k = scene.ortho.shape[1] // scene.labels.shape[0]
    return np.repeat(np.repeat(scene.labels, k, axis=0), k, axis=1)


@pytest.fixture(scope="module")
def seasons() -> dict[str, SyntheticScene]:
    """The same town, with NIR, in every season."""
    return {s: generate_scene(SceneConfig(size_m=120.0, seed=6, nir=True, season=s)) for s in SEASONS}


SEASONS = ("summer", "spring", "autumn", "winter")


def test_default_output_is_byte_identical_to_before_nir_and_seasons() -> None:
    assert scene_digest(generate_scene(SceneConfig(size_m=60.0, seed=3))) == DEFAULT_60M_SEED3


def test_nir_adds_a_fourth_band_and_leaves_rgb_unchanged(seasons: dict[str, SyntheticScene]) -> None:
    plain = generate_scene(SceneConfig(size_m=120.0, seed=6))
    with_nir = seasons["summer"]
    assert plain.ortho.shape[0] == 3 and with_nir.ortho.shape == (4, *plain.ortho.shape[1:])
    np.testing.assert_array_equal(with_nir.ortho[:3], plain.ortho)
    np.testing.assert_array_equal(with_nir.labels, plain.labels)


def test_nir_statistics_per_class(seasons: dict[str, SyntheticScene]) -> None:
    scene = seasons["summer"]
    labels = _per_ortho_pixel(scene)
    red, nir = scene.ortho[0].astype(np.float64), scene.ortho[3].astype(np.float64)
    mean = {c: nir[labels == c].mean() for c in (TREE, WATER, ROAD, BUILDING, GROUND)}
    ndvi = (nir - red) / np.maximum(nir + red, 1.0)
    # Vegetation is bright in NIR, water very dark, asphalt and roofs low to medium.
    assert mean[WATER] < 30
    assert mean[TREE] > 1.5 * mean[ROAD] and mean[TREE] > 4 * mean[WATER]
    assert mean[ROAD] < 90 and mean[WATER] < mean[ROAD] < mean[TREE]
    assert mean[BUILDING] < mean[TREE]
    assert np.median(ndvi[labels == TREE]) > 0.45
    assert np.median(ndvi[labels == ROAD]) < 0.05
    assert np.median(ndvi[labels == WATER]) < -0.3


def test_seasons_change_the_image_but_not_the_town(seasons: dict[str, SyntheticScene]) -> None:
    summer = seasons["summer"]
    for name in SEASONS[1:]:
        other = seasons[name]
        for field in ("dsm", "dtm", "labels"):
            np.testing.assert_array_equal(getattr(other, field), getattr(summer, field))
        assert [b["footprint"].wkt for b in other.buildings] == [b["footprint"].wkt for b in summer.buildings]
        assert not np.array_equal(other.ortho, summer.ortho)


def test_seasons_change_leaves_lawns_and_shadows(seasons: dict[str, SyntheticScene]) -> None:
    labels = _per_ortho_pixel(seasons["summer"])
    trees, ground = labels == TREE, labels == GROUND

    def band_means(name: str, mask: np.ndarray) -> np.ndarray:
        return seasons[name].ortho[:, mask].astype(np.float64).mean(axis=1)

    def ndvi(name: str) -> float:
        r, _, _, n = band_means(name, trees)
        return (n - r) / (n + r)

    # Leaves: green and NIR-bright in summer and spring, brown-orange in autumn, bare (low NDVI) in winter.
    assert ndvi("summer") > 0.45 and ndvi("spring") > 0.3
    assert ndvi("winter") < ndvi("autumn") < ndvi("spring") < ndvi("summer")
    assert ndvi("winter") < 0.15 < ndvi("spring")
    r, g, _, _ = band_means("autumn", trees)
    assert r > g
    r, g, _, _ = band_means("summer", trees)
    assert g > r
    # Leaf-off crowns show the ground: winter crown pixels vary much more than summer ones.
    assert seasons["winter"].ortho[1][trees].std() > 1.3 * seasons["summer"].ortho[1][trees].std()
    # Lawns dry and brown: less excess green on the ground in autumn and winter than in spring and summer.
    exg = {s: float(np.dot(band_means(s, ground)[:3], (-1.0, 2.0, -1.0))) for s in SEASONS}
    assert min(exg["summer"], exg["spring"]) > max(exg["autumn"], exg["winter"])
    # Lower sun, longer shadows: more of the (uniform grey) carriageway lies in shadow in winter, although
    # leaf-off crowns cast thinner shadows than summer ones.
    road = labels == ROAD
    dark = {s: float((seasons[s].ortho[:3, road].mean(axis=0) < 50).mean()) for s in ("summer", "winter")}
    assert dark["winter"] > 1.4 * dark["summer"] > 0  # (winter crowns alone, at the summer sun: 0.04)


def test_unknown_season_is_refused() -> None:
    with pytest.raises(ConfigError, match="season"):
        SceneConfig(season="monsoon")
    with pytest.raises(ConfigError, match="nir"):
        SceneConfig(nir=1)  # type: ignore[arg-type]


def test_written_nir_band_is_not_alpha_and_footprints_round_trip(tmp_path: Path) -> None:
    scene = generate_scene(SceneConfig(size_m=60.0, seed=3, nir=True, season="autumn"))
    paths = write_scene(scene, tmp_path)
    with rasterio.open(paths["ortho"]) as src:
        assert src.count == 4 and src.colorinterp[3] == rasterio.enums.ColorInterp.undefined
        np.testing.assert_array_equal(src.read(), scene.ortho)
        assert src.dataset_mask().min() == 255  # no band is read as transparency
    import geopandas as gpd

    frame = gpd.read_file(write_footprints(scene, tmp_path / "buildings.gpkg"))
    assert len(frame) == len(scene.buildings) and frame.crs.to_epsg() == 32631
    areas = sorted(round(g.area, 3) for g in frame.geometry)
    assert areas == sorted(round(b["footprint"].area, 3) for b in scene.buildings)
