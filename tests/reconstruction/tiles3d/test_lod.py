"""Distance levels of detail of the glb layers: simplified parents, their errors, and what a camera loads."""

import json
import math

import numpy as np
import pytest

from reconstruction.tiles3d.tileset import Coarse, FeatureMesh, TileFeature, write_feature_tileset
from reconstruction.tiles3d.trees import TREE
from tests.reconstruction.tiles3d.test_buildings_tiles import small_tileset  # noqa: F401 - fixture
from tests.reconstruction.tiles3d.test_feature_layers import layers  # noqa: F401 - fixture
from tests.reconstruction.tiles3d.tileset_reader import inside_box, read_glb_tiles

LAYERS = ("buildings", "terrain", "trees", "roads")
#: Values that stand for a missing property.
NO_DATA = (-1.0, -9999.0)

#: Cesium's defaults: maximumScreenSpaceError 16 px; a 1080 px high canvas with a 60° vertical field of view.
MAX_SSE, SCREEN_PX, FOVY = 16.0, 1080.0, math.radians(60.0)


@pytest.fixture(scope="module")
def paths(small_tileset, layers):  # noqa: F811 - fixtures imported above
    return {"buildings": small_tileset[2], **layers["paths"]}


def _triangles(entry):
    return len(entry["mesh"].indices) if "mesh" in entry else 0


def _leaves_under(entry, tiles):
    return [t for t in tiles if entry in t["ancestors"] and not t["tile"].get("children")]


@pytest.mark.parametrize("name", LAYERS)
def test_parents_hold_fewer_triangles_than_what_they_stand_for(paths, name):
    tiles = read_glb_tiles(paths[name])
    parents = [t for t in tiles if t["tile"].get("children") and "glb" in t]
    assert parents, f"{name}: no parent tile has content"
    for parent in parents:
        children = [t for t in tiles if t["ancestors"] and t["ancestors"][-1] is parent]
        assert _triangles(parent) < sum(_triangles(c) for c in children)
        assert _triangles(parent) < sum(_triangles(leaf) for leaf in _leaves_under(parent, tiles))


@pytest.mark.parametrize("name", LAYERS)
def test_parents_keep_real_pickable_features(paths, name):
    tiles = read_glb_tiles(paths[name])
    leaf_rows = [row for t in tiles if "glb" in t and not t["tile"].get("children") for row in _rows(t)]
    id_name = next(k for k in leaf_rows[0] if k == "id" or k.endswith("_id"))
    by_id = {row[id_name]: row for row in leaf_rows}
    for parent in (t for t in tiles if t["tile"].get("children") and "glb" in t):
        table = parent["glb"].property_table()
        assert set(np.unique(parent["mesh"].feature_ids)) == set(range(table.count))
        for row in _rows(parent):
            full = by_id[row[id_name]]  # the same row as the full-detail feature: filters still match
            assert all(row[k] == full[k] for k in set(row) & set(full))
            assert all(v in NO_DATA for v in ({**row, **full}[k] for k in set(row) ^ set(full)))


@pytest.mark.parametrize("name", LAYERS)
def test_every_property_table_has_every_property_its_class_declares(paths, name):
    """3d-tiles-validator (and tools on 3d-tiles-tools) stop at a table without a declared property."""
    for entry in read_glb_tiles(paths[name]):
        if "glb" not in entry:
            continue
        schema, table = entry["glb"].schema(), entry["glb"].property_table()
        (declared,) = [set(c["properties"]) for c in schema["classes"].values()]
        assert set(table.columns) == declared, (name, entry["tile"].get("content"))


def _rows(entry):
    return entry["glb"].property_table().decoded()


@pytest.mark.parametrize("name", LAYERS)
def test_geometric_error_shrinks_down_the_tree_and_boxes_hold_content(paths, name):
    tileset = json.loads(paths[name].read_text())
    assert tileset["geometricError"] >= tileset["root"]["geometricError"] > 0
    for entry in read_glb_tiles(paths[name]):
        tile = entry["tile"]
        if tile.get("children"):
            assert tile["refine"] == "REPLACE" and tile["geometricError"] > 0
            assert all(c["geometricError"] <= tile["geometricError"] for c in tile["children"])
        else:
            assert tile["geometricError"] == 0
        if "frame_xyz" in entry:
            for owner in (entry, *entry["ancestors"]):
                assert inside_box(owner["tile"]["boundingVolume"]["box"], entry["frame_xyz"])


