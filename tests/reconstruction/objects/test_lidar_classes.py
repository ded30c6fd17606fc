"""A classified LiDAR's building and vegetation classes decide the cells; colour only where the file says nothing."""

import dataclasses
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from reconstruction.config import PipelineConfig, PredictionConfig, RulesConfig
from reconstruction.io import LidarInfo, LidarPoints
from reconstruction.io.grid import Grid
from reconstruction.objects import classify_by_rules, classify_with_lidar
from reconstruction.objects.rules import BUILDING, GROUND, HIGH_VEGETATION, LOW_VEGETATION, UNCLASSIFIED
from reconstruction.pointcloud import LidarShares, lidar_shares
from reconstruction.pointcloud.shares import rasterize_shares
from reconstruction.progress import silent
from reconstruction.stages.classify import run_classify
from reconstruction.stages.surfaces import Surfaces

GRID = Grid.covering(CRS.from_epsg(2154), (0.0, 0.0, 20.0, 20.0), 0.5)  # 40 x 40 cells
GREY, GREEN = (0.4, 0.4, 0.4, 0.1), (0.1, 0.5, 0.1, 0.6)  # R, G, B, NIR: NDVI -0.6 and 0.71


def _scene() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], slice, slice]:
    """A flat 10 m object on the left half (grey, like a roof), another on the right (grey too): only returns tell."""
    ndsm = np.zeros(GRID.shape, dtype=np.float32)
    left, right = np.s_[5:25, 4:16], np.s_[5:25, 24:36]
    ndsm[left] = ndsm[right] = 10.0
    image = np.empty((4, *GRID.shape), dtype=np.float32)
    image[:] = np.array(GREY, dtype=np.float32)[:, None, None]
    return ndsm, image, left, right


