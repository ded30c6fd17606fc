"""Vegetation: individual trees (tops, heights, crowns) from an nDSM, and low-vegetation areas.

Tree rules (heights in metres above ground, lengths in metres of the grid CRS):

- A *crown cell* is a tree-mask cell whose nDSM is known and at least ``min_height_m``.
- The nDSM is smoothed inside the crown cells with a Gaussian of sigma ``smoothing_m`` (normalised, so crown
  edges are not pulled towards the ground outside the mask); this suppresses branch noise.
- A *tree top* is a crown cell of smoothed height ``h >= min_height_m`` that is the highest smoothed value
  within a disk of radius ``WINDOW_RADIUS_PER_M * h + WINDOW_RADIUS_BASE_M`` (0.1 h + 0.5 m: taller trees
  have wider crowns, so their tops suppress more of the canopy around them; the window is about half a
  typical crown radius so that the tops of touching crowns 2-3 m apart are both found, while the smoothing
  removes the extra sub-tops of broad crowns). One ``maximum_filter`` pass runs per window radius in whole
  cells (one pass per height band); adjacent cells of an equal top (a plateau, heights compared to the
  millimetre) make one top at their centroid.
- Crowns grow from the tops by a marker-controlled watershed (``scipy.ndimage.watershed_ift``) of the
  inverted smoothed nDSM, quantised to uint16, over the crown cells. Tops whose segment is smaller than a
  ``min_crown_m`` disk are dropped and the watershed is run again, so that their cells join neighbouring
  crowns. A crown keeps the 4-connected part of its segment that holds its top.
- ``crown_diameter_m`` = ``2 * sqrt(area / pi)`` of that crown; trees with a smaller diameter than
  ``min_crown_m`` are dropped. ``height_m`` is the highest raw nDSM within ``max(one cell, 2 * smoothing_m)``
  of the top (smoothing lowers peaks), ``ground_m`` the DTM at the top.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from affine import Affine
from rasterio import features as rio_features
from scipy import ndimage
from shapely.geometry import Polygon, shape

from reconstruction.config import TreeConfig
from reconstruction.errors import InputError
from reconstruction.io.grid import Grid
from reconstruction.objects.patches import patch_polygons

Mask = npt.NDArray[np.bool_]
Heights = npt.NDArray[np.float32]

#: Local-maximum window radius in metres: ``WINDOW_RADIUS_PER_M * height + WINDOW_RADIUS_BASE_M``.
WINDOW_RADIUS_PER_M = 0.1
WINDOW_RADIUS_BASE_M = 0.5

_CROSS = ndimage.generate_binary_structure(2, 1)
_SQUARE = ndimage.generate_binary_structure(2, 2)
_BACKGROUND = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class Tree:
    """One tree: its top (grid CRS metres), height above ground, crown outline and diameter (metres)."""

    x: float
    y: float
    height_m: float
    crown_diameter_m: float
    crown: Polygon
    ground_m: float


def detect_trees(tree_mask: Mask, ndsm: Heights, dtm: Heights, grid: Grid, cfg: TreeConfig) -> list[Tree]:
    """Find individual trees in a tree mask: tops, heights and crowns (rules in the module docstring).

    Args:
        tree_mask: (H, W) tree cells on ``grid`` (e.g. ASPRS class 5, or 4 and 5).
        ndsm: (H, W) height above ground, metres, NaN where unknown.
        dtm: (H, W) terrain height, metres.
        grid: The north-up grid of the three rasters (metric CRS).
        cfg: Thresholds.

    Returns:
        Trees in reading order of their tops (top row first, then left to right).

    Raises:
        InputError: The rasters do not match the grid or the grid is not north-up.
    """
    _check_inputs({"tree mask": tree_mask, "nDSM": ndsm, "DTM": dtm}, grid)
    raw = np.asarray(ndsm, np.float32)
    crown_cells = np.asarray(tree_mask, bool) & np.isfinite(raw) & (raw >= cfg.min_height_m)
    if not crown_cells.any():
        return []
    smooth = _smooth(raw, crown_cells, cfg.smoothing_m / grid.resolution)
    markers, count = _tops(smooth, crown_cells, grid.resolution, cfg.min_height_m)
    if count == 0:
        return []
    segments = _watershed(smooth, crown_cells, markers)
    min_cells = math.pi * (cfg.min_crown_m / 2) ** 2 / grid.resolution**2
    small = np.bincount(segments.ravel(), minlength=count + 1) < min_cells
    small[0] = False
    if small.any():  # branch noise: flood again without those tops, so their cells join the neighbouring crowns
        markers, count = _drop_tops(markers, np.nonzero(small)[0])
        if count == 0:
            return []
        segments = _watershed(smooth, crown_cells, markers)
    peak_radius = max(1, round(2 * cfg.smoothing_m / grid.resolution))
    peak = ndimage.maximum_filter(np.where(crown_cells, raw, -np.inf), footprint=_disk(peak_radius))
    index = np.arange(1, count + 1)
    tops = np.asarray(ndimage.center_of_mass(markers > 0, markers, index), dtype=np.float64).reshape(-1, 2)
    trees = []
    for label, window in enumerate(ndimage.find_objects(segments, max_label=count), start=1):
        if window is None:
            continue
        row, col = tops[label - 1]
        r, c = _top_cell(markers, label, row, col, window)
        crown = _crown(segments[window] == label, r - window[0].start, c - window[1].start)
        diameter = 2 * math.sqrt(crown.sum() * grid.resolution**2 / math.pi)
        if diameter < cfg.min_crown_m:
            continue
        x, y = grid.transform @ (col + 0.5, row + 0.5)
        trees.append(
            Tree(
                x=float(x),
                y=float(y),
                height_m=float(peak[r, c]),
                crown_diameter_m=diameter,
                crown=_outline(crown, grid.transform @ Affine.translation(window[1].start, window[0].start)),
                ground_m=float(dtm[r, c]),
            )
        )
    return trees


def low_vegetation_areas(mask: Mask, grid: Grid, min_area_m2: float) -> list[Polygon]:
    """Outline connected patches of low vegetation (e.g. ASPRS class 3) as polygons.

    Patches are 4-connected groups of mask cells; their holes stay holes.

    Args:
        mask: (H, W) low-vegetation cells on ``grid``.
        grid: The north-up grid of the mask (metric CRS).
        min_area_m2: Smaller patches are dropped, square metres.

    Returns:
        Polygons in the grid CRS, in reading order of their first cell.

    Raises:
        ConfigError: ``min_area_m2`` is negative or not finite.
        InputError: The mask does not match the grid or the grid is not north-up.
    """
    return patch_polygons(mask, grid, min_area_m2, "low-vegetation mask")


def _check_inputs(arrays: dict[str, npt.NDArray[np.generic]], grid: Grid) -> None:
    for name, array in arrays.items():
        if np.shape(array) != grid.shape:
            raise InputError(
                f"The {name} has shape {np.shape(array)} but the grid is {grid.shape}; "
                "resample it onto the working grid."
            )
    t = grid.transform
    if t.b != 0 or t.d != 0 or t.e != -t.a:
        raise InputError("Vegetation mapping needs a north-up grid with square cells; resample the rasters first.")


def _disk(radius: int) -> Mask:
    """Footprint of the cells within ``radius`` cells of the centre."""
    offsets = np.arange(-radius, radius + 1)
    return np.asarray(offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2 + 0.25, bool)


def _smooth(raw: Heights, cells: Mask, sigma_cells: float) -> npt.NDArray[np.float64]:
    """Gaussian of the nDSM normalised by the weight of the crown cells, in mm steps; -inf outside them."""
    if sigma_cells <= 0:
        return np.where(cells, np.round(raw.astype(np.float64), 3), -np.inf)
    weight = ndimage.gaussian_filter(cells.astype(np.float64), sigma_cells)
    total = ndimage.gaussian_filter(np.where(cells, raw, 0.0).astype(np.float64), sigma_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Rounded to the millimetre so that a flat top is one plateau, not cells that differ by float noise.
        return np.where(cells, np.round(total / weight, 3), -np.inf)


def _tops(
    smooth: npt.NDArray[np.float64], cells: Mask, resolution: float, min_height: float
) -> tuple[npt.NDArray[np.int32], int]:
    """Label the tree tops: one maximum_filter pass per window radius in cells; plateaus merged."""
    candidate = cells & (smooth >= min_height)
    candidate &= smooth >= ndimage.maximum_filter(smooth, footprint=_SQUARE)  # cheap 3 x 3 pre-test
    radius = np.zeros(smooth.shape, np.int32)
    heights = smooth[candidate]
    radius[candidate] = np.maximum(
        1, np.rint((WINDOW_RADIUS_PER_M * heights + WINDOW_RADIUS_BASE_M) / resolution).astype(np.int32)
    )
    is_top = np.zeros(smooth.shape, bool)
    for r in np.unique(radius[candidate]):
        band = radius == r
        is_top |= band & (smooth >= ndimage.maximum_filter(smooth, footprint=_disk(int(r))))
    markers, count = ndimage.label(is_top, structure=_SQUARE)
    return markers.astype(np.int32), int(count)


def _drop_tops(markers: npt.NDArray[np.int32], labels: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.int32], int]:
    """The markers without ``labels``, numbered again from 1 in reading order."""
    kept, count = ndimage.label((markers > 0) & ~np.isin(markers, labels), structure=_SQUARE)
    return kept.astype(np.int32), int(count)


def _watershed(smooth: npt.NDArray[np.float64], cells: Mask, markers: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Marker-controlled watershed of the inverted smoothed nDSM over the crown cells (0 elsewhere)."""
    values = smooth[cells]
    low, high = float(values.min()), float(values.max())
    scale = (_BACKGROUND - 1) / (high - low) if high > low else 0.0
    cost = np.full(smooth.shape, _BACKGROUND, np.uint16)
    cost[cells] = np.rint((high - values) * scale).astype(np.uint16)
    # Non-crown cells cost the most, so every crown cell reachable through crown cells is labelled before the
    # flood crosses them (background seeds would instead eat into the crowns from their edges).
    segments = ndimage.watershed_ift(cost, markers.astype(np.int32), structure=_CROSS)
    return np.where(cells & (segments > 0), segments, 0).astype(np.int32)


