"""A building's LoD1 parts: regions of one roof height, and their outlines regularised together."""

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from rasterio import features as rio_features
from scipy import ndimage
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

Mask = npt.NDArray[np.bool_]
Heights = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int32]

#: nDSM percentile of the flat LoD1 top of a part.
PART_HEIGHT_PERCENTILE = 70.0

_CROSS = ndimage.generate_binary_structure(2, 1)


def segment_parts(inside: Mask, heights: Heights, jump: float, min_cells: float, radius: int) -> Labels:
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


def polygonise(labels: Labels, transform: Affine) -> dict[int, Polygon]:
    """One polygon per part label (parts are 4-connected), in CRS coordinates along cell edges."""
    out: dict[int, Polygon] = {}
    for geom, value in rio_features.shapes(labels, mask=labels > 0, transform=transform, connectivity=4):
        polygon = shape(geom)
        if int(value) not in out or polygon.area > out[int(value)].area:
            out[int(value)] = polygon
    return dict(sorted(out.items()))


def regularise(outlines: dict[int, Polygon], tolerance: float) -> dict[int, list[Polygon]]:
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


def footprint_of(geom: BaseGeometry) -> Polygon | MultiPolygon | None:
    """The valid, oriented (multi)polygon of a union of parts, or None when nothing of it is left."""
    polygons = _polygons_of(shapely.make_valid(geom))
    if not polygons:
        return None
    outline = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    return shapely.orient_polygons(outline)  # type: ignore[no-any-return]
