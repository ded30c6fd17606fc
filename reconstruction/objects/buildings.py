"""Buildings from a mask and an nDSM: regularised footprints, LoD1 parts of one height each, GIS attributes.

The steps: clean the mask, label one component per building (map footprints first), split it into
parts of one height and outline them (:mod:`.building_parts`), then derive its attributes
(:mod:`.building_attributes`, whose docstring gives the rules).
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from scipy import ndimage
from shapely.geometry import MultiPolygon, Polygon

from reconstruction.config import BuildingConfig
from reconstruction.errors import InputError
from reconstruction.io.grid import Grid
from reconstruction.objects.building_attributes import HEIGHT_PERCENTILE, building_attributes, pitched_share
from reconstruction.objects.building_parts import (
    PART_HEIGHT_PERCENTILE,
    footprint_of,
    polygonise,
    regularise,
    segment_parts,
)

__all__ = ["HEIGHT_PERCENTILE", "Building", "BuildingConfig", "BuildingPart", "extract_buildings"]

Mask = npt.NDArray[np.bool_]
Heights = npt.NDArray[np.float32]

#: A map footprint becomes a building when the building mask covers at least this share of it (a
#: demolished or mismapped building is left out; roofs overhanging their footprint still count).
MAP_COVER_SHARE = 0.3

#: nDSM steps are measured between cells up to this far apart (at least one cell): far enough to catch a wall
#: blurred over two cells, close enough that a 45 degree roof rises less than the 3 m default jump.
STEP_WINDOW_M = 1.0

_CROSS = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class BuildingPart:
    """One LoD1 block: a footprint (CRS metres) extruded from ``ground_m`` up ``height_m`` metres."""

    footprint: Polygon
    ground_m: float
    height_m: float


@dataclass(frozen=True)
class Building:
    """A building: its footprint (courtyards as holes), its LoD1 parts and its attributes (metres, m²)."""

    id: int
    footprint: Polygon | MultiPolygon
    parts: list[BuildingPart]
    attributes: dict[str, float | int | str]


def extract_buildings(
    mask: Mask,
    ndsm: Heights,
    dtm: Heights,
    grid: Grid,
    cfg: BuildingConfig,
    footprints: list[Polygon | MultiPolygon] | None = None,
) -> list[Building]:
    """Turn a building mask into buildings with LoD1 parts and attributes.

    With ``footprints`` ("use the map you already have": cadastre, BAG, OSM), each map footprint that
    the mask covers for at least ``MAP_COVER_SHARE`` of its area becomes one building made of the
    footprint's cells, so touching terraced houses stay separate buildings; mask cells outside every
    kept footprint still form buildings of their own (new buildings the map lacks). The attribute
    ``footprint_source`` says which: ``"map"`` or ``"image"``.

    Connected patches (4-connected) of the mask become buildings once speckles (features one cell
    wide, patches under ``min_area_m2``) are removed and holes under ``min_part_area_m2`` filled; larger
    holes stay as courtyards. Each building is split into parts where the nDSM steps by more than
    ``height_jump_m`` (parts under ``min_part_area_m2`` join a neighbour); the outlines of all parts are
    simplified together so that neighbouring parts keep sharing their edges. A part's LoD1 top is the
    70th nDSM percentile inside it; parts not above ground, and buildings without any known nDSM or DTM
    value, are left out.

    Args:
        mask: (H, W) building cells on ``grid``.
        ndsm: (H, W) height above ground, metres, NaN where unknown.
        dtm: (H, W) terrain height, metres.
        grid: The north-up grid of the three rasters (metric CRS).
        cfg: Thresholds.
        footprints: optional map footprints in the grid's CRS.

    Returns:
        Buildings in reading order (top row first, then left to right), ids from 1; with
        ``footprints``, map buildings first in the map's order.

    Raises:
        InputError: The rasters do not match the grid or the grid is not north-up.
    """
    _check_inputs(mask, ndsm, dtm, grid)
    cell_area = grid.resolution**2
    tolerance = grid.resolution if cfg.simplify_m is None else cfg.simplify_m
    clean = _clean_mask(np.asarray(mask, bool), cfg.min_area_m2 / cell_area, cfg.min_part_area_m2 / cell_area)
    components, from_map = _components(clean, footprints or [], grid, cfg.min_area_m2 / cell_area)
    buildings: list[Building] = []
    for label, window in enumerate(ndimage.find_objects(components), start=1):
        if window is None:
            continue
        rows, cols = window
        inside = np.pad(components[window] == label, 1)
        heights = np.pad(ndsm[window].astype(np.float32), 1, constant_values=np.nan)
        ground = np.pad(dtm[window].astype(np.float32), 1, constant_values=np.nan)
        transform = grid.transform @ Affine.translation(cols.start - 1, rows.start - 1)
        building = _building(len(buildings) + 1, inside, heights, ground, transform, grid.resolution, tolerance, cfg)
        if building is not None:
            if footprints is not None:
                building.attributes["footprint_source"] = "map" if label <= from_map else "image"
            buildings.append(building)
    return buildings


def _components(
    clean: Mask, footprints: list[Polygon | MultiPolygon], grid: Grid, min_cells: float
) -> tuple[npt.NDArray[np.int32], int]:
    """Label image of the buildings: map footprints first (1..k), then the mask's leftover patches.

    Returns:
        The labels and ``k``, the number of labels that come from the map.
    """
    labels = np.zeros(grid.shape, np.int32)
    k = 0
    for polygon in footprints:
        window, inside = grid.cells_of(polygon)
        cells = inside & (labels[window] == 0)
        if cells.sum() and (clean[window] & cells).sum() >= MAP_COVER_SHARE * cells.sum():
            k += 1
            labels[window][cells] = k
    rest = clean & (labels == 0)
    rest = ndimage.binary_opening(rest, structure=np.ones((2, 2), bool))  # slivers along map outlines
    patches, count = ndimage.label(rest, structure=_CROSS)
    big = np.bincount(patches.ravel(), minlength=count + 1) >= min_cells
    big[0] = False
    renumber = np.zeros(count + 1, np.int32)
    renumber[big] = np.arange(k + 1, k + 1 + int(big.sum()), dtype=np.int32)
    labels[rest] = renumber[patches[rest]]
    return labels, k


def _check_inputs(mask: Mask, ndsm: Heights, dtm: Heights, grid: Grid) -> None:
    for name, array in (("building mask", mask), ("nDSM", ndsm), ("DTM", dtm)):
        if array.shape != grid.shape:
            raise InputError(
                f"The {name} has shape {array.shape} but the grid is {grid.shape}; resample it onto the working grid."
            )
    t = grid.transform
    if t.b != 0 or t.d != 0 or t.e != -t.a:
        raise InputError("Building extraction needs a north-up grid with square cells; resample the rasters first.")


def _clean_mask(mask: Mask, min_cells: float, min_hole_cells: float) -> Mask:
    """Drop one-cell-wide features and small patches, fill small holes."""
    opened = ndimage.binary_opening(mask, structure=np.ones((2, 2), bool))
    labels, count = ndimage.label(opened, structure=_CROSS)
    keep = np.bincount(labels.ravel(), minlength=count + 1) >= min_cells
    keep[0] = False
    cleaned = keep[labels]
    holes, count = ndimage.label(ndimage.binary_fill_holes(cleaned) & ~cleaned, structure=_CROSS)
    small = np.bincount(holes.ravel(), minlength=count + 1) < min_hole_cells
    small[0] = False
    return np.asarray(cleaned | small[holes], bool)


def _building(
    building_id: int,
    inside: Mask,
    heights: Heights,
    ground: Heights,
    transform: Affine,
    resolution: float,
    tolerance: float,
    cfg: BuildingConfig,
) -> Building | None:
    """One building from a padded window around its cells, or None when it is too small or unknown."""
    roof = _roof_heights(inside, heights)
    ground_m = float(np.nanmedian(ground[inside])) if np.isfinite(ground[inside]).any() else math.nan
    if roof.size == 0 or not math.isfinite(ground_m):
        return None
    min_part_cells = cfg.min_part_area_m2 / resolution**2
    radius = max(1, round(STEP_WINDOW_M / resolution))
    labels = segment_parts(inside, heights, cfg.height_jump_m, min_part_cells, radius)
    outlines = regularise(polygonise(labels, transform), tolerance)
    parts: list[BuildingPart] = []
    for label, polygons in outlines.items():
        cells = labels == label
        part_ground = ground[cells & np.isfinite(ground)]
        base = float(np.median(part_ground)) if part_ground.size else ground_m
        top = round(float(np.percentile(heights[cells & np.isfinite(heights)], PART_HEIGHT_PERCENTILE)), 2)
        parts += [BuildingPart(p, round(base, 2), top) for p in polygons] if top > 0 else []
    footprint = footprint_of(shapely.union_all([p.footprint for p in parts])) if parts else None
    if footprint is None or footprint.area < cfg.min_area_m2:
        return None
    share = pitched_share(inside, heights, resolution)
    attributes = building_attributes(footprint, roof, ground_m, share, cfg.storey_height_m)
    return Building(building_id, footprint, parts, attributes)


def _roof_heights(inside: Mask, heights: Heights) -> Heights:
    """Finite nDSM values one cell in from the outline, or of every cell when nothing is that far in."""
    core = ndimage.binary_erosion(inside, structure=_CROSS) & np.isfinite(heights)
    return heights[core if core.any() else inside & np.isfinite(heights)]
