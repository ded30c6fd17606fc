"""The working grid's cell size from the LiDAR's density: the rule, its override, and where it applies."""

from pathlib import Path

import pytest
from affine import Affine
from pyproj import CRS

from reconstruction import PipelineConfig
from reconstruction.io import LidarInfo, RasterInfo
from reconstruction.io.area import cell_size, working_grid
from reconstruction.io.cell_size import CELL_LADDER, cell_for_density

L93 = CRS.from_epsg(2154)


def _lidar(points: int, side_m: float = 1000.0) -> LidarInfo:
    bounds = (700_000.0, 6_600_000.0, 700_000.0 + side_m, 6_600_000.0 + side_m)
    return LidarInfo(Path("tile.laz"), L93, (), points, bounds, (0.0, 50.0), {2: points})


def _ortho(pixel_m: float) -> RasterInfo:
    transform = Affine(pixel_m, 0, 700_000.0, 0, -pixel_m, 6_601_000.0)
    size = round(1000 / pixel_m)
    return RasterInfo(Path("ortho.tif"), "orthophoto", L93, (), transform, size, size, 3, "uint8", None)


@pytest.mark.parametrize(
    ("density", "cell"),
    [(0.02, 2.0), (0.3, 2.0), (1.0, 2.0), (2.0, 1.0), (5.0, 1.0), (8.0, 0.5), (15.0, 0.5), (60.0, 0.5)],
)
def test_density_decides_the_cell(density, cell):
    """Decimated 0.3 points/m² gets 2 m (1 m leaves three cells in four empty), 15 points/m² gets 0.5 m."""
    assert cell_for_density(density) == cell
    assert cell_for_density(density) in CELL_LADDER


def test_cells_never_get_finer_as_the_density_drops():
    densities = [0.01 * 1.1**k for k in range(100)]
    cells = [cell_for_density(d) for d in densities]
    assert cells == sorted(cells, reverse=True)


def test_lidar_alone_takes_the_density_s_cell_and_the_config_overrides_it():
    sparse = _lidar(300_000)  # 0.3 points/m² over 1 km²
    grid = working_grid(None, None, sparse, PipelineConfig())
    assert grid.resolution == 2.0 and (grid.width, grid.height) == (500, 500)
    chosen = cell_size(None, None, sparse, grid.crs, PipelineConfig())
    assert (chosen.source, chosen.lidar_density) == ("lidar density", pytest.approx(0.3))
    assert "0.3 points/m²" in chosen.describe() and "resolution_m" in chosen.describe()
    configured = PipelineConfig(resolution_m=0.75)
    assert working_grid(None, None, sparse, configured).resolution == 0.75
    assert cell_size(None, None, sparse, grid.crs, configured).to_dict() == {
        "resolution_m": 0.75,
        "source": "config",
        "lidar_points_per_m2": 0.3,
    }


def test_an_orthophoto_with_sparse_lidar_takes_the_density_s_cell_too():
    """Heights still come from the points: the orthophoto's finer pixel would leave most cells empty."""
    grid = working_grid(_ortho(0.2), None, _lidar(300_000), PipelineConfig())
    assert grid.resolution == 2.0
    assert working_grid(_ortho(0.2), None, _lidar(15_000_000), PipelineConfig()).resolution == 0.5
    alone = working_grid(_ortho(0.2), None, None, PipelineConfig())  # no LiDAR: the model's 0.5 m
    assert alone.resolution == 0.5
