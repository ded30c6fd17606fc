import json

import numpy as np
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from reconstruction.pointcloud import PointCloud, write_las
from reconstruction.tiles3d import write_pointcloud_tileset
from tests.reconstruction.tiles3d.tileset_reader import read_tileset_points


def test_tileset_holds_every_point_with_its_class_and_colour(tmp_path):
    rng = np.random.default_rng(5)
    n = 20_000
    xyz = np.column_stack([rng.uniform(770500, 770600, n), rng.uniform(6277500, 6277600, n), rng.uniform(20, 40, n)])
    cloud = PointCloud(
        xyz=xyz,
        rgb=rng.integers(0, 256, (n, 3), dtype=np.uint8),
        classification=rng.choice(np.array([2, 5, 6], np.uint8), n),
    )
    las = write_las(cloud, tmp_path / "in.las", CRS.from_epsg(2154))
    tileset_path = write_pointcloud_tileset(las, tmp_path / "tiles", CRS.from_epsg(2154), jobs=1)
    tileset = json.loads(tileset_path.read_text())
    assert tileset["asset"]["version"] in ("1.0", "1.1")
    leaves = read_tileset_points(tileset_path, leaves_only=True)
    ecef = np.concatenate([c["xyz"] for c in leaves.values()])
    classes = np.concatenate([c["classification"] for c in leaves.values()])
    assert len(ecef) == n
    x, y, z = Transformer.from_crs(4978, 2154, always_xy=True).transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    back = np.column_stack([x, y, z])
    distance, nearest = cKDTree(back).query(xyz)
    assert distance.max() < 0.01  # every input point is in the tiles, to the centimetre
    assert len(np.unique(nearest)) == n  # and no two inputs share one tile point
    assert np.array_equal(np.bincount(classes, minlength=7), np.bincount(cloud.classification, minlength=7))
