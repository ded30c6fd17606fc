"""Water from a LiDAR's water class and its gaps; paved ground from dark ground returns (no photograph needed)."""

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from reconstruction.io.grid import Grid
from reconstruction.objects import paved_cells, water_cells
from reconstruction.objects.lidar_ground import otsu_threshold

GRID = Grid.covering(CRS.from_epsg(28992), (0.0, 0.0, 20.0, 20.0), 0.5)  # 40 x 40 cells


def _returns(mask: npt.NDArray[np.bool_], per_cell: int = 4) -> npt.NDArray[np.float64]:
    """``per_cell`` returns in each cell of ``mask`` (x, y inside the cell, z = 0)."""
    rows, cols = np.nonzero(mask)
    offsets = np.linspace(0.05, 0.45, per_cell)
    return np.concatenate(
        [np.column_stack([cols * 0.5 + d, 20.0 - rows * 0.5 - d, np.zeros(len(rows))]) for d in offsets]
    )


def test_a_canal_is_its_water_returns_and_the_gap_around_them():
    canal = np.zeros(GRID.shape, bool)
    canal[:, 10:20] = True  # a 5 m wide canal, north to south
    hole = np.zeros(GRID.shape, bool)
    hole[5:9, 30:34] = True  # a gap with no water return beside it (a glass roof, an occlusion)
    glints = np.zeros(GRID.shape, bool)
    glints[18:21, 14:16] = True  # the few returns calm water gives back
    land = ~canal & ~hole
    xyz = np.concatenate([_returns(land), _returns(glints)])
    classes = np.concatenate([np.full(4 * land.sum(), 2), np.full(4 * glints.sum(), 9)]).astype(np.uint8)
    water = water_cells(xyz, classes, GRID, {2, 9})
    assert water is not None
    assert water[canal].all(), "the gap connected to the water returns is the same water"
    assert not water[land].any() and not water[hole].any(), "a gap touching no water return stays unknown"
    assert water_cells(xyz, classes, GRID, {2}) is None, "a file without a water class says nothing"


def test_dark_ground_is_paved_and_bright_ground_is_not():
    rng = np.random.default_rng(0)
    street = np.zeros(GRID.shape, bool)
    street[15:25, :] = True  # a 5 m wide street across grass
    xyz = _returns(np.ones(GRID.shape, bool))
    cells = np.nonzero(np.ones(GRID.shape, bool))
    on_street = np.tile(street[cells], 4)
    # Speckled returns: one return alone overlaps the other surface, the mean over a window does not.
    intensity = np.where(on_street, rng.normal(120, 40, len(xyz)), rng.normal(240, 40, len(xyz)))
    classes = np.full(len(xyz), 2, np.uint8)
    classes[::7] = 1  # non-ground returns do not count
    paved = paved_cells(xyz, classes, np.clip(intensity, 0, None).astype(np.uint16), GRID)
    assert paved is not None
    inner = np.zeros(GRID.shape, bool)
    inner[2:-2, 2:-2] = True  # the window's edge effects aside
    assert (paved & street & inner).sum() / (street & inner).sum() > 0.95
    assert (paved & ~street & inner).sum() / (~street & inner).sum() < 0.05
    assert paved_cells(xyz, classes, None, GRID) is None, "a file without intensity says nothing"


def test_otsu_splits_two_modes_between_them_whatever_the_scale():
    values = np.concatenate([np.full(100, 10.0), np.full(300, 50.0)])
    assert 10 <= otsu_threshold(values) < 50
    assert 1000 <= otsu_threshold(values * 100) < 5000
    assert otsu_threshold(np.full(5, 3.0)) == 3.0