def _returns(ndsm: npt.NDArray[np.float32], classes: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Four returns per cell at the cell's height (x, y inside the cell), one class grid per return."""
    rows, cols = np.indices(GRID.shape)
    offsets = [(0.1, 0.1), (0.4, 0.1), (0.1, 0.4), (0.4, 0.4)]
    xyz = [
        np.column_stack([(cols.ravel() * 0.5 + dx), (20.0 - rows.ravel() * 0.5 - dy), ndsm.ravel().astype(float)])
        for dx, dy in offsets
    ]
    return np.concatenate(xyz)


def test_the_file_building_class_decides_where_colour_would_make_a_grey_crown_a_building() -> None:
    ndsm, image, left, right = _scene()
    by_colour = classify_by_rules(ndsm, image, GRID.resolution, RulesConfig())
    assert (by_colour[left] == BUILDING).all() and (by_colour[right] == BUILDING).all()  # colour cannot tell
    classes = np.full(GRID.shape, 2, dtype=np.uint8)
    classes[left], classes[right] = 6, 5  # the survey: a building on the left, a tree on the right
    xyz = _returns(ndsm, classes)
    shares = lidar_shares(
        xyz, np.tile(classes.ravel(), 4), np.zeros(GRID.shape, np.float32), GRID, RulesConfig(), {2, 5, 6}
    )
    assert shares.source == "classes"
    labels = classify_with_lidar(ndsm, image, GRID.resolution, RulesConfig(), shares)
    assert (labels[left] == BUILDING).all()
    assert (labels[right] == HIGH_VEGETATION).all()


def test_green_colour_does_not_unmake_a_building_the_file_classes_and_ground_follows_its_vegetation_classes() -> None:
    ndsm, image, left, _ = _scene()
    image[:, left[0], left[1]] = np.array(GREEN, dtype=np.float32)[:, None, None]  # a green roof
    image[:, 30:, :] = np.array(GREEN, dtype=np.float32)[:, None, None]  # a lawn the survey calls ground
    classes = np.full(GRID.shape, 2, dtype=np.uint8)
    classes[left] = 6
    classes[30:, :20] = 3  # low vegetation on the lawn's left half only
    xyz = _returns(ndsm, classes)
    shares = lidar_shares(
        xyz, np.tile(classes.ravel(), 4), np.zeros(GRID.shape, np.float32), GRID, RulesConfig(), {2, 3, 6}
    )
    labels = classify_with_lidar(ndsm, image, GRID.resolution, RulesConfig(), shares)
    assert (labels[left] == BUILDING).all()
    assert (labels[30:, :20] == LOW_VEGETATION).all()
    assert (labels[30:, 20:] == GROUND).all()


def test_a_chip_without_building_returns_in_a_file_that_has_them_gets_no_building_by_shape() -> None:
    ndsm, image, left, right = _scene()
    classes = np.full(GRID.shape, 2, dtype=np.uint8)
    classes[left] = classes[right] = 1  # flat, single-echo returns a shape test would call roofs
    xyz = _returns(ndsm, classes)
    cls = np.tile(classes.ravel(), 4)
    in_file = lidar_shares(xyz, cls, np.zeros(GRID.shape, np.float32), GRID, RulesConfig(), {1, 2, 6})
    labels = classify_with_lidar(ndsm, image, GRID.resolution, RulesConfig(), in_file)
    assert not (labels == BUILDING).any()
    assert (labels[left] == UNCLASSIFIED).all()  # the colour rules may say tree; grey says neither
    by_shape = lidar_shares(xyz, cls, np.zeros(GRID.shape, np.float32), GRID, RulesConfig(), {1, 2})
    assert by_shape.source == "shape"
    assert (classify_with_lidar(ndsm, image, GRID.resolution, RulesConfig(), by_shape)[left] == BUILDING).mean() > 0.9


def test_a_patch_whose_returns_echo_several_times_is_no_building() -> None:
    ndsm, image, left, right = _scene()
    building = np.zeros(GRID.shape, dtype=np.float32)
    building[left] = building[right] = 1.0
    echo = np.zeros(GRID.shape, dtype=np.float32)
    echo[right] = 0.8
    labels = classify_with_lidar(ndsm, image, GRID.resolution, RulesConfig(), LidarShares(building, echo=echo))
    assert (labels[left] == BUILDING).all()
    assert not (labels[right] == BUILDING).any()


def test_empty_cells_take_the_shares_of_the_nearest_cell_with_returns_up_to_the_fill_distance() -> None:
    xyz = np.array([[0.25, 19.75, 1.0], [0.3, 19.7, 1.0]])  # both in the top-left cell
    shares = rasterize_shares(xyz, [np.array([True, False])], GRID, fill_cells=2.0)[0]
    assert shares[0, 0] == 0.5
    assert shares[2, 0] == 0.5 and shares[1, 1] == 0.5  # within two cells
    assert np.isnan(shares[3, 0]) and np.isnan(shares[39, 39])


def test_the_classify_stage_lets_the_lidar_decide_and_warns_when_shape_found_the_buildings() -> None:
    ndsm, image, left, right = _scene()
    classes = np.full(GRID.shape, 2, dtype=np.uint8)
    classes[left], classes[right] = 6, 5
    xyz = _returns(ndsm, classes)
    cfg = dataclasses.replace(PipelineConfig(), prediction=PredictionConfig(refine_ground=False))
    for counts, expected in (({2: 1, 5: 1, 6: 1}, HIGH_VEGETATION), ({1: 1, 2: 1}, BUILDING)):
        cls = np.tile(classes.ravel(), 4) if 6 in counts else np.tile(np.where(classes == 2, 2, 1).ravel(), 4)
        points = LidarPoints(xyz=xyz, classification=cls.astype(np.uint8))
        info = LidarInfo(Path("survey.laz"), CRS.from_epsg(2154), (), len(xyz), (0, 0, 20, 20), (0, 10), counts)
        rgb = np.zeros((3, *GRID.shape), dtype=np.uint8)
        surfaces = Surfaces(GRID, ndsm, image, rgb, dtm=np.zeros(GRID.shape, dtype=np.float32))
        warnings: list[str] = []
        run_classify(surfaces, ndsm, cfg, silent, warnings, points, info)
        assert surfaces.labels is not None
        assert (surfaces.labels[left] == BUILDING).all()
        assert (surfaces.labels[right] == expected).all()  # flat single-echo returns: roofs by shape
        assert bool(warnings) == (6 not in counts) and all("no building class" in w for w in warnings)
