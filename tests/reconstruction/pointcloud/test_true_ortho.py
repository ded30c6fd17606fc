"""A true orthophoto from the points' colours, and the drapes for points without colour."""

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS

from reconstruction.io import Grid, LidarPoints
from reconstruction.pointcloud.drape import class_drape, hillshade, relief_drape
from reconstruction.pointcloud.true_ortho import colour_state, fill_sampling_gaps, sampling_gaps, true_orthophoto

GRID = Grid(CRS.from_epsg(32631), Affine(1.0, 0, 0.0, 0, -1.0, 10.0), 10, 10)


def _points(xyz: list[tuple[float, float, float]], rgb=None, nir=None) -> LidarPoints:
    n = len(xyz)
    colour = None if rgb is None else np.asarray(rgb, dtype=np.uint16).reshape(n, 3)
    infrared = None if nir is None else np.asarray(nir, dtype=np.uint16)
    return LidarPoints(np.asarray(xyz, dtype=float), np.full(n, 2, np.uint8), None, colour, infrared)


def _one_per_cell(z: float = 0.0) -> list[tuple[float, float, float]]:
    return [(c + 0.5, 9.5 - r, z) for r in range(10) for c in range(10)]


def test_colour_state_tells_colour_nir_zeros_and_absence():
    xyz = _one_per_cell()
    assert colour_state(_points(xyz)) == "absent"
    assert colour_state(_points(xyz, rgb=np.zeros((100, 3)))) == "all zero"
    assert colour_state(_points(xyz, rgb=np.ones((100, 3)), nir=np.zeros(100))) == "rgb"
    assert colour_state(_points(xyz, rgb=np.ones((100, 3)), nir=np.ones(100))) == "rgb+nir"
    with pytest.raises(ValueError, match="all zero"):
        true_orthophoto(_points(xyz, rgb=np.zeros((100, 3))), GRID)


def test_each_cell_takes_its_top_surface_s_colour_in_8_bits():
    xyz = _one_per_cell(10.0) + [(0.5, 9.5, 2.0)]  # a return under the top-left cell's roof
    rgb = [(200 * 257, 100 * 257, 50 * 257)] * 100 + [(0, 65535, 0)]
    bands = true_orthophoto(_points(xyz, rgb, nir=[120 * 257] * 101), GRID)
    assert bands.shape == (4, 10, 10) and bands.dtype == np.uint8
    assert bands[:, 0, 0].tolist() == [200, 100, 50, 120], "the lower return's green does not show"
    eight_bit = true_orthophoto(_points(_one_per_cell(), [(200, 100, 50)] * 100), GRID)
    assert eight_bit[:, 5, 5].tolist() == [200, 100, 50], "8-bit values in the 16-bit fields stay as they are"


def test_small_gaps_are_filled_and_large_ones_stay_empty():
    known = np.ones((10, 10), bool)
    known[2, 2] = False  # a sampling gap
    known[5:10, 5:10] = False  # 25 cells: a pond that returns nothing
    xyz = [(c + 0.5, 9.5 - r, 0.0) for r in range(10) for c in range(10) if known[r, c]]
    bands = true_orthophoto(_points(xyz, [(100, 150, 200)] * len(xyz)), GRID)
    assert bands[:, 2, 2].tolist() == [100, 150, 200]
    assert (bands[:, 5:, 5:] == 0).all(), "0 is the GeoTIFF's nodata"
    assert (bands[:, known] > 0).all()
    assert sampling_gaps(known).sum() == 1
    surface = np.where(known, 5.0, np.nan).astype(np.float32)
    filled = fill_sampling_gaps(surface)
    assert filled[2, 2] == pytest.approx(5.0) and np.isnan(filled[7, 7])


def test_class_drape_draws_trees_green_buildings_red_shaded_by_relief():
    xyz = np.asarray(_one_per_cell(), dtype=float)
    classes = np.full(100, 2, np.uint8)
    roof = (xyz[:, 0] < 5) & (xyz[:, 1] > 5)
    tree = (xyz[:, 0] > 5) & (xyz[:, 1] < 5)
    xyz[roof, 2], classes[roof], xyz[tree, 2], classes[tree] = 8.0, 6, 6.0, 5
    drape = class_drape(xyz, classes, GRID).astype(int)
    assert drape[0, 1, 1] > drape[1, 1, 1] and drape[1, 8, 8] > drape[0, 8, 8]
    grey = relief_drape(xyz, GRID)
    assert (grey[0] == grey[1]).all() and (grey > 0).all()


def test_hillshade_lights_slopes_facing_the_north_west_sun():
    rows, cols = np.mgrid[0:20, 0:20].astype(np.float32)
    facing_west = cols.copy()  # rises to the east: its slope faces west, towards a north-west sun
    facing_east = -cols
    assert hillshade(facing_west, 1.0).mean() > hillshade(np.zeros((20, 20), np.float32), 1.0).mean()
    assert hillshade(facing_west, 1.0).mean() > hillshade(facing_east, 1.0).mean()
