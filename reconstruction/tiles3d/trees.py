"""Trees to a 3D Tiles 1.1 tileset: one low-poly tree per feature (a trunk prism under a crown bipyramid).

A tree stands at its top position on the ground (``top_x``, ``top_y``, ``ground_m``); its trunk is a
hexagonal prism up to ``TRUNK_TOP`` of the height, its crown a ten-sided bipyramid of the crown radius
(half ``crown_diameter_m``) from ``CROWN_BOTTOM`` of the height to the top, widest at ``CROWN_WIDEST``:
24 vertices and 32 triangles, smooth-shaded (area-weighted vertex normals), so that the trunk reads as a
cylinder and the crown as a rounded mass rather than as facets. The hierarchy and glb layout are those of
:func:`reconstruction.tiles3d.tileset.write_feature_tileset`.

Parent tiles (distance levels of detail) show the tallest trees as a four-sided bipyramid each (6 vertices,
8 triangles): the crown's widest ring as a square of the crown radius, its top apex at the tree's top and
its bottom apex on the ground, standing in for the trunk. Its error is bounded by half the crown radius
(the square against the ten-sided ring, the lower crown) plus the trunk radius, metres.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pyproj import CRS

from reconstruction.errors import ConfigError, InputError
from reconstruction.objects.feature import Feature
from reconstruction.tiles3d.frame import EnuFrame, Float64s, Int64s, linear_rgba, smooth_normals
from reconstruction.tiles3d.metadata import MetadataClass, Property
from reconstruction.tiles3d.tileset import Coarse, FeatureMesh, TileFeature, write_feature_tileset

#: Crown and trunk proportions, as fractions of the tree's height above ground.
CROWN_BOTTOM, CROWN_WIDEST, TRUNK_TOP = 0.3, 0.6, 0.45
#: Trunk radius as a fraction of the crown radius, and its bounds, metres.
TRUNK_SHARE, TRUNK_MIN_M, TRUNK_MAX_M = 0.08, 0.1, 0.6
TRUNK_SIDES, CROWN_SIDES = 6, 10

CROWN_SRGB, TRUNK_SRGB = (74, 128, 60), (110, 84, 60)

TREE = MetadataClass(
    schema_id="rs3d_trees",
    class_id="tree",
    name="Tree",
    description="A tree detected by rs3d in the canopy height model.",
    table_name="trees",
    properties=(
        Property("tree_id", "SCALAR", "UINT32", "Tree number within the area (1-based, order of vectors/trees)."),
        Property("height_m", "SCALAR", "FLOAT32", "Height of the top above ground, metres."),
        Property("crown_diameter_m", "SCALAR", "FLOAT32", "Diameter of the disk of the crown's area, metres."),
        Property("ground_m", "SCALAR", "FLOAT32", "Ground elevation at the top, metres in the CRS datum."),
        Property("class_confidence", "SCALAR", "FLOAT32", "Mean model confidence in the class (0-1).", -1.0),
    ),
)


def write_tree_tileset(trees: Sequence[Feature], crs: CRS, out_dir: Path, max_features_per_tile: int = 2000) -> Path:
    """Write trees as a 3D Tiles 1.1 tileset of low-poly glb trees with per-tree metadata (class ``tree``).

    Args:
        trees: Tree features as rs3d writes them (``vectors/trees.gpkg``): attributes ``top_x``, ``top_y``
            (``crs`` metres), ``height_m``, ``crown_diameter_m``, ``ground_m`` and optionally
            ``class_confidence``. Trees are numbered 1, 2, ... in this order.
        crs: Projected metric CRS of the trees; heights are taken as ellipsoidal.
        out_dir: Folder to create; receives ``tileset.json`` and ``tiles/*.glb``.
        max_features_per_tile: Most trees in one glb.

    Returns:
        Path of the written ``tileset.json``.

    Raises:
        ConfigError: ``max_features_per_tile`` is below 1.
        CRSError: ``crs`` cannot be transformed to ECEF.
        InputError: There is no tree, or a tree lacks a position, height or crown, or they are not positive.
    """
    if max_features_per_tile < 1:
        raise ConfigError(f"max_features_per_tile must be at least 1, got {max_features_per_tile}.")
    if not trees:
        raise InputError("There are no trees to write as 3D Tiles.")
    local = [_tree_solid(i + 1, tree) for i, tree in enumerate(trees)]
    frame = EnuFrame.around(crs, np.concatenate([v for v, _, _ in local]))
    features = []
    for i, (tree, (vertices, triangles, colours)) in enumerate(zip(trees, local, strict=True)):
        enu = frame(vertices)
        mesh = FeatureMesh(enu, smooth_normals(enu, triangles), triangles, colours)
        coarse_xyz, coarse_triangles, error = _coarse_tree(vertices)
        coarse_enu = frame(coarse_xyz)
        coarse = FeatureMesh(
            coarse_enu,
            smooth_normals(coarse_enu, coarse_triangles),
            coarse_triangles,
            np.tile(linear_rgba(CROWN_SRGB), (len(coarse_xyz), 1)),
        )
        label = f"Tree {i + 1}"
        features.append(TileFeature(mesh, {**tree.attributes, "tree_id": i + 1}, label, (Coarse(coarse, error),)))
    return write_feature_tileset(features, TREE, frame, out_dir, max_features_per_tile)


def _tree_solid(number: int, tree: Feature) -> tuple[Float64s, Int64s, np.ndarray]:
    """CRS vertices, counter-clockwise triangles (seen from outside) and each vertex's RGBA colour."""
    try:
        x, y, ground = (float(tree.attributes[k]) for k in ("top_x", "top_y", "ground_m"))
        height, diameter = float(tree.attributes["height_m"]), float(tree.attributes["crown_diameter_m"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"Tree {number} lacks a position, height or crown ({err}); detect trees with rs3d.") from err
    if not (height > 0 and diameter > 0 and np.isfinite([x, y, ground]).all()):
        raise InputError(f"Tree {number} has height {height} m and crown {diameter} m; both must be positive.")
    crown = diameter / 2
    trunk = min(max(TRUNK_SHARE * crown, TRUNK_MIN_M), TRUNK_MAX_M)
    t_ring = _ring(TRUNK_SIDES, trunk)
    c_ring = _ring(CROWN_SIDES, crown)
    vertices = np.concatenate(
        [
            np.column_stack([t_ring, np.zeros(TRUNK_SIDES)]),  # 0..5 trunk foot
            np.column_stack([t_ring, np.full(TRUNK_SIDES, TRUNK_TOP * height)]),  # 6..11 trunk head
            np.column_stack([c_ring, np.full(CROWN_SIDES, CROWN_WIDEST * height)]),  # crown ring
            [[0.0, 0.0, CROWN_BOTTOM * height], [0.0, 0.0, height]],  # crown bottom and top apexes
        ]
    ) + [x, y, ground]
    triangles: list[tuple[int, int, int]] = []
    for k in range(TRUNK_SIDES):
        a, b = k, (k + 1) % TRUNK_SIDES
        triangles += [(a, b, b + TRUNK_SIDES), (a, b + TRUNK_SIDES, a + TRUNK_SIDES)]
    ring, bottom, top = 2 * TRUNK_SIDES, 2 * TRUNK_SIDES + CROWN_SIDES, 2 * TRUNK_SIDES + CROWN_SIDES + 1
    for k in range(CROWN_SIDES):
        a, b = ring + k, ring + (k + 1) % CROWN_SIDES
        triangles += [(a, b, top), (b, a, bottom)]
    kinds = np.array([0] * 2 * TRUNK_SIDES + [1] * (CROWN_SIDES + 2))
    colours = np.array([linear_rgba(TRUNK_SRGB), linear_rgba(CROWN_SRGB)])[kinds]
    return vertices, np.asarray(triangles, dtype=np.int64), colours


def _coarse_tree(vertices: Float64s) -> tuple[Float64s, Int64s, float]:
    """The stand-in bipyramid of a tree from its full vertices (CRS), its triangles and its error, metres."""
    foot = vertices[: 2 * TRUNK_SIDES]
    ring = vertices[2 * TRUNK_SIDES : 2 * TRUNK_SIDES + CROWN_SIDES]
    top = vertices[-1]
    centre = ring.mean(axis=0)
    crown = float(np.linalg.norm(ring[0, :2] - centre[:2]))
    trunk = float(np.linalg.norm(foot[0, :2] - foot[:TRUNK_SIDES, :2].mean(axis=0)))
    ground = np.array([centre[0], centre[1], foot[0, 2]])
    square = np.column_stack([_ring(4, crown), np.zeros(4)]) + centre
    coarse = np.vstack([square, [top, ground]])
    triangles = np.array([t for k in range(4) for t in ((k, (k + 1) % 4, 4), ((k + 1) % 4, k, 5))], dtype=np.int64)
    return coarse, triangles, 0.5 * crown + trunk


def _ring(sides: int, radius: float) -> Float64s:
    angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    return np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
