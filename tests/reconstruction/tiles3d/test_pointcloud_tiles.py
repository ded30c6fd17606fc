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


def _write(tmp_path, intensity, n=20_000, seed=7):
    rng = np.random.default_rng(seed)
    xyz = np.column_stack([rng.uniform(770500, 770600, n), rng.uniform(6277500, 6277600, n), rng.uniform(20, 40, n)])
    cloud = PointCloud(
        xyz=xyz,
        rgb=rng.integers(0, 256, (n, 3), dtype=np.uint8),
        classification=rng.choice(np.array([2, 5, 6], np.uint8), n),
        intensity=rng.integers(1, 60_000, n).astype(np.uint16) if intensity else None,
    )
    las = write_las(cloud, tmp_path / "in.las", CRS.from_epsg(2154))
    return cloud, write_pointcloud_tileset(las, tmp_path / "tiles", CRS.from_epsg(2154), jobs=1)


def test_every_point_is_a_feature_with_its_class_and_lidar_intensity(tmp_path):
    cloud, path = _write(tmp_path, intensity=True)
    tiles = read_tileset_points(path)
    for tile in tiles.values():
        n = len(tile["xyz"])
        assert np.array_equal(tile["feature_ids"], np.arange(n))  # one pickable feature per point
        assert set(tile["properties"]) == {"classification", "intensity"}
        assert tile["properties"]["intensity"].dtype == np.uint16 and len(tile["properties"]["intensity"]) == n
    leaves = [t for t in tiles.values() if not t["tile"].get("children")]
    ecef = np.concatenate([t["xyz"] for t in leaves])
    intensity = np.concatenate([t["properties"]["intensity"] for t in leaves])
    classes = np.concatenate([t["classification"] for t in leaves])
    x, y, z = Transformer.from_crs(4978, 2154, always_xy=True).transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    distance, nearest = cKDTree(cloud.xyz).query(np.column_stack([x, y, z]))
    assert distance.max() < 0.01
    assert np.array_equal(intensity, cloud.intensity[nearest])  # each point keeps its own intensity
    assert np.array_equal(classes, cloud.classification[nearest])


def test_points_without_intensity_do_not_pretend_to_have_one(tmp_path):
    _, path = _write(tmp_path, intensity=False)
    for tile in read_tileset_points(path).values():
        assert set(tile["properties"]) == {"classification"}


def test_point_parents_hold_a_subsample_within_their_geometric_error(tmp_path):
    cloud, path = _write(tmp_path, intensity=False, n=60_000)
    tiles = read_tileset_points(path)
    root = json.loads(path.read_text())["root"]
    assert sum(len(t["xyz"]) for t in tiles.values()) == 60_000  # refine ADD: every point in exactly one tile
    assert len(tiles[root["content"]["uri"]]["xyz"]) < 60_000 / 4  # the far view: a subsample

    def check(tile, shown):
        """Every point under an inner tile is within its geometric error of a point of it or its ancestors."""
        assert tile["refine"] == "ADD"
        shown = shown + ([tiles[tile["content"]["uri"]]["xyz"]] if "content" in tile else [])
        children = tile.get("children", [])
        if not children:
            assert tile["geometricError"] == 0  # a leaf draws all its points
            return 0
        below = np.concatenate([tiles[t["content"]["uri"]]["xyz"] for t in _subtree(children) if "content" in t])
        distance, _ = cKDTree(np.concatenate(shown)).query(below)
        assert distance.max() <= tile["geometricError"] + 1e-6
        assert distance.max() > tile["geometricError"] / 8  # and the error is not a loose bound either
        for child in children:
            assert child["geometricError"] <= tile["geometricError"] / 2 + 1e-9
            check(child, shown)
        return 1

    assert check(root, []) == 1  # the root has children: there are levels of detail


def _subtree(tiles):
    for tile in tiles:
        yield tile
        yield from _subtree(tile.get("children", []))


def test_point_tiles_are_glb_and_round_trip_through_bytes(tmp_path):
    from reconstruction.tiles3d.content.glb import Glb

    _, path = _write(tmp_path, intensity=True)
    tiles = sorted((path.parent / "tiles").iterdir())
    assert tiles and all(t.suffix == ".glb" for t in tiles)
    for tile in tiles:
        data = tile.read_bytes()
        assert Glb.from_bytes(data).to_bytes() == data
        assert len(data) % 4 == 0


