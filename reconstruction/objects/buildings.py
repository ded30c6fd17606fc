"""Buildings from a mask and an nDSM: regularised footprints, LoD1 parts of one height each, GIS attributes.

Attribute rules (heights in metres above ground, areas in square metres):

- ``height_m`` = 90th, ``eave_m`` = 25th, ``ridge_m`` = 99th percentile of the nDSM inside the footprint.
- ``floors`` = ``max(1, round(eave_m / storey_height_m))``: the 25th percentile is the roof of a flat building
  and lies near the eaves of a pitched one, so attics under the roof slopes do not count as floors.
- ``roof_type`` is ``"pitched"`` when ``ridge_m - eave_m >= PITCHED_MIN_RISE_M`` *and* at least
  ``PITCHED_MIN_SHARE`` of the roof cells (one cell inside the outline) slope between
  ``PITCHED_MIN_SLOPE_DEG`` and ``PITCHED_MAX_SLOPE_DEG`` (steeper is a wall); otherwise ``"flat"``.
- ``building_type``, first rule that matches (``width`` = area / long side of the minimum rotated rectangle,
  the mean width of a bar):

  ===================================  ================================================================
  type                                 rule
  ===================================  ================================================================
  ``"high-rise"``                      height_m >= HIGH_RISE_MIN_HEIGHT_M (35)
  ``"annex"``                          area_m2 < ANNEX_MAX_AREA_M2 (40) and height_m < ANNEX_MAX_HEIGHT_M (5)
  ``"commercial/industrial hall"``     area_m2 >= HALL_MIN_AREA_M2 (300), height_m <= HALL_MAX_HEIGHT_M (15)
                                       and width >= HALL_MIN_WIDTH_M (20), or >= HALL_MIN_FLAT_WIDTH_M (15)
                                       under a flat roof (narrower bars are lit from both sides: housing)
  ``"apartment block"``                eave_m >= APARTMENT_MIN_EAVE_M (10), or floors >= APARTMENT_MIN_FLOORS
                                       (2) and area_m2 >= APARTMENT_MIN_AREA_M2 (300)
  ``"house"``                          everything else
  ===================================  ================================================================

All nDSM statistics use the cells one cell in from the outline (edge cells mix roof and ground), or every
cell of the building when it is too thin to have an inside.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from rasterio import features as rio_features
from scipy import ndimage
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from reconstruction.config import BuildingConfig
from reconstruction.errors import InputError
from reconstruction.io.grid import Grid

Mask = npt.NDArray[np.bool_]
Heights = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int32]

#: nDSM percentiles of the building attributes and of the flat LoD1 top of a part.
HEIGHT_PERCENTILE = 90.0
EAVE_PERCENTILE = 25.0
RIDGE_PERCENTILE = 99.0
PART_HEIGHT_PERCENTILE = 70.0

#: A map footprint becomes a building when the building mask covers at least this share of it (a
#: demolished or mismapped building is left out; roofs overhanging their footprint still count).
MAP_COVER_SHARE = 0.3

#: nDSM steps are measured between cells up to this far apart (at least one cell): far enough to catch a wall
#: blurred over two cells, close enough that a 45 degree roof rises less than the 3 m default jump.
STEP_WINDOW_M = 1.0

#: Roof rule: a pitched roof rises at least this much and most of it slopes within these angles.
PITCHED_MIN_RISE_M = 1.0
PITCHED_MIN_SLOPE_DEG = 12.0
PITCHED_MAX_SLOPE_DEG = 70.0
PITCHED_MIN_SHARE = 0.4

#: Building type thresholds (see the module docstring table).
HIGH_RISE_MIN_HEIGHT_M = 35.0
ANNEX_MAX_AREA_M2 = 40.0
ANNEX_MAX_HEIGHT_M = 5.0
HALL_MIN_AREA_M2 = 300.0
HALL_MAX_HEIGHT_M = 15.0
HALL_MIN_WIDTH_M = 20.0
HALL_MIN_FLAT_WIDTH_M = 15.0
APARTMENT_MIN_EAVE_M = 10.0
APARTMENT_MIN_FLOORS = 2
APARTMENT_MIN_AREA_M2 = 300.0

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
    labels = _segment_parts(inside, heights, cfg.height_jump_m, min_part_cells, radius)
    outlines = _regularise(_polygonise(labels, transform), tolerance)
    parts: list[BuildingPart] = []
    for label, polygons in outlines.items():
        cells = labels == label
        part_ground = ground[cells & np.isfinite(ground)]
        base = float(np.median(part_ground)) if part_ground.size else ground_m
        top = round(float(np.percentile(heights[cells & np.isfinite(heights)], PART_HEIGHT_PERCENTILE)), 2)
        parts += [BuildingPart(p, round(base, 2), top) for p in polygons] if top > 0 else []
    footprint = _footprint(shapely.union_all([p.footprint for p in parts])) if parts else None
    if footprint is None or footprint.area < cfg.min_area_m2:
        return None
    share = _pitched_share(inside, heights, resolution)
    attributes = _attributes(footprint, roof, ground_m, share, cfg.storey_height_m)
    return Building(building_id, footprint, parts, attributes)


def _roof_heights(inside: Mask, heights: Heights) -> Heights:
    """Finite nDSM values one cell in from the outline, or of every cell when nothing is that far in."""
    core = ndimage.binary_erosion(inside, structure=_CROSS) & np.isfinite(heights)
    return heights[core if core.any() else inside & np.isfinite(heights)]


def _segment_parts(inside: Mask, heights: Heights, jump: float, min_cells: float, radius: int) -> Labels:
    """Label regions of one height: seeds between nDSM steps, grown back over the steps, similar ones merged.

    A cell is a step when the nDSM range within ``radius`` cells of it exceeds ``jump``; connected
    non-step areas of at least ``min_cells`` seed the parts, and every other cell joins the adjacent
    region whose height is closest (region growing), so parts stay connected.
    """
    valid = inside & np.isfinite(heights)
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disc = x**2 + y**2 <= radius**2
    high = ndimage.maximum_filter(np.where(valid, heights, -np.inf), footprint=disc)
    low = ndimage.minimum_filter(np.where(valid, heights, np.inf), footprint=disc)
    seeds, count = ndimage.label(valid & (high - low <= jump), structure=_CROSS)
    big = np.bincount(seeds.ravel(), minlength=count + 1) >= min_cells
    big[0] = False
    if not big.any():
        return inside.astype(np.int32)
    relabel = np.zeros(count + 1, np.int32)
    relabel[big] = np.arange(1, int(big.sum()) + 1, dtype=np.int32)
    seeds = relabel[seeds]
    levels = np.concatenate([[np.nan], ndimage.median(heights, seeds, np.arange(1, int(big.sum()) + 1))])
    return _merge_similar(_grow(seeds, inside, heights, levels), heights, jump)


def _grow(seeds: Labels, inside: Mask, heights: Heights, levels: npt.NDArray[np.float64]) -> Labels:
    """Give every unlabelled cell of ``inside`` the label of its 4-neighbour whose level is closest."""
    parts = seeds.copy()
    while True:
        todo = inside & (parts == 0)
        best = np.zeros_like(parts)
        cost = np.full(parts.shape, np.inf)
        for shift in (
            (1, 0),
            (-1, 0),
            (0, 1),
            (0, -1),
        ):  # the window has a one-cell empty margin, so np.roll's wrap-around is harmless
            neighbour = np.roll(parts, shift, axis=(0, 1))
            gap = np.nan_to_num(np.abs(heights - levels[neighbour]), nan=0.0)
            better = todo & (neighbour > 0) & (gap < cost)
            best[better], cost[better] = neighbour[better], gap[better]
        if not (best > 0).any():
            return parts
        parts[best > 0] = best[best > 0]


def _merge_similar(parts: Labels, heights: Heights, jump: float) -> Labels:
    """Merge adjacent parts whose heights differ by less than ``jump``, closest pair first."""
    count = int(parts.max())
    labels = list(range(1, count + 1))
    level = {i: float(np.nanpercentile(heights[parts == i], PART_HEIGHT_PERCENTILE)) for i in labels}
    size = {i: float(np.count_nonzero(parts == i)) for i in labels}
    pairs: set[tuple[int, int]] = set()
    for left, right in ((parts[:, :-1], parts[:, 1:]), (parts[:-1], parts[1:])):
        touch = (left > 0) & (right > 0) & (left != right)
        pairs |= {(min(x, y), max(x, y)) for x, y in zip(left[touch].tolist(), right[touch].tolist(), strict=True)}
    root = {i: i for i in labels}
    while True:
        edges = {(root[x], root[y]) for x, y in pairs if root[x] != root[y]}
        if not edges:
            break
        keep, gone = min(edges, key=lambda e: (abs(level[e[0]] - level[e[1]]), e))
        if abs(level[keep] - level[gone]) >= jump:
            break
        level[keep] = (level[keep] * size[keep] + level[gone] * size[gone]) / (size[keep] + size[gone])
        size[keep] += size[gone]
        root = {k: (keep if v == gone else v) for k, v in root.items()}
    lookup = np.zeros(count + 1, np.int32)
    lookup[list(root)] = list(root.values())
    return _in_reading_order(lookup[parts])


def _in_reading_order(labels: Labels) -> Labels:
    """Renumber labels 1..n in the raster order of their first cell."""
    values, first = np.unique(labels.ravel(), return_index=True)
    keep = values > 0
    renumber = np.zeros(int(labels.max()) + 1, np.int32)
    renumber[values[keep][np.argsort(first[keep])]] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return renumber[labels]


def _polygonise(labels: Labels, transform: Affine) -> dict[int, Polygon]:
    """One polygon per part label (parts are 4-connected), in CRS coordinates along cell edges."""
    out: dict[int, Polygon] = {}
    for geom, value in rio_features.shapes(labels, mask=labels > 0, transform=transform, connectivity=4):
        polygon = shape(geom)
        if int(value) not in out or polygon.area > out[int(value)].area:
            out[int(value)] = polygon
    return dict(sorted(out.items()))


def _regularise(outlines: dict[int, Polygon], tolerance: float) -> dict[int, list[Polygon]]:
    """Simplify all parts of one building together (shared edges stay shared); keep valid polygons only."""
    labels = list(outlines)
    simplified = shapely.coverage_simplify(np.array([outlines[k] for k in labels], dtype=object), tolerance)
    out: dict[int, list[Polygon]] = {}
    for label, geom in zip(labels, simplified, strict=True):
        polygons = [shapely.orient_polygons(p) for p in _polygons_of(shapely.make_valid(geom)) if p.area > 0]
        if polygons:
            out[label] = sorted(polygons, key=lambda p: -p.area)
    return out


def _polygons_of(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons inside any geometry (make_valid may return nested collections)."""
    out: list[Polygon] = []
    for part in shapely.get_parts(geom).tolist():
        if isinstance(part, Polygon):
            out += [part] if not part.is_empty else []
        elif isinstance(part, MultiPolygon | GeometryCollection):
            out += _polygons_of(part)
    return out


