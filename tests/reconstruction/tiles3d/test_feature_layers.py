"""The terrain, tree and road layers: valid glb, boxes around content, metadata rows matching the features."""

import json

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import MultiPoint

from reconstruction import objects, terrain
from reconstruction.config import TinConfig, TreeConfig
from reconstruction.errors import ConfigError, InputError
from reconstruction.io.grid import Grid
from reconstruction.objects.feature import Feature
from reconstruction.tiles3d import write_road_tileset, write_terrain_tileset, write_tree_tileset
from reconstruction.tiles3d.roads import ROAD_GRADES
from tests.reconstruction.tiles3d.tileset_reader import inside_box, read_glb_tiles, validate_glbs

LAYERS = ("terrain", "trees", "roads")


def _grid(scene):
    height, width = scene.dsm.shape
    return Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, width, height)


def _hill_tin():
    """A TIN of a 100 m x 80 m hill (1 m cells, 6 m high) fitted to 5 cm: a few hundred vertices."""
    grid = Grid(CRS.from_epsg(32631), Affine(1.0, 0, 500_000.0, 0, -1.0, 4_800_080.0), 100, 80)
    rows, cols = np.mgrid[0:80, 0:100]
    dtm = (50 + 6 * np.exp(-((cols - 40) ** 2 + (rows - 45) ** 2) / 600)).astype(np.float32)
    return terrain.build_tin(dtm, grid, TinConfig(max_error_m=0.05)), grid


@pytest.fixture(scope="module")
def layers(small_scene, tmp_path_factory):
    """The three layers written with small tile limits (so that each is a quadtree), and their inputs."""
    grid = _grid(small_scene)
    ndsm = (small_scene.dsm - small_scene.dtm).astype(np.float32)
    found = objects.detect_trees(small_scene.labels == 5, ndsm, small_scene.dtm, grid, TreeConfig())
    trees = [
        Feature(
            "tree",
            t.crown,
            {
                "height_m": t.height_m,
                "crown_diameter_m": t.crown_diameter_m,
                "ground_m": t.ground_m,
                "top_x": t.x,
                "top_y": t.y,
            },
        )
        for t in found
    ]
    trees[0].attributes["class_confidence"] = 0.75  # only one tree has it: the others store noData
    roads = [
        Feature("road", r.polygon, r.attributes)
        for r in objects.extract_roads(small_scene.labels == 11, small_scene.dtm, grid)
    ]
    (tin, report), tin_grid = _hill_tin()
    out = tmp_path_factory.mktemp("layers")
    paths = {
        "terrain": write_terrain_tileset(tin, tin_grid.crs, out / "terrain", report.max_error_m, 30.0, 200),
        "trees": write_tree_tileset(trees, grid.crs, out / "trees", max_features_per_tile=8),
        "roads": write_road_tileset(roads, small_scene.dtm, grid, out / "roads", max_features_per_tile=2),
    }
    assert len(trees) >= 20 and len(roads) >= 3 and len(tin) >= 100
    return {
        "paths": paths,
        "trees": trees,
        "roads": roads,
        "tin": tin,
        "report": report,
        "grid": grid,
        "dtm": small_scene.dtm,
    }


def _contents(layers, name, leaves_only=True):
    """Tiles with content: the full-detail leaves, or with ``leaves_only=False`` the simplified parents too."""
    tiles = read_glb_tiles(layers["paths"][name])
    return [t for t in tiles if "glb" in t and not (leaves_only and t["tile"].get("children"))]


def _to_crs(ecef, crs):
    x, y, z = Transformer.from_crs(CRS.from_epsg(4978), crs, always_xy=True).transform(
        ecef[:, 0], ecef[:, 1], ecef[:, 2]
    )
    return np.column_stack([x, y, z])


def test_every_glb_passes_the_gltf_validator(layers):
    glbs = sorted(p for path in layers["paths"].values() for p in (path.parent / "tiles").glob("*.glb"))
    report = validate_glbs(glbs)
    errors = [(f, m) for f, messages in report.items() for m in messages if m["severity"] == 0]
    warnings = {(f, m["code"]) for f, messages in report.items() for m in messages if m["severity"] == 1}
    assert errors == [] and warnings == set()


@pytest.mark.parametrize("name", LAYERS)
def test_hierarchy_boxes_contain_their_content(layers, name):
    tileset = json.loads(layers["paths"][name].read_text())
    assert tileset["asset"]["version"] == "1.1" and tileset["geometricError"] > 0
    tiles = read_glb_tiles(layers["paths"][name])
    assert sum("glb" in t for t in tiles) >= 2  # the small limits force a split
    for entry in tiles:
        tile = entry["tile"]
        assert (tile["geometricError"] == 0) == (not tile.get("children"))
        assert all(child["geometricError"] <= tile["geometricError"] for child in tile.get("children", []))
        if "frame_xyz" in entry:
            for box_owner in (entry, *entry["ancestors"]):
                assert inside_box(box_owner["tile"]["boundingVolume"]["box"], entry["frame_xyz"])


@pytest.mark.parametrize("name", LAYERS)
def test_normals_are_unit_and_face_like_the_triangles(layers, name):
    for entry in _contents(layers, name, leaves_only=False):
        mesh, glb = entry["mesh"], entry["glb"]
        assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1, atol=1e-5)
        p = mesh.positions.astype(np.float64)
        face = np.cross(p[mesh.indices[:, 1]] - p[mesh.indices[:, 0]], p[mesh.indices[:, 2]] - p[mesh.indices[:, 0]])
        for k in range(3):  # counter-clockwise front faces: the vertex normals lean the same way
            assert (np.einsum("ij,ij->i", face, mesh.normals[mesh.indices[:, k]]) > 0).all()
        table = glb.property_table()
        assert set(np.unique(mesh.feature_ids)) == set(range(table.count))
        (ids,) = glb.gltf.meshes[0].primitives[0].extensions["EXT_mesh_features"]["featureIds"]
        assert ids == {"featureCount": table.count, "attribute": 0, "propertyTable": 0}
        if name != "trees":  # terrain and roads face up (glTF +Y)
            assert (mesh.normals[:, 1] > 0.5).all()


