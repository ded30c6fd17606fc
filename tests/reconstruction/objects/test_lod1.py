from collections import Counter

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS
from shapely.geometry import Polygon, box

from reconstruction.errors import InputError
from reconstruction.io import Grid
from reconstruction.objects import BuildingConfig, BuildingPart, extract_buildings
from reconstruction.objects.lod1 import lod1_solid, triangulate

COURTYARD = box(770000, 6277000, 770030, 6277020).difference(box(770010, 6277005, 770020, 6277012))
L_SHAPE = Polygon([(0, 0), (20, 0), (20, 8), (8, 8), (8, 15), (0, 15)])


def edge_imbalance(shell) -> list[tuple[int, int]]:
    """Directed edges not used exactly once, with their reverse used exactly once (empty: closed, oriented)."""
    edges = Counter()
    for surface in shell:
        for ring in surface:
            edges.update(zip(ring, ring[1:] + ring[:1], strict=True))
    return [edge for edge, n in edges.items() if n != 1 or edges[edge[::-1]] != 1]


def solid_volume(vertices: np.ndarray, shell) -> float:
    """Divergence theorem on the polygons themselves: V = 1/3 sum(p_f . A_f), A_f by Newell (holes subtract)."""
    points = vertices - vertices.mean(axis=0)
    volume = 0.0
    for surface in shell:
        area = sum(0.5 * np.cross(points[ring], points[np.roll(ring, -1)]).sum(axis=0) for ring in surface)
        volume += float(points[surface[0][0]] @ area) / 3.0
    return volume


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    return 0.5 * np.cross(b - a, c - a)  # length = triangle area


@pytest.mark.parametrize("footprint", [COURTYARD, L_SHAPE, shapely.geometry.polygon.orient(L_SHAPE, -1.0)])
def test_prism_is_closed_outward_and_has_the_right_volume(footprint):
    part = BuildingPart(footprint, ground_m=31.5, height_m=12.25)
    vertices, shell = lod1_solid(part)
    assert vertices.dtype == np.float64 and vertices.shape[1] == 3
    assert edge_imbalance(shell) == []
    n_rings = 1 + len(footprint.interiors)
    n_edges = sum(len(r.coords) - 1 for r in [footprint.exterior, *footprint.interiors])
    assert len(shell) == 2 + n_edges and len(shell[0]) == len(shell[1]) == n_rings
    assert solid_volume(vertices, shell) == pytest.approx(footprint.area * 12.25, rel=1e-9)
    assert set(vertices[:, 2]) == {31.5, 43.75}


@pytest.mark.parametrize("footprint", [COURTYARD, L_SHAPE])
def test_triangles_cover_the_footprint_and_face_outwards(footprint):
    part = BuildingPart(footprint, ground_m=10.0, height_m=6.0)
    vertices, triangles = triangulate(*lod1_solid(part))
    assert triangles.dtype == np.int32 and triangles.shape[1] == 3
    assert triangles.min() >= 0 and triangles.max() < len(vertices)
    normals = triangle_normals(vertices, triangles)
    top, bottom = normals[:, 2] > 1e-9, normals[:, 2] < -1e-9
    assert normals[top, 2].sum() == pytest.approx(footprint.area, rel=1e-9)
    assert -normals[bottom, 2].sum() == pytest.approx(footprint.area, rel=1e-9)
    assert np.all(vertices[triangles[top]][..., 2] == 16.0) and np.all(vertices[triangles[bottom]][..., 2] == 10.0)
    # Every wall triangle faces away from the footprint: a point just outside it along its normal is not inside.
    walls = ~(top | bottom)
    centres = vertices[triangles[walls]].mean(axis=1)
    probes = centres[:, :2] + 0.01 * normals[walls, :2] / np.linalg.norm(normals[walls, :2], axis=1, keepdims=True)
    assert not shapely.contains_xy(footprint, probes[:, 0], probes[:, 1]).any()
    # The triangulated surface is closed too, and encloses the same volume.
    assert edge_imbalance([[t] for t in triangles.tolist()]) == []
    assert solid_volume(vertices, [[t] for t in triangles.tolist()]) == pytest.approx(footprint.area * 6.0)


def test_parts_extracted_from_the_synthetic_town_make_closed_solids(small_scene):
    height, width = small_scene.dsm.shape
    grid = Grid(CRS.from_user_input(small_scene.crs), small_scene.dsm_transform, width, height)
    ndsm = (small_scene.dsm - small_scene.dtm).astype(np.float32)
    buildings = extract_buildings(small_scene.labels == 6, ndsm, small_scene.dtm, grid, BuildingConfig())
    parts = [part for building in buildings for part in building.parts]
    assert parts
    for part in parts:
        vertices, shell = lod1_solid(part)
        assert edge_imbalance(shell) == []
        assert solid_volume(vertices, shell) == pytest.approx(part.footprint.area * part.height_m, rel=1e-6)


def test_a_multi_step_footprint_from_a_raster_triangulates_exactly():
    grid = Grid(CRS.from_epsg(2154), Affine(0.5, 0, 770000, 0, -0.5, 6277100), 80, 80)
    yy, xx = np.mgrid[:80, :80]
    mask = (np.abs(xx - 40) + np.abs(yy - 40) < 30) & ~((np.abs(xx - 40) < 6) & (np.abs(yy - 40) < 6))
    ndsm = np.full((80, 80), 9.0, np.float32)
    (building,) = extract_buildings(mask, ndsm, np.zeros((80, 80), np.float32), grid, BuildingConfig())
    (part,) = building.parts
    vertices, triangles = triangulate(*lod1_solid(part))
    up = triangle_normals(vertices, triangles)[:, 2]
    assert up[up > 0].sum() == pytest.approx(part.footprint.area, rel=1e-9)


def test_bad_parts_are_refused():
    with pytest.raises(InputError, match="positive height"):
        lod1_solid(BuildingPart(L_SHAPE, 0.0, 0.0))
    with pytest.raises(InputError, match="valid, non-empty polygon"):
        lod1_solid(BuildingPart(Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), 0.0, 3.0))