def _footprint(geom: BaseGeometry) -> Polygon | MultiPolygon | None:
    polygons = _polygons_of(shapely.make_valid(geom))
    if not polygons:
        return None
    outline = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    return shapely.orient_polygons(outline)  # type: ignore[no-any-return]


def _pitched_share(inside: Mask, heights: Heights, resolution: float) -> float:
    """Share of roof cells (one cell in from the outline) sloping like a pitched roof."""
    gy, gx = np.gradient(np.where(inside, heights, np.nan).astype(np.float64), resolution)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))
    roof = ndimage.binary_erosion(inside, structure=_CROSS) & np.isfinite(slope)
    if not roof.any():
        return 0.0
    pitched = (slope[roof] >= PITCHED_MIN_SLOPE_DEG) & (slope[roof] <= PITCHED_MAX_SLOPE_DEG)
    return float(pitched.mean())


def _attributes(
    footprint: Polygon | MultiPolygon, heights: Heights, ground_m: float, pitched_share: float, storey_m: float
) -> dict[str, float | int | str]:
    height, eave, ridge = (
        float(np.percentile(heights, q)) for q in (HEIGHT_PERCENTILE, EAVE_PERCENTILE, RIDGE_PERCENTILE)
    )
    pitched = ridge - eave >= PITCHED_MIN_RISE_M and pitched_share >= PITCHED_MIN_SHARE
    floors = max(1, round(eave / storey_m))
    area = float(footprint.area)
    return {
        "height_m": round(height, 2),
        "eave_m": round(eave, 2),
        "ridge_m": round(ridge, 2),
        "floors": floors,
        "area_m2": round(area, 1),
        "perimeter_m": round(float(footprint.length), 1),
        "ground_m": round(ground_m, 2),
        "roof_type": "pitched" if pitched else "flat",
        "building_type": _building_type(area, height, eave, floors, _width(footprint), not pitched),
    }


