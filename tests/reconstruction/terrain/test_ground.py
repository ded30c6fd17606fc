import numpy as np
import pytest
import rasterio

from reconstruction.config import GroundConfig
from reconstruction.errors import ConfigError
from reconstruction.terrain import dtm_from_ground_points, extract_dtm, fill_holes


def test_fill_holes_keeps_known_cells_and_bridges_gaps_smoothly():
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    plane = 100 + 0.1 * xx + 0.05 * yy
    known = np.ones_like(plane, dtype=bool)
    known[20:40, 10:50] = False
    filled = fill_holes(np.where(known, plane, np.nan).astype(np.float32), known)
    assert np.array_equal(filled[known], plane[known])
    assert np.abs(filled - plane).max() < 0.5  # a 20 x 40 hole on a plane, filled to within half a metre


def test_fill_holes_needs_a_known_cell():
    with pytest.raises(ValueError, match="at least one"):
        fill_holes(np.zeros((4, 4), np.float32), np.zeros((4, 4), bool))


def test_ground_filter_recovers_the_synthetic_terrain(small_scene):
    dtm, ground = extract_dtm(small_scene.dsm, 0.5, GroundConfig())
    error = np.abs(dtm - small_scene.dtm)
    buildings = small_scene.labels == 6
    assert np.median(error) < 0.1
    assert np.percentile(error, 95) < 1.0
    assert ground[buildings].mean() < 0.05  # roofs are not ground
    assert (dtm <= small_scene.dsm + 1e-3).all()


def test_ground_filter_matches_ign_dtm_on_montpellier(montpellier):
    with rasterio.open(montpellier / "dsm_50cm.tif") as src:
        dsm = src.read(1, masked=True).filled(np.nan).astype(np.float32)
    with rasterio.open(montpellier / "dtm_50cm.tif") as src:
        reference = src.read(1, masked=True).filled(np.nan)
    dtm, _ = extract_dtm(dsm, 0.5, GroundConfig())
    error = dtm - reference
    assert np.nanmean(np.abs(error)) < 0.4  # measured 0.21 m
    assert np.nanpercentile(np.abs(error), 95) < 1.5


def test_dtm_from_ground_points_stays_under_the_surface():
    ground = np.full((10, 10), np.nan, np.float32)
    ground[::3, ::3] = 50.0
    dsm = np.full((10, 10), 60.0, np.float32)
    dsm[5, 5] = 49.0
    dtm, mask = dtm_from_ground_points(ground, dsm)
    assert mask.sum() == 16
    assert dtm[5, 5] <= 49.0 and np.allclose(dtm[0, 0], 50.0)


def test_ground_config_is_checked():
    with pytest.raises(ConfigError):
        GroundConfig(slope=0)


def test_ground_filter_does_not_take_a_large_hall_roof_for_ground():
    # Seed 11 has a ~40 m wide industrial hall; with a 16 m window its roof became "ground" (MAE 0.68 m).
    from reconstruction.synthetic import SceneConfig, generate_scene

    scene = generate_scene(SceneConfig(size_m=160, seed=11))
    dtm, ground = extract_dtm(scene.dsm, 0.5, GroundConfig())
    assert np.abs(dtm - scene.dtm).mean() < 0.05  # measured 0.008 m with the 32 m default
    assert ground[scene.labels == 6].mean() < 0.01
