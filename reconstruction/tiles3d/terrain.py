"""The terrain TIN to a 3D Tiles 1.1 tileset: smooth-shaded ground patches with per-patch metadata.

The TIN's triangles are grouped into square patches of ``patch_m`` (by their centroid); each patch is one
feature (class ``terrain_patch``) with its own copy of the vertices it uses. Normals are computed on the
whole TIN before it is cut (area-weighted at each vertex), so the shading runs on across patch edges. The
hierarchy and glb layout are those of :func:`reconstruction.tiles3d.tileset.write_feature_tileset`,
bounded by ``max_vertices_per_tile`` (16-bit indices by default).
"""

from pathlib import Path

import numpy as np
from pyproj import CRS

from reconstruction.errors import ConfigError, InputError
from reconstruction.terrain.tin import Tin
from reconstruction.tiles3d.frame import EnuFrame, face_normals, linear_rgba, smooth_normals
from reconstruction.tiles3d.metadata import MetadataClass, Property
from reconstruction.tiles3d.tileset import FeatureMesh, write_feature_tileset

#: Earthy grey-green, sRGB.
TERRAIN_SRGB = (128, 134, 104)

TERRAIN = MetadataClass(
    schema_id="rs3d_terrain",
    class_id="terrain_patch",
    name="Terrain patch",
    description="A square patch of the terrain TIN (bare earth) built by rs3d.",
    table_name="terrain",
    properties=(
        Property("patch_id", "SCALAR", "UINT32", "Patch number within the area."),
        Property("area_m2", "SCALAR", "FLOAT32", "Surface area of the patch's triangles, square metres."),
        Property("triangles", "SCALAR", "UINT32", "Number of TIN triangles in the patch."),
        Property("min_height_m", "SCALAR", "FLOAT32", "Lowest ground elevation, metres in the CRS datum."),
        Property("max_height_m", "SCALAR", "FLOAT32", "Highest ground elevation, metres in the CRS datum."),
        Property("max_error_m", "SCALAR", "FLOAT32", "Largest TIN-to-DTM vertical distance of the area.", -1.0),
    ),
)


def write_terrain_tileset(
    tin: Tin,
    crs: CRS,
    out_dir: Path,
    max_error_m: float | None = None,
    patch_m: float = 100.0,
    max_vertices_per_tile: int = 65_535,
) -> Path:
    """Write a terrain TIN as a 3D Tiles 1.1 tileset of smooth-shaded glb patches with per-patch metadata.

    Args:
        tin: The TIN (vertices in ``crs`` metres, counter-clockwise triangles seen from above).
        crs: Projected metric CRS of the TIN; heights are taken as ellipsoidal.
        out_dir: Folder to create; receives ``tileset.json`` and ``tiles/*.glb``.
        max_error_m: The TIN's measured largest error against the DTM (``TinReport.max_error_m``), metres;
            stored with every patch when given.
        patch_m: Side of the square patches, metres.
        max_vertices_per_tile: Most vertices in one glb.

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        ConfigError: ``patch_m`` is not positive or ``max_vertices_per_tile`` is below 1.
        CRSError: ``crs`` cannot be transformed to ECEF.
        InputError: The TIN has no triangle.
    """
    if not patch_m > 0:
        raise ConfigError(f"patch_m must be a positive number of metres, got {patch_m}.")
    if len(tin) == 0:
        raise InputError("The terrain TIN has no triangle to write; check the DTM.")
    vertices = np.asarray(tin.vertices, dtype=np.float64)
    triangles = np.asarray(tin.triangles, dtype=np.int64)
    frame = EnuFrame.around(crs, vertices)
    enu = frame(vertices)
    normals = smooth_normals(enu, triangles)
    areas = np.linalg.norm(face_normals(enu, triangles), axis=1) / 2
    centroids = vertices[triangles].mean(axis=1)[:, :2]
    cells = np.floor((centroids - vertices[:, :2].min(axis=0)) / patch_m).astype(np.int64)
    _, patch_of = np.unique(cells, axis=0, return_inverse=True)
    patch_of = patch_of.reshape(-1)
    order = np.argsort(patch_of, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(patch_of[order]) != 0, True])
    colour = linear_rgba(TERRAIN_SRGB)
    features = []
    for number, (start, stop) in enumerate(zip(starts[:-1], starts[1:], strict=True), start=1):
        chosen = order[start:stop]
        used, local = np.unique(triangles[chosen], return_inverse=True)
        z = vertices[used, 2]
        row = {
            "patch_id": number,
            "area_m2": float(areas[chosen].sum()),
            "triangles": len(chosen),
            "min_height_m": float(z.min()),
            "max_height_m": float(z.max()),
            "max_error_m": max_error_m,
        }
        mesh = FeatureMesh(enu[used], normals[used], local.reshape(-1, 3), np.tile(colour, (len(used), 1)))
        features.append((mesh, row, f"Terrain patch {number}"))
    return write_feature_tileset(features, TERRAIN, frame, out_dir, len(features), max_vertices_per_tile)