def _width(footprint: Polygon | MultiPolygon) -> float:
    """Mean width: area over the long side of the minimum rotated rectangle, metres."""
    rectangle = shapely.minimum_rotated_rectangle(footprint)
    if not isinstance(rectangle, Polygon):
        return 0.0
    corners = np.asarray(rectangle.exterior.coords)[:3]
    return float(footprint.area / max(np.hypot(*np.diff(corners, axis=0).T).max(), 1e-9))


def _building_type(area: float, height: float, eave: float, floors: int, width: float, flat: bool) -> str:
    """The first matching rule of the module docstring table."""
    if height >= HIGH_RISE_MIN_HEIGHT_M:
        return "high-rise"
    if area < ANNEX_MAX_AREA_M2 and height < ANNEX_MAX_HEIGHT_M:
        return "annex"
    wide = width >= HALL_MIN_WIDTH_M or (flat and width >= HALL_MIN_FLAT_WIDTH_M)
    if area >= HALL_MIN_AREA_M2 and height <= HALL_MAX_HEIGHT_M and wide:
        return "commercial/industrial hall"
    if eave >= APARTMENT_MIN_EAVE_M or (floors >= APARTMENT_MIN_FLOORS and area >= APARTMENT_MIN_AREA_M2):
        return "apartment block"
    return "house"
