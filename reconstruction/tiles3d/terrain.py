"""The terrain TIN to a 3D Tiles 1.1 tileset: smooth-shaded ground patches with per-patch metadata.

The TIN's triangles are grouped into square patches of ``patch_m`` (by their centroid); each patch is one
feature (class ``terrain_patch``) with its own copy of the vertices it uses. Normals are computed on the
whole TIN before it is cut (area-weighted at each vertex), so the shading runs on across patch edges. The
hierarchy and glb layout are those of :func:`reconstruction.tiles3d.tileset.write_feature_tileset`,
bounded by ``max_vertices_per_tile`` (16-bit indices by default).

Parent tiles (distance levels of detail) show coarser TINs: the TIN is sampled on a regular grid (its own
cell size, coarser when that would pass ``COARSE_MAX_SAMPLES``) and triangulated again by the terrain stage's
error-bounded simplification (:func:`reconstruction.terrain.build_tin`) at each bound of
``COARSE_BOUNDS_M``; a bound that saves under a third of the triangles is skipped. Each coarse TIN is cut
into the same patches; a patch's stand-in error is the coarse TIN's measured largest vertical distance to
the samples of the full one, metres. Parent rows carry the full-detail patch's attributes.
"""

import functools
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS
from scipy.interpolate import LinearNDInterpolator

from reconstruction.config import TinConfig
from reconstruction.errors import ConfigError, InputError
from reconstruction.io.grid import Grid
from reconstruction.terrain.tin import Tin, build_tin
from reconstruction.tiles3d.frame import EnuFrame, Float64s, Int64s, face_normals, linear_rgba, smooth_normals
from reconstruction.tiles3d.metadata import MetadataClass, Property
from reconstruction.tiles3d.tileset import Coarse, FeatureMesh, TileFeature, write_feature_tileset

#: Vertical error bounds of the coarser TINs of parent tiles, from the level above the leaves up, metres.
COARSE_BOUNDS_M = (1.0, 4.0, 16.0)
#: Most grid samples of the full TIN the coarse TINs are fitted to.
COARSE_MAX_SAMPLES = 4_000_000

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
    corner = vertices[:, :2].min(axis=0)
    centroids = vertices[triangles].mean(axis=1)[:, :2]
    cells = np.floor((centroids - corner) / patch_m).astype(np.int64)
    patch_cells, patch_of = np.unique(cells, axis=0, return_inverse=True)
    patch_of = patch_of.reshape(-1)

    @functools.cache
    def levels() -> list[tuple[list[FeatureMesh | None], float]]:
        return [(_patch_meshes(c, frame, corner, patch_m, patch_cells), e) for c, e in _coarse_tins(tin, crs)]

    def stand_ins(number: int) -> tuple[Coarse, ...]:
        return tuple(Coarse(meshes[number - 1], error) for meshes, error in levels())

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
        coarse = functools.cache(functools.partial(stand_ins, number))
        features.append(TileFeature(mesh, row, f"Terrain patch {number}", coarse))
    return write_feature_tileset(features, TERRAIN, frame, out_dir, len(features), max_vertices_per_tile)


def _coarse_tins(tin: Tin, crs: CRS) -> list[tuple[Tin, float]]:
    """Coarser and coarser TINs of the same ground, each with its largest vertical error, metres."""
    vertices = np.asarray(tin.vertices, dtype=np.float64)
    xs = np.unique(np.round(vertices[:, 0], 6))
    lo, hi = vertices[:, :2].min(axis=0), vertices[:, :2].max(axis=0)
    spacing = float(np.diff(xs).min()) if len(xs) > 1 else 1.0
    spacing = max(spacing, float(np.sqrt(np.prod(hi - lo + spacing) / COARSE_MAX_SAMPLES)))
    width, height = (int(np.ceil(v)) + 1 for v in (hi - lo) / spacing)
    if min(width, height) < 2:
        return []
    grid = Grid(crs, Affine(spacing, 0, lo[0] - spacing / 2, 0, -spacing, hi[1] + spacing / 2), width, height)
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    x, y = lo[0] + cols * spacing, hi[1] - rows * spacing
    samples = LinearNDInterpolator(vertices[:, :2], vertices[:, 2])(x, y).astype(np.float32)
    levels: list[tuple[Tin, float]] = []
    finer = len(tin)
    for bound in COARSE_BOUNDS_M:
        coarse, report = build_tin(samples, grid, TinConfig(max_error_m=bound))
        if len(coarse) > finer * 2 / 3:
            continue
        levels.append((coarse, report.max_error_m))
        finer = len(coarse)
    return levels


def _patch_meshes(
    tin: Tin, frame: EnuFrame, corner: Float64s, patch_m: float, patch_cells: Int64s
) -> list[FeatureMesh | None]:
    """The triangles of ``tin`` in each patch cell (by centroid), as meshes; None where a cell has none."""
    vertices = np.asarray(tin.vertices, dtype=np.float64)
    triangles = np.asarray(tin.triangles, dtype=np.int64)
    enu = frame(vertices)
    normals = smooth_normals(enu, triangles)
    cells = np.floor((vertices[triangles].mean(axis=1)[:, :2] - corner) / patch_m).astype(np.int64)
    number = {tuple(c): i for i, c in enumerate(patch_cells.tolist())}
    patch_of = np.array([number.get(tuple(c), -1) for c in cells.tolist()], dtype=np.int64)
    colour = linear_rgba(TERRAIN_SRGB)
    meshes: list[FeatureMesh | None] = []
    for patch in range(len(patch_cells)):
        chosen = np.flatnonzero(patch_of == patch)
        if not len(chosen):
            meshes.append(None)
            continue
        used, local = np.unique(triangles[chosen], return_inverse=True)
        meshes.append(FeatureMesh(enu[used], normals[used], local.reshape(-1, 3), np.tile(colour, (len(used), 1))))
    return meshes
