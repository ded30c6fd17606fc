import json

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS

from reconstruction.errors import ProcessingError
from reconstruction.gis import write_cityjson
from reconstruction.io import Grid
from reconstruction.objects import BuildingConfig, extract_buildings
from reconstruction.objects.lod1 import lod1_solid
from tests.reconstruction.objects.test_lod1 import edge_imbalance, solid_volume

GRID = Grid(CRS.from_epsg(2154), Affine(0.5, 0, 770000, 0, -0.5, 6277100), 120, 100)


def _buildings():
    """A two-height building, a courtyard building and a plain house on GRID."""
    ndsm = np.zeros(GRID.shape, np.float32)
    ndsm[10:40, 10:40], ndsm[10:40, 40:70] = 6.0, 15.5
    ndsm[50:95, 10:60] = 9.0
    ndsm[62:82, 25:45] = 0.0
    ndsm[60:80, 80:110] = 4.25
    dtm = (40.0 + 0.01 * np.arange(GRID.width)[np.newaxis, :] * np.ones((GRID.height, 1))).astype(np.float32)
    return extract_buildings(ndsm > 0, ndsm, dtm, GRID, BuildingConfig()), dtm


def _tin(dtm: np.ndarray, step: int = 20):
    rows, cols = np.mgrid[0 : GRID.height + 1 : step, 0 : GRID.width + 1 : step]
    x, y = GRID.transform @ (cols.ravel(), rows.ravel())
    z = dtm[np.minimum(rows, GRID.height - 1), np.minimum(cols, GRID.width - 1)].ravel()
    n_rows, n_cols = rows.shape
    index = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    a, b, c, d = index[:-1, :-1].ravel(), index[:-1, 1:].ravel(), index[1:, :-1].ravel(), index[1:, 1:].ravel()
    triangles = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, d])]).astype(np.int32)
    return np.column_stack([x, y, z]).astype(np.float64), triangles


def _decode(document) -> np.ndarray:
    scale, translate = (np.asarray(document["transform"][k]) for k in ("scale", "translate"))
    return np.asarray(document["vertices"], dtype=np.int64) * scale + translate


def _indices(boundaries):
    if boundaries and isinstance(boundaries[0], int):
        yield from boundaries
    else:
        for item in boundaries:
            yield from _indices(item)


def test_cityjson_structure_and_round_trip(tmp_path):
    buildings, dtm = _buildings()
    assert [len(b.parts) for b in buildings] == [2, 1, 1]
    tin = _tin(dtm)
    path = write_cityjson(buildings, tmp_path / "city.city.json", GRID.crs, tin=tin)
    document = json.loads(path.read_text())
    assert (document["type"], document["version"]) == ("CityJSON", "2.0")
    assert document["transform"]["scale"] == [0.001, 0.001, 0.001]
    assert document["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/2154"
    vertices = _decode(document)
    assert all(isinstance(v, int) for row in document["vertices"] for v in row)
    assert len({tuple(v) for v in document["vertices"]}) == len(vertices)  # shared, no duplicates
    extent = document["metadata"]["geographicalExtent"]
    np.testing.assert_allclose(extent, [*vertices.min(axis=0), *vertices.max(axis=0)], atol=1e-6)
    objects = document["CityObjects"]
    assert set(objects) == {
        "building-1",
        "building-1-part-1",
        "building-1-part-2",
        "building-2",
        "building-3",
        "terrain",
    }
    used = set()
    for city_object in objects.values():
        for geometry in city_object.get("geometry", []):
            used |= set(_indices(geometry["boundaries"]))
    assert min(used) == 0 and max(used) == len(vertices) - 1 and len(used) == len(vertices)

    for building in buildings:
        _check_building(objects, vertices, building)

    (terrain,) = objects["terrain"]["geometry"]
    assert objects["terrain"]["type"] == "TINRelief"
    assert (terrain["type"], terrain["lod"]) == ("CompositeSurface", "1")
    triangles = np.asarray([surface[0] for surface in terrain["boundaries"]])
    assert triangles.shape == tin[1].shape
    np.testing.assert_allclose(vertices[triangles], tin[0][tin[1]], atol=6e-4)


def _check_building(objects, vertices, building):
    """Attributes, parent/child links, closed solids of the right volume, coordinates as built."""
    name = f"building-{building.id}"
    attributes = objects[name]["attributes"]
    assert attributes == {
        **building.attributes,
        "measuredHeight": building.attributes["height_m"],
        "storeysAboveGround": building.attributes["floors"],
    }
    if len(building.parts) == 1:
        assert "children" not in objects[name]
        solids = [(objects[name]["geometry"], "1")]
    else:
        children = objects[name]["children"]
        assert [objects[c]["parents"] for c in children] == [[name]] * len(children)
        assert all(objects[c]["type"] == "BuildingPart" for c in children)
        solids = [(objects[c]["geometry"], "1.2") for c in children]
    for part, (geometries, lod) in zip(building.parts, solids, strict=True):
        (geometry,) = geometries
        assert (geometry["type"], geometry["lod"]) == ("Solid", lod)
        (shell,) = geometry["boundaries"]
        assert edge_imbalance(shell) == []
        volume = solid_volume(vertices, shell)
        assert volume > 0 and volume == pytest.approx(part.footprint.area * part.height_m, rel=0.01)
        # Round trip: every surface decodes to the coordinates of the solid built from the part.
        expected_vertices, expected_shell = lod1_solid(part)
        for surface, expected in zip(shell, expected_shell, strict=True):
            for ring, expected_ring in zip(surface, expected, strict=True):
                np.testing.assert_allclose(vertices[ring], expected_vertices[expected_ring], atol=6e-4)


def test_courtyard_is_a_hole_ring_in_the_solid(tmp_path):
    buildings, _ = _buildings()
    document = json.loads(write_cityjson(buildings, tmp_path / "c.json", GRID.crs).read_text())
    (geometry,) = document["CityObjects"]["building-2"]["geometry"]
    bottom, top, *walls = geometry["boundaries"][0]
    assert len(bottom) == len(top) == 2 and len(walls) == 8
    assert "terrain" not in document["CityObjects"]


def test_crs_without_epsg_code_writes_no_reference_system(tmp_path):
    local = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=3.123 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m")
    assert local.to_epsg() is None
    document = json.loads(write_cityjson([], tmp_path / "empty.json", local).read_text())
    assert "referenceSystem" not in document["metadata"]
    assert document["CityObjects"] == {} and document["vertices"] == []


def test_unwritable_path_is_a_domain_error(tmp_path):
    buildings, _ = _buildings()
    with pytest.raises(ProcessingError, match="Cannot write the CityJSON"):
        write_cityjson(buildings, tmp_path / "missing" / "city.json", "EPSG:2154")
