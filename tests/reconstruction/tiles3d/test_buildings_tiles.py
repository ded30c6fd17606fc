import json

import numpy as np
import pytest
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from reconstruction.config import BuildingConfig
from reconstruction.errors import ConfigError, InputError
from reconstruction.io.grid import Grid
from reconstruction.objects import extract_buildings
from reconstruction.objects.lod1 import lod1_solid
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.tiles3d import write_building_tileset
from reconstruction.tiles3d.buildings import BUILDING_TYPES, ROOF_TYPES
from reconstruction.tiles3d.content.glb import Glb
from tests.reconstruction.tiles3d.tileset_reader import inside_box, read_glb_tiles, validate_glbs


def _buildings(scene):
    height, width = scene.dsm.shape
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, width, height)
    ndsm = (scene.dsm - scene.dtm).astype("float32")
    return extract_buildings(scene.labels == 6, ndsm, scene.dtm, grid, BuildingConfig()), grid.crs


@pytest.fixture(scope="module")
def small_tileset(small_scene, tmp_path_factory):
    buildings, crs = _buildings(small_scene)
    assert len(buildings) >= 4
    path = write_building_tileset(buildings, crs, tmp_path_factory.mktemp("bt"), max_features_per_tile=3)
    return buildings, crs, path


def test_tileset_json_is_3d_tiles_1_1(small_tileset):
    buildings, _, path = small_tileset
    tileset = json.loads(path.read_text())
    assert tileset["asset"]["version"] == "1.1"
    root = tileset["root"]
    assert len(root["transform"]) == 16 and root["transform"][15] == 1.0
    # Cesium selects nothing when the tileset's own geometric error is 0 (seen: an invisible layer).
    assert tileset["geometricError"] > 0 and tileset["geometricError"] >= root["geometricError"]
    tiles = read_glb_tiles(path)
    leaves = [t for t in tiles if not t["tile"].get("children")]
    assert len(leaves) >= 2 and all(len(t["mesh"].feature_ids) for t in leaves)
    assert sum(t["glb"].property_table().count for t in leaves) == len(buildings)
    for entry in tiles:
        tile = entry["tile"]
        assert tile["refine"] == "REPLACE"  # parents hold simplified stand-ins, children replace them
        assert (tile["geometricError"] == 0) == (not tile.get("children"))
        for child in tile.get("children", []):
            assert child["geometricError"] <= tile["geometricError"]


def test_every_glb_passes_the_gltf_validator(small_tileset):
    report = validate_glbs(sorted((small_tileset[2].parent / "tiles").glob("*.glb")))
    errors = [(f, m) for f, messages in report.items() for m in messages if m["severity"] == 0]
    warnings = {m["code"] for messages in report.values() for m in messages if m["severity"] == 1}
    assert errors == []
    assert warnings == set()  # only infos: the two metadata extensions are unknown to it, their columns "unused"


def test_feature_ids_and_properties_match_the_buildings(small_tileset):
    buildings, _, path = small_tileset
    by_id = {b.id: b for b in buildings}
    for entry in read_glb_tiles(path):
        if "glb" not in entry:
            continue
        glb, mesh = entry["glb"], entry["mesh"]
        table = glb.property_table()
        primitive = glb.gltf.meshes[0].primitives[0]
        (feature_ids,) = primitive.extensions["EXT_mesh_features"]["featureIds"]
        assert feature_ids == {"featureCount": table.count, "attribute": 0, "propertyTable": 0}
        assert set(np.unique(mesh.feature_ids)) == set(range(table.count))
        schema = glb.schema()
        assert [v["name"] for v in schema["enums"]["BuildingType"]["values"]] == list(BUILDING_TYPES)
        assert [v["name"] for v in schema["enums"]["RoofType"]["values"]] == list(ROOF_TYPES)
        for row in table.decoded():
            attributes = by_id[row["id"]].attributes
            for name in ("building_type", "roof_type", "floors"):
                assert row[name] == attributes[name]
            for name in ("height_m", "eave_m", "ridge_m", "area_m2", "ground_m"):
                assert row[name] == pytest.approx(attributes[name], rel=1e-6)
        blob = glb.gltf.binary_blob()
        assert all(view.byteOffset % 8 == 0 for view in glb.gltf.bufferViews) and len(blob) % 8 == 0