def test_real_lidar_intensity_survives_cleaning_and_tiling(montpellier, tmp_path):
    import laspy
    from affine import Affine

    from reconstruction.config import FilterConfig
    from reconstruction.io.grid import Grid
    from reconstruction.pointcloud import clean_point_cloud, points_from_lidar

    las = laspy.read(montpellier / "lidar_77055_627760.laz")
    xyz = np.column_stack([las.x, las.y, las.z])
    x0, y1 = np.floor(xyz[:, 0].min()), np.ceil(xyz[:, 1].max())
    width, height = int(np.ceil(xyz[:, 0].max() - x0)) + 1, int(np.ceil(y1 - xyz[:, 1].min())) + 1
    grid = Grid(CRS.from_epsg(2154), Affine(1.0, 0, x0, 0, -1.0, y1), width, height)
    labels = np.full((height, width), 2, np.uint8)
    rgb = np.zeros((3, height, width), np.uint8)
    intensity = np.asarray(las.intensity, dtype=np.uint16)
    cloud = points_from_lidar(xyz, np.asarray(las.classification), labels, rgb, grid, intensity=intensity)
    cloud, report = clean_point_cloud(cloud, FilterConfig())
    assert cloud.intensity is not None and len(cloud.intensity) == len(cloud) and report.outliers > 0
    path = write_pointcloud_tileset(write_las(cloud, tmp_path / "in.las", grid.crs), tmp_path / "t", grid.crs, 1)
    leaves = [t for t in read_tileset_points(path).values() if not t["tile"].get("children")]
    ecef = np.concatenate([t["xyz"] for t in leaves])
    tiled = np.concatenate([t["properties"]["intensity"] for t in leaves])
    back = np.column_stack(Transformer.from_crs(4978, 2154, always_xy=True).transform(*ecef.T))
    tree = cKDTree(xyz)
    distance, nearest = tree.query(back)
    assert distance.max() < 0.01
    differ = np.flatnonzero(tiled != intensity[nearest])  # only where returns share a position
    assert len(differ) < len(tiled) / 100
    for i in differ:  # every tiled value is the file's own value of a return at that position
        assert tiled[i] in intensity[tree.query_ball_point(back[i], 0.01)]


def test_a_camera_framing_the_area_needs_no_leaf_and_a_close_one_does(tmp_path):
    from tests.reconstruction.tiles3d.test_lod import _loaded

    # A 240 m town surface, one point per 0.5 m (as a DSM gives them), with blocks standing 10 m high.
    east, north = np.meshgrid(np.arange(0, 240, 0.5), np.arange(0, 240, 0.5))
    east, north = east.ravel(), north.ravel()
    height = 30 + np.where((east % 60 < 25) & (north % 60 < 25), 10.0, 0.0)
    n = len(east)
    cloud = PointCloud(
        xyz=np.column_stack([770_000 + east, 6_277_000 + north, height]),
        rgb=np.full((n, 3), 128, np.uint8),
        classification=np.full(n, 2, np.uint8),
    )
    crs = CRS.from_epsg(2154)
    path = write_pointcloud_tileset(write_las(cloud, tmp_path / "in.las", crs), tmp_path / "t", crs, jobs=2)
    tileset = json.loads(path.read_text())
    leaves = {t["content"]["uri"] for t in _subtree([tileset["root"]]) if not t.get("children")}
    # The viewer's framing (frontend/src/viewer/camera.js): from the south, 45 degrees down, 2.6 bounding-sphere
    # radii from the centre; ENU of the root frame, whose origin is the centre of the cloud.
    distance = 2.6 * 120 * np.sqrt(2)
    framed = _loaded(tileset, np.array([0.0, -distance / np.sqrt(2), distance / np.sqrt(2)]))
    assert framed and not set(framed) & leaves
    tiles = read_tileset_points(path)
    assert sum(len(tiles[uri]["xyz"]) for uri in framed) < n / 8  # a subsample of the cloud
    close = _loaded(tileset, np.array([0.0, 0.0, 20.0]))  # 20 m above the middle of the town
    assert set(close) & leaves


def test_one_point_is_one_leaf_and_an_empty_file_is_refused(tmp_path):
    import pytest

    from reconstruction.errors import InputError

    one = PointCloud(
        xyz=np.array([[770_500.0, 6_277_500.0, 30.0]]),
        rgb=np.array([[10, 20, 30]], np.uint8),
        classification=np.array([6], np.uint8),
    )
    crs = CRS.from_epsg(2154)
    path = write_pointcloud_tileset(write_las(one, tmp_path / "one.las", crs), tmp_path / "one", crs, jobs=1)
    tileset = json.loads(path.read_text())
    assert "children" not in tileset["root"] and tileset["root"]["geometricError"] == 0
    assert tileset["geometricError"] > 0  # Cesium draws nothing under a tileset error of 0
    (tile,) = read_tileset_points(path).values()
    assert tile["classification"].tolist() == [6] and tile["rgb"].tolist() == [[10, 20, 30]]
    empty = PointCloud(xyz=np.zeros((0, 3)), rgb=np.zeros((0, 3), np.uint8), classification=np.zeros(0, np.uint8))
    with pytest.raises(InputError):
        write_pointcloud_tileset(write_las(empty, tmp_path / "empty.las", crs), tmp_path / "empty", crs, jobs=1)
