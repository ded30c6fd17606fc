"""Roads: carriageway polygons, centre lines, width, class and longitudinal slope from a road mask.

Rules (lengths in metres of the grid CRS):

- The road mask (ASPRS class 11, from the model or LiDAR) is closed over ``close_m`` (lane markings,
  cars and shadows leave gaps) and opened over one cell (speckles); patches under ``min_area_m2`` go.
- Each patch is a road *network*. Its centre line is the medial axis of its outline, taken from the
  Voronoi diagram of the densified boundary (the classic construction, shapely/GEOS only): Voronoi
  edges that lie inside the polygon, merged into lines between junctions. Dead ends shorter than the
  local road width are spurs from outline corners and are pruned (twice, so pruning a spur may
  expose another).
- Each line between junctions is a *segment*: ``width_m`` is twice the median distance from its
  points to the outline (points within one width of a junction are left out: junctions are wider);
  ``grade`` follows the width: ``primary`` from 12 m, ``secondary`` from 8.5 m, ``local`` below (urban
  carriageways: four lanes and more, two lanes with parking, one or two narrow lanes);
  ``slope_percent`` is the DTM's least-squares gradient along the line; its polygon is the network
  polygon cut to the segment's own stretch.

The medial axis is built here from GEOS's Voronoi diagram because no maintained package installs
here without pulling in geopandas (pygeoops, centerline); the construction is 40 lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from rasterio.transform import rowcol
from scipy import ndimage
from shapely.geometry import LineString, MultiLineString, Polygon
from shapely.ops import linemerge

from reconstruction.io.grid import Grid
from reconstruction.objects.patches import patch_polygons

#: Width thresholds of the grades, metres (see the module docstring).
GRADES: tuple[tuple[float, str], ...] = ((12.0, "primary"), (8.5, "secondary"), (0.0, "local"))


@dataclass(frozen=True)
class RoadConfig:
    """Road extraction thresholds.

    Attributes:
        close_m: gaps in the road mask narrower than this are closed, metres.
        min_area_m2: smaller road patches are dropped, square metres.
        min_length_m: shorter segments (after pruning) are dropped, metres.
        min_width_m: narrower segments are paths, not carriageways, and are dropped, metres.
    """

    close_m: float = 1.5
    min_area_m2: float = 40.0
    min_length_m: float = 5.0
    min_width_m: float = 3.0


@dataclass(frozen=True)
class Road:
    """One road segment between junctions (or ends).

    Attributes:
        id: 1-based number in the order found.
        centreline: the segment's centre line.
        polygon: its stretch of carriageway.
        width_m: carriageway width, metres.
        length_m: centre-line length, metres.
        grade: ``primary``, ``secondary`` or ``local`` (from the width).
        slope_percent: longitudinal slope, per cent (None without terrain heights).
    """

    id: int
    centreline: LineString
    polygon: Polygon
    width_m: float
    length_m: float
    grade: str
    slope_percent: float | None

    @property
    def attributes(self) -> dict[str, float | int | str | None]:
        """GIS attributes (rounded) for exports."""
        return {
            "road_id": self.id,
            "width_m": round(self.width_m, 2),
            "length_m": round(self.length_m, 1),
            "grade": self.grade,
            "slope_percent": None if self.slope_percent is None else round(self.slope_percent, 2),
            "area_m2": round(float(self.polygon.area), 1),
        }


def grade_for(width_m: float) -> str:
    """The grade of a carriageway of ``width_m`` metres."""
    return next(name for lower, name in GRADES if width_m >= lower)


def extract_roads(
    mask: npt.NDArray[np.bool_], dtm: npt.NDArray[np.float32] | None, grid: Grid, cfg: RoadConfig = RoadConfig()
) -> list[Road]:
    """Turn a road mask into road segments with centre lines and attributes.

    Args:
        mask: (H, W) road cells on ``grid``.
        dtm: (H, W) terrain heights for the slope, or None.
        grid: the north-up working grid.
        cfg: thresholds.

    Returns:
        Segments in the order their networks were found.
    """
    cells = max(1, round(cfg.close_m / grid.resolution))
    cleaned = ndimage.binary_closing(np.asarray(mask, bool), np.ones((cells, cells), bool), border_value=0)
    cleaned = ndimage.binary_opening(cleaned | np.asarray(mask, bool), np.ones((2, 2), bool))
    roads: list[Road] = []
    for network in patch_polygons(cleaned, grid, cfg.min_area_m2, "road mask"):
        network = network.simplify(grid.resolution / 2)
        if not isinstance(network, Polygon) or network.is_empty:
            continue
        for line in _centrelines(network, grid.resolution):
            if line.length < cfg.min_length_m:
                continue
            width = _width(line, network)
            if width < cfg.min_width_m:
                continue
            stretch = network.intersection(line.buffer(width, cap_style="flat"))
            polygon = max(_polygons(stretch), key=lambda p: p.area, default=None)
            if polygon is None:
                continue
            roads.append(
                Road(
                    id=len(roads) + 1,
                    centreline=line,
                    polygon=polygon,
                    width_m=width,
                    length_m=float(line.length),
                    grade=grade_for(width),
                    slope_percent=_slope(line, dtm, grid),
                )
            )
    return roads


def _centrelines(polygon: Polygon, resolution: float) -> list[LineString]:
    """Medial-axis lines of a polygon between junctions, spurs pruned."""
    boundary = shapely.segmentize(polygon.boundary, max(resolution, 0.5))
    edges = shapely.voronoi_polygons(shapely.multipoints(shapely.get_coordinates(boundary)), only_edges=True)
    inside = [e for e in shapely.get_parts(edges) if polygon.contains(e)]
    lines = _merge(inside)
    for _ in range(2):
        lines = _merge(_prune(lines, polygon))
    return lines


def _merge(lines: list[LineString]) -> list[LineString]:
    if not lines:
        return []
    merged = linemerge(MultiLineString(lines))
    return [g for g in shapely.get_parts(merged) if isinstance(g, LineString)]


def _prune(lines: list[LineString], polygon: Polygon) -> list[LineString]:
    """Drop dead-end lines shorter than the road is wide where they join (outline-corner spurs)."""
    ends: dict[tuple[float, float], int] = {}
    for line in lines:
        for point in (line.coords[0], line.coords[-1]):
            key = (round(point[0], 3), round(point[1], 3))
            ends[key] = ends.get(key, 0) + 1
    kept = []
    for line in lines:
        a, b = ((round(p[0], 3), round(p[1], 3)) for p in (line.coords[0], line.coords[-1]))
        dead_end = ends[a] == 1 or ends[b] == 1
        joined = ends[a] > 1 or ends[b] > 1
        junction = line.coords[0] if ends[a] > 1 else line.coords[-1]
        local_width = 2 * polygon.exterior.distance(shapely.Point(junction)) if joined else 0.0
        if dead_end and joined and line.length < local_width:
            continue
        kept.append(line)
    return kept


def _width(line: LineString, polygon: Polygon) -> float:
    """Twice the median distance from the line's points to the outline, away from its ends."""
    boundary = polygon.boundary
    distances = np.array([boundary.distance(line.interpolate(f, normalized=True)) for f in np.linspace(0, 1, 21)])
    rough = 2 * float(np.median(distances))
    steps = np.linspace(0, line.length, max(3, int(line.length))) if line.length > 0 else np.array([0.0])
    core = steps[(steps > rough) & (steps < line.length - rough)]
    if core.size == 0:
        return rough
    return 2 * float(np.median([boundary.distance(line.interpolate(d)) for d in core]))


def _slope(line: LineString, dtm: npt.NDArray[np.float32] | None, grid: Grid) -> float | None:
    """Least-squares slope of DTM samples taken every cell along the line, per cent."""
    if dtm is None or line.length < 2 * grid.resolution:
        return None
    steps = np.arange(0.0, line.length + 1e-9, grid.resolution)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(line, steps))
    rows, cols = rowcol(grid.transform, xy[:, 0], xy[:, 1])
    rows = np.clip(np.asarray(rows), 0, grid.height - 1)
    cols = np.clip(np.asarray(cols), 0, grid.width - 1)
    z = dtm[rows, cols].astype(np.float64)
    if not np.isfinite(z).all():
        return None
    gradient = float(np.polyfit(steps, z, 1)[0])
    return 100.0 * abs(gradient) if math.isfinite(gradient) else None


def _polygons(geometry: shapely.Geometry) -> list[Polygon]:
    return [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon) and not g.is_empty]
