import laspy
import numpy as np
from affine import Affine
from pyproj import CRS

from reconstruction.io import Grid
from reconstruction.pointcloud import PointCloud, points_from_lidar, points_from_raster, rasterize_points, write_las

GRID = Grid(CRS.from_epsg(32631), Affine(1.0, 0, 1000, 0, -1.0, 2000), 4, 3)


def test_rasterize_keeps_highest_or_lowest_return_per_cell():
    xyz = np.array([[1000.5, 1999.5, 10.0], [1000.6, 1999.4, 12.0], [1003.5, 1997.5, 5.0], [900, 1999, 1.0]])
    highest = rasterize_points(xyz, GRID, keep="highest")
    lowest = rasterize_points(xyz, GRID, keep="lowest")
    assert highest[0, 0] == 12.0 and lowest[0, 0] == 10.0
    assert highest[2, 3] == 5.0
    assert np.isnan(highest).sum() == 10  # 12 cells, 2 hit; the point outside is ignored


def test_points_from_raster_sit_at_cell_centres_with_cell_values():
    dsm = np.arange(12, dtype=np.float32).reshape(3, 4)
    dsm[1, 1] = np.nan
    labels = np.full((3, 4), 2, np.uint8)
    rgb = np.zeros((3, 3, 4), np.uint8)
    rgb[0] = 200
    cloud = points_from_raster(dsm, labels, rgb, GRID)
    assert len(cloud) == 11
    assert tuple(cloud.xyz[0]) == (1000.5, 1999.5, 0.0)
    assert tuple(cloud.xyz[-1]) == (1003.5, 1997.5, 11.0)
    assert (cloud.rgb[:, 0] == 200).all() and cloud.class_counts() == {2: 11}


def test_points_from_lidar_keep_their_classes_and_take_colours_from_the_grid():
    xyz = np.array([[1000.5, 1999.5, 10.0], [1001.5, 1999.5, 12.0], [5000, 5000, 1.0]])
    labels = np.full((3, 4), 6, np.uint8)
    rgb = np.full((3, 3, 4), 7, np.uint8)
    cloud = points_from_lidar(xyz, np.array([2, 1, 2], np.uint8), labels, rgb, GRID)
    assert len(cloud) == 2  # the point outside the grid is dropped
    assert list(cloud.classification) == [2, 6]  # unclassified (1) takes the grid's class
    assert (cloud.rgb == 7).all()


def test_las_round_trip_keeps_positions_to_the_millimetre(tmp_path):
    rng = np.random.default_rng(0)
    xyz = np.column_stack(
        [rng.uniform(770000, 770100, 500), rng.uniform(6277000, 6277100, 500), rng.uniform(20, 60, 500)]
    )
    cloud = PointCloud(
        xyz=xyz,
        rgb=rng.integers(0, 256, (500, 3), dtype=np.uint8),
        classification=rng.choice(np.array([2, 5, 6], np.uint8), 500),
    )
    for suffix in (".las", ".laz"):
        path = write_las(cloud, tmp_path / f"c{suffix}", CRS.from_epsg(2154))
        las = laspy.read(path)
        back = np.column_stack([las.x, las.y, las.z])
        assert np.abs(back - xyz).max() <= 0.0005 + 1e-9
        assert np.array_equal(np.asarray(las.classification), cloud.classification)
        assert np.array_equal(np.asarray(las.red) // 257, cloud.rgb[:, 0])
        assert las.header.parse_crs().to_epsg() == 2154