def _top_cell(
    markers: npt.NDArray[np.int32], label: int, row: float, col: float, window: tuple[slice, slice]
) -> tuple[int, int]:
    """The cell of top ``label`` (inside ``window``) nearest its centroid; a curved plateau may not hold it."""
    guess = min(round(row), markers.shape[0] - 1), min(round(col), markers.shape[1] - 1)
    if markers[guess] == label:
        return guess
    rows, cols = np.nonzero(markers[window] == label)
    rows, cols = rows + window[0].start, cols + window[1].start
    nearest = int(np.argmin((rows - row) ** 2 + (cols - col) ** 2))
    return int(rows[nearest]), int(cols[nearest])


def _crown(segment: Mask, row: int, col: int) -> Mask:
    """The 4-connected part of ``segment`` that holds the top cell (row, col)."""
    parts, _ = ndimage.label(segment, structure=_CROSS)
    return np.asarray(parts == parts[row, col], bool)


def _outline(cells: Mask, transform: Affine) -> Polygon:
    """Polygon (with holes) of one 4-connected group of cells; ``transform`` maps the array's corner."""
    shapes = rio_features.shapes(cells.astype(np.uint8), mask=cells, transform=transform, connectivity=4)
    polygons = [shape(geometry) for geometry, _ in shapes]
    return max(polygons, key=lambda p: p.area)