def test_tree_rows_and_geometry_match_the_trees(layers):
    trees, grid = layers["trees"], layers["grid"]
    rows = {}
    for entry in _contents(layers, "trees"):
        back = _to_crs(entry["ecef"], grid.crs)
        for i, row in enumerate(entry["glb"].property_table().decoded()):
            rows[row["tree_id"]] = row
            tree = trees[row["tree_id"] - 1].attributes
            mine = back[entry["mesh"].feature_ids == i]
            assert len(mine) == 24  # smooth-shaded: vertices shared by the 32 triangles
            top = mine[np.argmax(mine[:, 2])]
            assert top == pytest.approx([tree["top_x"], tree["top_y"], tree["ground_m"] + tree["height_m"]], abs=0.01)
            assert np.ptp(mine[:, 0]) == pytest.approx(tree["crown_diameter_m"], rel=0.05)
    assert sorted(rows) == list(range(1, len(trees) + 1))
    known = rows[5]
    assert known["height_m"] == pytest.approx(trees[4].attributes["height_m"], rel=1e-6)
    assert known["crown_diameter_m"] == pytest.approx(trees[4].attributes["crown_diameter_m"], rel=1e-6)
    assert rows[1]["class_confidence"] == pytest.approx(0.75) and known.get("class_confidence", -1.0) == -1.0


def test_road_rows_match_and_roads_lie_on_the_dtm(layers):
    roads, grid, dtm = layers["roads"], layers["grid"], layers["dtm"]
    by_id = {r.attributes["road_id"]: r for r in roads}
    seen = set()
    for entry in _contents(layers, "roads"):
        schema = entry["glb"].schema()
        assert [v["name"] for v in schema["enums"]["RoadGrade"]["values"]] == list(ROAD_GRADES)
        back = _to_crs(entry["ecef"], grid.crs)
        col = (back[:, 0] - grid.transform.c) / grid.transform.a
        row = (back[:, 1] - grid.transform.f) / grid.transform.e
        ground = dtm[np.clip(row.astype(int), 0, grid.height - 1), np.clip(col.astype(int), 0, grid.width - 1)]
        assert np.abs(back[:, 2] - 0.2 - ground).max() < 0.05  # draped 0.2 m above the (smooth) DTM
        for i, decoded in enumerate(entry["glb"].property_table().decoded()):
            road = by_id[decoded["road_id"]]
            seen.add(decoded["road_id"])
            assert decoded["grade"] == road.attributes["grade"]
            assert decoded["width_m"] == pytest.approx(road.attributes["width_m"], rel=1e-6)
            mine = back[entry["mesh"].feature_ids == i]
            assert road.geometry.buffer(0.01).contains(MultiPoint(mine[:, :2]))  # inside its own outline
    assert seen == set(by_id)


def test_terrain_patches_cover_the_tin(layers):
    tin, report = layers["tin"], layers["report"]
    contents = _contents(layers, "terrain")
    assert all(len(e["mesh"].positions) <= 200 or e["glb"].property_table().count == 1 for e in contents)
    rows = [row for e in contents for row in e["glb"].property_table().decoded()]
    assert sum(r["triangles"] for r in rows) == len(tin) == sum(len(e["mesh"].indices) for e in contents)
    assert sorted(r["patch_id"] for r in rows) == list(range(1, len(rows) + 1))
    assert all(r["max_error_m"] == pytest.approx(report.max_error_m, rel=1e-6) for r in rows)
    back = np.concatenate([_to_crs(e["ecef"], CRS.from_epsg(32631)) for e in contents])
    distance = np.abs(back[:, None, :] - tin.vertices[None, :, :]).max(axis=2).min(axis=1)
    assert distance.max() < 0.01  # every tile vertex is a TIN vertex, to the centimetre
    assert sum(r["area_m2"] for r in rows) == pytest.approx(100 * 80, rel=0.02)


def test_bad_inputs_raise_domain_errors(layers, tmp_path):
    grid, dtm = layers["grid"], layers["dtm"]
    with pytest.raises(InputError):
        write_tree_tileset([], grid.crs, tmp_path / "a")
    tree = layers["trees"][0]
    with pytest.raises(InputError, match="Tree 1"):
        write_tree_tileset([Feature("tree", tree.geometry, {"top_x": 1.0})], grid.crs, tmp_path / "b")
    with pytest.raises(InputError, match="grade"):
        bad = Feature("road", layers["roads"][0].geometry, {**layers["roads"][0].attributes, "grade": "motorway"})
        write_road_tileset([bad], dtm, grid, tmp_path / "c")
    line = Feature("road", layers["roads"][0].geometry.exterior, layers["roads"][0].attributes)
    with pytest.raises(InputError, match="No road has an area"):
        write_road_tileset([line], dtm, grid, tmp_path / "e")
    path = write_road_tileset([line, layers["roads"][0]], dtm, grid, tmp_path / "f")  # the line is left out
    assert [e["glb"].property_table().count for e in read_glb_tiles(path) if "glb" in e] == [1]
    with pytest.raises(ConfigError):
        write_terrain_tileset(layers["tin"], CRS.from_epsg(32631), tmp_path / "d", patch_m=0)