def test_building_parents_are_the_largest_buildings_as_plain_blocks(small_tileset):  # noqa: F811
    buildings, _, path = small_tileset
    tiles = read_glb_tiles(path)
    root = tiles[0]
    kept = {row["id"] for row in _rows(root)}
    size = {b.id: max(np.ptp(np.asarray(b.footprint.exterior.coords), axis=0).max(), 0) for b in buildings}
    assert 0 < len(kept) < len(buildings)
    # The root's error is at least what it leaves out: the largest building it does not show.
    left_out = [b for b in buildings if b.id not in kept]
    assert root["tile"]["geometricError"] >= max(size[b.id] for b in left_out) - 0.5
    for row_index in range(len(kept)):
        block = root["frame_xyz"][root["mesh"].feature_ids == row_index]
        assert len(np.unique(np.round(block[:, 2], 3))) == 2  # one floor, one roof: an LoD1 block


def _sse(geometric_error, distance):
    return geometric_error * SCREEN_PX / (max(distance, 1e-9) * 2 * math.tan(FOVY / 2))


def _distance(tile, camera):
    box = np.asarray(tile["boundingVolume"]["box"])
    half = np.abs(box[3:].reshape(3, 3)).sum(axis=0)
    return float(np.linalg.norm(np.maximum(np.abs(camera - box[:3]) - half, 0)))


def _loaded(tileset, camera):
    """Tiles CesiumJS's traversal would load for ``camera`` (ENU of the root frame), as in
    ``Cesium3DTilesetBaseTraversal``: nothing when the root's SSE measured with the tileset's own error is at
    most 16 px, else the root, refined while a tile's SSE (distance to its box) is over 16 px."""
    loaded = []

    def visit(tile):
        if "content" in tile:
            loaded.append(tile["content"]["uri"])
        if tile.get("children") and _sse(tile["geometricError"], _distance(tile, camera)) > MAX_SSE:
            for child in tile["children"]:
                visit(child)

    if _sse(tileset["geometricError"], _distance(tileset["root"], camera)) > MAX_SSE:
        visit(tileset["root"])
    return loaded


@pytest.mark.parametrize("name", LAYERS)
def test_a_far_camera_loads_only_the_root_and_a_near_one_the_leaves(paths, name):
    tileset = json.loads(paths[name].read_text())
    root = tileset["root"]
    box = np.asarray(root["boundingVolume"]["box"])
    # Straight above the centre, where the root's own error is 12 px: shown, not refined.
    height = root["geometricError"] * SCREEN_PX / (12 * 2 * math.tan(FOVY / 2))
    far = box[:3] + [0, 0, abs(box[11]) + height]
    assert _loaded(tileset, far) == [root["content"]["uri"]]
    near = _loaded(tileset, box[:3] + [0, 0, 1.0])
    leaves = [uri for uri in near if uri != root["content"]["uri"]]
    assert len(leaves) >= 2


def test_stand_ins_fill_parents_in_order_of_significance_within_the_limits(tmp_path):
    from pyproj import CRS

    from reconstruction.tiles3d.frame import EnuFrame

    def cube(x, y, side):
        corners = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64) * side + [x, y, 0]
        vertices = np.vstack([corners, corners + [0, 0, side]])
        triangles = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7]], dtype=np.int64)
        return FeatureMesh(vertices, np.tile([0.0, 0, 1], (8, 1)), triangles, np.full((8, 4), 255, np.uint8))

    features = []
    cubes = [(0, 0, 9), (50, 0, 2), (0, 50, 7), (50, 50, 3), (25, 25, 5), (10, 40, 1), (40, 10, 1.5), (5, 20, 2.5)]
    for i, (x, y, side) in enumerate(cubes):
        mesh = cube(x, y, side)
        coarse = Coarse(cube(x, y, side), 0.1 * side)
        attributes = {"tree_id": i + 1, "height_m": side, "crown_diameter_m": side, "ground_m": 0.0}
        features.append(TileFeature(mesh, attributes, f"cube {i}", (coarse,)))
    frame = EnuFrame.at(CRS.from_epsg(32631), np.array([500_000.0, 4_800_000.0, 0.0]))
    path = write_feature_tileset(features, TREE, frame, tmp_path / "t", max_features=2)
    root = json.loads(path.read_text())["root"]
    rows = _rows(read_glb_tiles(path)[0])
    assert [row["tree_id"] for row in rows] == [1, 3]  # the two largest: a quarter of the vertices, 2 a tile
    assert root["geometricError"] == pytest.approx(5.0)  # the largest left out: 5 m (more than 0.1 x 9)