def test_mesh_is_flat_shaded_with_outward_normals(small_tileset):
    for entry in read_glb_tiles(small_tileset[2]):
        if "mesh" not in entry:
            continue
        mesh = entry["mesh"]
        assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1, atol=1e-5)
        p = mesh.positions.astype(np.float64)
        a, b, c = (p[mesh.indices[:, k]] for k in range(3))
        face = np.cross(b - a, c - a)
        face /= np.linalg.norm(face, axis=1, keepdims=True)
        for k in range(3):  # every corner of a triangle carries the triangle's own normal: crisp edges
            assert np.allclose(mesh.normals[mesh.indices[:, k]], face, atol=1e-3)
        accessor = entry["glb"].gltf.accessors[entry["glb"].gltf.meshes[0].primitives[0].attributes.POSITION]
        assert np.allclose(accessor.min, p.min(axis=0), atol=1e-6)
        assert np.allclose(accessor.max, p.max(axis=0), atol=1e-6)


def test_vertices_land_on_the_lod1_solids_to_the_centimetre(small_tileset):
    buildings, crs, path = small_tileset
    to_crs = Transformer.from_crs(CRS.from_epsg(4978), crs, always_xy=True)
    by_id = {b.id: b for b in buildings}
    seen = set()
    for entry in read_glb_tiles(path):
        if "mesh" not in entry or entry["tile"].get("children"):
            continue  # parents hold simplified blocks (test_lod.py)
        ecef = entry["ecef"]
        back = np.column_stack(to_crs.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2]))
        rows = entry["glb"].property_table().decoded()
        for row_index, row in enumerate(rows):
            building = by_id[row["id"]]
            seen.add(building.id)
            truth = np.concatenate([lod1_solid(part)[0] for part in building.parts])
            mine = back[entry["mesh"].feature_ids == row_index]
            assert cKDTree(truth).query(mine)[0].max() < 0.01  # every tile vertex is a solid corner
            assert cKDTree(mine).query(truth)[0].max() < 0.01  # and every solid corner is in the tile
    assert seen == {b.id for b in buildings if b.parts}


def test_bounding_boxes_contain_their_content(small_tileset):
    for entry in read_glb_tiles(small_tileset[2]):
        if "frame_xyz" not in entry:
            continue
        assert inside_box(entry["tile"]["boundingVolume"]["box"], entry["frame_xyz"])
        for ancestor in entry["ancestors"]:  # no child transforms: every box is in the root frame
            assert inside_box(ancestor["tile"]["boundingVolume"]["box"], entry["frame_xyz"])


def test_glb_round_trips_through_bytes(small_tileset):
    for glb_path in (small_tileset[2].parent / "tiles").glob("*.glb"):
        data = glb_path.read_bytes()
        assert Glb.from_bytes(data).to_bytes() == data


def test_a_large_scene_is_split_into_several_tiles(tmp_path):
    buildings, crs = _buildings(generate_scene(SceneConfig(size_m=600.0, seed=11)))
    limit = max(1, len(buildings) // 5)
    path = write_building_tileset(buildings, crs, tmp_path / "big", max_features_per_tile=limit)
    leaves = [t for t in read_glb_tiles(path) if "glb" in t and not t["tile"].get("children")]
    counts = [t["glb"].property_table().count for t in leaves]
    assert len(leaves) >= 4 and max(counts) <= limit and sum(counts) == len(buildings)
    for entry in leaves:
        assert inside_box(entry["tile"]["boundingVolume"]["box"], entry["frame_xyz"])


def test_bad_arguments_raise_domain_errors(small_tileset, tmp_path):
    buildings, crs, _ = small_tileset
    with pytest.raises(ConfigError):
        write_building_tileset(buildings, crs, tmp_path / "a", max_features_per_tile=0)
    with pytest.raises(InputError):
        write_building_tileset([], crs, tmp_path / "b")


def test_class_confidence_travels_into_the_tiles_and_missing_ones_are_no_data(small_scene, tmp_path):
    buildings, crs = _buildings(small_scene)
    given = {b.id: round(0.5 + 0.1 * (b.id % 4), 2) for b in buildings[::2]}  # every other building predicted
    path = write_building_tileset(buildings, crs, tmp_path / "bt", class_confidence=given)
    rows = [row for t in read_glb_tiles(path) if "glb" in t for row in t["glb"].property_table().decoded()]
    seen = {row["id"]: row["class_confidence"] for row in rows}
    assert set(seen) == {b.id for b in buildings}
    for building_id, value in seen.items():
        assert value == pytest.approx(given.get(building_id, -1.0))
