"""The glb point tile writer (content/glb.py, ``Glb.from_points``): what it writes decodes back to the points."""

import numpy as np
import pytest

from reconstruction.errors import InputError
from reconstruction.tiles3d.content.glb import QUANTUM, Glb, TilePoints
from reconstruction.tiles3d.metadata import PropertyTable
from reconstruction.tiles3d.pointcloud import LIDAR_POINT, POINT
from tests.reconstruction.tiles3d.conformance import _accessor, glb_errors, read_glb
from tests.reconstruction.tiles3d.tileset_reader import validate_glbs


def _points(n=5000, seed=3, extent=(120.0, 35.0, 80.0)):
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-1, 1, (n, 3)) * np.asarray(extent) + np.array([500.0, 20.0, -300.0])
    colors = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    columns = {
        "classification": rng.choice(np.array([2, 5, 6, 9], np.uint8), n),
        "intensity": rng.integers(0, 65_535, n).astype(np.uint16),
    }
    return xyz, colors, PropertyTable(columns, LIDAR_POINT.class_id, LIDAR_POINT.table_name)


def test_points_round_trip_within_half_a_grid_step_with_colours_ids_and_properties():
    xyz, colors, table = _points()
    data = Glb.from_points(TilePoints.quantize(xyz, colors), table, LIDAR_POINT.schema()).to_bytes()
    glb = Glb.from_bytes(data)
    back = glb.points()
    step = back.step
    assert np.all(step <= np.array([120.0, 35.0, 80.0]) / QUANTUM + 1e-12)  # the finest 16-bit grid per axis
    assert np.all(np.abs(back.xyz() - xyz) <= step / 2 + 1e-9)
    assert np.array_equal(back.colors, colors)
    decoded = glb.property_table()
    assert decoded.class_id == "lidar_point"
    for name, column in table.columns.items():
        assert decoded.columns[name].dtype == column.dtype and np.array_equal(decoded.columns[name], column)
    gltf, blob = read_glb(data)
    primitive = gltf["meshes"][0]["primitives"][0]
    assert primitive["mode"] == 0  # POINTS
    # one feature per point, implicit ids: no _FEATURE_ID_ attribute, featureCount = points = table rows
    assert primitive["extensions"]["EXT_mesh_features"] == {"featureIds": [{"featureCount": 5000, "propertyTable": 0}]}
    assert set(primitive["attributes"]) == {"POSITION", "COLOR_0"}
    assert gltf["extensionsRequired"] == ["KHR_mesh_quantization"]
    # read from the raw bytes (not the writer's own decoder): strided attributes where rows are not 4 bytes
    accessor, raw = _accessor(gltf, blob, primitive["attributes"]["POSITION"])
    assert gltf["bufferViews"][accessor["bufferView"]]["byteStride"] == 8
    assert np.array_equal(raw.reshape(-1, 3), back.positions)
    assert accessor["min"] == back.positions.min(axis=0).tolist() and accessor["max"] == [QUANTUM] * 3
    accessor, raw = _accessor(gltf, blob, primitive["attributes"]["COLOR_0"])
    assert accessor["normalized"] and gltf["bufferViews"][accessor["bufferView"]]["byteStride"] == 4
    assert np.array_equal(raw.reshape(-1, 3), colors)
    node = gltf["nodes"][0]
    raw = _accessor(gltf, blob, primitive["attributes"]["POSITION"])[1].reshape(-1, 3)
    local = np.asarray(node["translation"]) + raw * np.asarray(node["scale"])  # what a viewer places
    assert np.abs(local - xyz).max() <= step.max() / 2 + 1e-9
    assert glb_errors(data) == []


def test_a_tile_without_colour_and_one_point_is_written():
    xyz = np.array([[1.0, 2.0, 3.0]])
    table = PropertyTable({"classification": np.array([6], np.uint8)}, POINT.class_id, POINT.table_name)
    glb = Glb.from_bytes(Glb.from_points(TilePoints.quantize(xyz, None), table, POINT.schema()).to_bytes())
    back = glb.points()
    assert back.colors is None and np.allclose(back.xyz(), xyz)
    assert glb.property_table().decoded() == [{"classification": 6}]


def test_points_and_table_that_disagree_are_refused():
    xyz, colors, table = _points(n=10)
    with pytest.raises(InputError):
        Glb.from_points(TilePoints.quantize(xyz[:9], colors[:9]), table, LIDAR_POINT.schema())
    with pytest.raises(InputError):
        Glb.from_points(TilePoints.quantize(xyz, colors[:9]), table, LIDAR_POINT.schema())
    with pytest.raises(InputError):
        TilePoints.quantize(np.zeros((0, 3)), None)


def test_the_conformance_check_sees_ids_that_do_not_match_the_points():
    xyz, colors, table = _points(n=10)
    glb = Glb.from_points(TilePoints.quantize(xyz, colors), table, LIDAR_POINT.schema())
    glb.gltf.meshes[0].primitives[0].extensions["EXT_mesh_features"]["featureIds"][0]["featureCount"] = 11
    errors = glb_errors(glb.to_bytes())
    assert any("not its property table's count" in e for e in errors)
    assert any("ids present are not exactly" in e for e in errors)


def test_a_point_tile_passes_the_gltf_validator(tmp_path):
    xyz, colors, table = _points()
    path = tmp_path / "points.glb"
    Glb.from_points(TilePoints.quantize(xyz, colors), table, LIDAR_POINT.schema()).save_as(path)
    (messages,) = validate_glbs([path]).values()
    assert [m for m in messages if m["severity"] <= 1] == []  # no error, no warning
