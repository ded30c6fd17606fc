"""Buildings from unclassified LiDAR returns (roofs by shape and echoes), on a generated town and on Montpellier.

Thresholds are the scores measured when the test was written minus a margin (docs/models.md has the table).
"""

from pathlib import Path

import laspy
import numpy as np
import numpy.typing as npt
import pytest
from pyproj import CRS

from reconstruction.config import RulesConfig
from reconstruction.io.grid import Grid
from reconstruction.objects import classify_with_lidar
from reconstruction.objects.rules import BUILDING
from reconstruction.pointcloud import lidar_shares, rasterize_points, roof_returns
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.terrain import dtm_from_ground_points

GROUND, UNCLASSIFIED = 2, 1


def _scores(truth: npt.NDArray[np.bool_], found: npt.NDArray[np.bool_]) -> tuple[float, float]:
    hit = np.count_nonzero(truth & found)
    return hit / max(1, np.count_nonzero(found)), hit / max(1, np.count_nonzero(truth))


def _buildings(
    xyz: npt.NDArray[np.float64], classes: npt.NDArray[np.uint8], echo: npt.NDArray[np.bool_] | None, grid: Grid
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Building cells as the pipeline finds them (terrain from the class-2 returns, no colour), and the known cells."""
    dsm = rasterize_points(xyz, grid, keep="highest")
    dtm, _ = dtm_from_ground_points(rasterize_points(xyz[classes == GROUND], grid, keep="lowest"), dsm)
    ndsm = np.where(np.isfinite(dsm), np.maximum(dsm - dtm, 0), np.nan).astype(np.float32)
    shares = lidar_shares(xyz, classes, dtm, grid, RulesConfig(), set(np.unique(classes).tolist()), echo)
    image = np.zeros((3, *grid.shape), dtype=np.float32)  # no colour: only the returns can tell
    labels = classify_with_lidar(ndsm, image, grid.resolution, RulesConfig(), shares)
    return np.asarray(labels == BUILDING), np.isfinite(ndsm)


def _town_lidar(
    density: float, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8], npt.NDArray[np.bool_], Grid, npt.NDArray[np.bool_]]:
    """Returns over a generated town: single echoes on roofs and ground, several through the crowns."""
    scene = generate_scene(SceneConfig(size_m=120.0, seed=seed))
    rng = np.random.default_rng(seed)
    size, gsd = scene.config.size_m, scene.config.gsd_m
    x0, y0 = scene.config.origin
    n = round(density * size * size)
    x, y = x0 + rng.uniform(0, size, n), y0 + rng.uniform(0, size, n)
    row = np.clip(((y0 + size - y) / gsd).astype(int), 0, scene.dsm.shape[0] - 1)
    col = np.clip(((x - x0) / gsd).astype(int), 0, scene.dsm.shape[1] - 1)
    label, top, ground = scene.labels[row, col], scene.dsm[row, col], scene.dtm[row, col]
    tree = label == 5
    # A pulse entering a crown returns from its top down to the ground: positions spread through the crown.
    depth = np.where(rng.random(n) < 0.25, 1.0, rng.uniform(0.0, 0.6, n))
    z = np.where(tree, top - depth * (top - ground), top) + rng.normal(0, 0.03, n)
    on_ground = (~tree & np.isin(label, (2, 9, 11))) | (tree & (depth == 1.0))
    classes = np.where(on_ground, GROUND, UNCLASSIFIED).astype(np.uint8)
    grid = Grid.covering(CRS.from_epsg(scene.config.epsg), (x0, y0, x0 + size, y0 + size), gsd)
    truth = scene.labels == BUILDING
    return np.column_stack([x, y, z]), classes, tree, grid, truth


def test_roofs_by_shape_find_the_buildings_of_a_generated_town_and_leave_its_trees() -> None:
    xyz, classes, echo, grid, truth = _town_lidar(density=16.0, seed=4)
    found, known = _buildings(xyz, classes, echo, grid)
    precision, recall = _scores(truth[known], found[known])
    assert precision > 0.95 and recall > 0.9  # measured 1.00 and 0.96


def test_a_flat_cloud_is_all_roof_and_a_scattered_one_none() -> None:
    rng = np.random.default_rng(0)
    plane = np.column_stack([rng.uniform(0, 20, 2000), rng.uniform(0, 20, 2000), rng.normal(10, 0.02, 2000)])
    crown = np.column_stack([rng.uniform(0, 6, 2000), rng.uniform(0, 6, 2000), rng.uniform(4, 10, 2000)])
    assert roof_returns(plane, RulesConfig()).mean() > 0.99
    assert roof_returns(crown, RulesConfig()).mean() < 0.05  # measured 0.018
    single = np.zeros(len(plane), dtype=bool)
    assert not roof_returns(plane, RulesConfig(), multiple_echo=~single).any()  # echoing everywhere: leaves
    assert not roof_returns(plane, RulesConfig(), ndvi=np.full(len(plane), 0.6, np.float32)).any()  # and green


@pytest.fixture(scope="module")
def montpellier_reset(montpellier: Path) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Montpellier's building cells from its own classes and, classes 3-6 reset to 1, by shape; the known cells."""
    las = laspy.read(montpellier / "lidar_77055_627760.laz")
    xyz = np.column_stack([las.x, las.y, las.z]).astype(np.float64)
    classes = np.asarray(las.classification, dtype=np.uint8)
    echo = np.asarray(las.number_of_returns) > 1
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    grid = Grid.covering(CRS.from_epsg(2154), (lo[0], lo[1], hi[0], hi[1]), 0.5)
    truth, known = _buildings(xyz, classes, echo, grid)
    reset = np.where(np.isin(classes, (3, 4, 5, 6)), UNCLASSIFIED, classes).astype(np.uint8)
    found, _ = _buildings(xyz, reset, echo, grid)
    return truth, found, known


def test_montpellier_with_its_classes_reset_finds_its_buildings_again(
    montpellier_reset: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]],
) -> None:
    truth, found, known = montpellier_reset
    assert truth[known].mean() > 0.2  # the block is a third building: the reference is not empty
    precision, recall = _scores(truth[known], found[known])
    assert recall > 0.9 and precision > 0.7  # measured 0.97 and 0.77: its gardens' trees are the misses
