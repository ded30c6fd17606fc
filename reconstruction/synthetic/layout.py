"""Plan the town's vector layout: terrain, street grid, river, blocks and trees."""

import math
from dataclasses import replace

import numpy as np
from scipy import ndimage

from reconstruction.synthetic.big_trees import plan_big_trees
from reconstruction.synthetic.blocks import plan_block
from reconstruction.synthetic.config import F64, SceneConfig
from reconstruction.synthetic.materials import BLOCKS_TREES, GRASS, TREE_MATERIALS
from reconstruction.synthetic.model import Block, Interval, Layout, Rect, River, Road, Terrain
from reconstruction.synthetic.raster import Canvas, draw_layout
from reconstruction.synthetic.water import plan_water

_PLANNING_MAX_PIXELS = 2048  # side of the coarse grid used to fit trees between objects


def plan_layout(cfg: SceneConfig, rng: np.random.Generator) -> Layout:
    """Plan the whole town in local metres."""
    size = float(cfg.size_m)
    lay = Layout(size, _plan_terrain(size, float(cfg.base_height_m), rng))
    roads = _plan_streets(size, True, (75.0, 150.0), rng)
    roads += _plan_streets(size, False, (65.0, 120.0), rng)
    _ensure_main_road(roads, size, rng)
    lay.roads = sorted(roads, key=lambda r: r.width)  # wider roads drawn on top
    cols = _intervals([r for r in roads if r.vertical], size)
    rows = _intervals([r for r in roads if not r.vertical], size)
    river_row = _choose_river_row(rows, rng)
    for i, (v0, v1, south, north) in enumerate(rows):
        if i == river_row:
            _plan_river(lay, v0, v1, rng)
            continue
        for u0, u1, west, east in cols:
            uses = cfg.open_ground_uses if cfg.open_ground else ()
            plan_block(lay, Block(u0, u1, v0, v1, (south, north, west, east)), rng, uses)
    if cfg.water:  # the options draw after everything else: without them the towns are unchanged
        plan_water(lay, rng)
    _plan_trees(lay, rng)
    if cfg.big_trees:
        plan_big_trees(lay, rng)
    return lay


def _plan_terrain(size: float, base: float, rng: np.random.Generator) -> Terrain:
    """Gentle terrain: a plane tilt plus low-frequency waves and broad bumps."""
    tilt = rng.uniform(-0.01, 0.01, 2)
    k = 3
    waves = np.column_stack(
        [
            rng.uniform(0.3, 1.1, k),
            2 * np.pi / rng.uniform(180.0, 700.0, k),
            rng.uniform(0, 2 * np.pi, k),
            2 * np.pi / rng.uniform(180.0, 700.0, k),
            rng.uniform(0, 2 * np.pi, k),
        ]
    )
    m = 3
    bumps = np.column_stack(
        [
            rng.uniform(-2.5, 2.5, m),
            rng.uniform(0, size, m),
            rng.uniform(0, size, m),
            rng.uniform(40.0, 160.0, m),
        ]
    )
    terrain = Terrain(base, (float(tilt[0]), float(tilt[1])), waves, bumps)
    return replace(terrain, offset=float(terrain(0.0, 0.0)) - base)


def _make_road(kind: str, vertical: bool, centre: float, size: float, rng: np.random.Generator) -> Road:
    """Street of ``kind`` (local, collector, main) with its cross-section."""
    if kind == "main":
        width, sidewalk, verge = rng.uniform(13, 16), rng.uniform(3, 4), rng.uniform(3, 4.5)
    elif kind == "collector":
        width, sidewalk = rng.uniform(9, 11), rng.uniform(2, 3)
        verge = rng.uniform(2.5, 4) if rng.random() < 0.6 else 0.0
    else:
        width, sidewalk = rng.uniform(6, 8), rng.uniform(1.5, 2.5)
        verge = rng.uniform(2, 3) if rng.random() < 0.3 else 0.0
    road = Road(vertical, centre, float(width), float(sidewalk), float(verge), kind)
    road.markings.extend(_road_markings(road, size, rng))
    return road


def _road_markings(road: Road, size: float, rng: np.random.Generator) -> list[Rect]:
    """Paint: dashed centre line on collectors; solid centre, lanes, edges on mains."""
    if road.kind == "local":
        return []
    length = size + 1.0
    lines: list[tuple[float, float, bool]] = []  # offset from centre, width, dashed
    if road.kind == "collector":
        lines.append((0.0, 0.3, True))
    else:
        lines += [(-0.25, 0.25, False), (0.25, 0.25, False)]
        lines += [(s * road.width / 4, 0.25, True) for s in (-1, 1)]
        lines += [(s * (road.width / 2 - 0.5), 0.25, False) for s in (-1, 1)]
    out: list[Rect] = []
    phase = float(rng.uniform(0, 9))
    for offset, width, dashed in lines:
        lo = road.centre + offset - width / 2
        starts = np.arange(-phase, length, 9.0) if dashed else np.array([-1.0])
        for s in starts:
            a, b = float(s), float(s + 3.0) if dashed else length
            out.append((lo, lo + width, a, b) if road.vertical else (a, b, lo, lo + width))
    return out


def _plan_streets(size: float, vertical: bool, spacing: tuple[float, float], rng: np.random.Generator) -> list[Road]:
    """Parallel streets crossing the scene, centre spacing drawn from ``spacing``."""
    kinds = ("local", "collector", "main")
    roads: list[Road] = []
    pos = -float(rng.uniform(0.0, spacing[1] * 0.6))
    while True:
        kind = kinds[int(rng.choice(3, p=(0.55, 0.3, 0.15)))]
        road = _make_road(kind, vertical, pos, size, rng)
        if pos - road.half_corridor > size:
            return roads
        if pos + road.half_corridor > 0:
            roads.append(road)
        pos += float(rng.uniform(*spacing))


def _ensure_main_road(roads: list[Road], size: float, rng: np.random.Generator) -> None:
    """Upgrade the street nearest the scene centre to a main road if there is none."""
    if not roads or any(r.kind == "main" for r in roads):
        return
    i = int(np.argmin([abs(r.centre - size / 2) for r in roads]))
    roads[i] = _make_road("main", roads[i].vertical, roads[i].centre, size, rng)


def _intervals(roads: list[Road], size: float) -> list[Interval]:
    """Gaps between consecutive corridors along one axis, with the bounding roads."""
    out: list[Interval] = []
    start: float = 0.0
    before: Road | None = None
    for road in sorted(roads, key=lambda r: r.centre):
        edge = road.centre - road.half_corridor
        if edge - start >= 8.0:
            out.append((start, min(edge, size), before, road))
        start = max(start, road.centre + road.half_corridor)
        before = road
    if size - start >= 8.0:
        out.append((start, size, before, None))
    return out


def _choose_river_row(rows: list[Interval], rng: np.random.Generator) -> int:
    """Index of the east-west row that becomes a river corridor, or -1 for none."""
    wide = [i for i, (v0, v1, s, n) in enumerate(rows) if v1 - v0 >= 45 and s and n]
    if rng.random() >= 0.35 or not wide:
        return -1
    return int(wide[int(rng.integers(len(wide)))])


def _plan_river(lay: Layout, v0: float, v1: float, rng: np.random.Generator) -> None:
    """A meandering river along the row ``[v0, v1]`` with wooded grass banks."""
    height = v1 - v0
    half_width = float(rng.uniform(6.0, min(15.0, height / 2 - 8)))
    amp = float(min(rng.uniform(3.0, 10.0), height / 2 - half_width - 5))
    wavelength, phase = float(rng.uniform(150, 400)), float(rng.uniform(0, 2 * np.pi))
    lay.rivers.append(River((v0 + v1) / 2, max(amp, 0.0), wavelength, phase, half_width))
    lay.tree_zones.append(((0.0, lay.size, v0, v1), 1 / 90))


def _plan_trees(lay: Layout, rng: np.random.Generator) -> None:
    """Scatter trees in the zones and verges, shrinking crowns to fit between objects."""
    us, vs, radii = [], [], []
    for (u0, u1, v0, v1), density in lay.tree_zones:
        if u1 - u0 <= 0 or v1 - v0 <= 0:
            continue
        k = int(rng.poisson((u1 - u0) * (v1 - v0) * density))
        us.append(rng.uniform(u0, u1, k))
        vs.append(rng.uniform(v0, v1, k))
        radii.append(rng.uniform(1.5, 5.0, k))
    if lay.street_trees:
        street = np.asarray(lay.street_trees, dtype=np.float64)
        us.append(street[:, 0])
        vs.append(street[:, 1])
        radii.append(rng.uniform(2.5, 4.5, len(street)))
    u, v, radius = (np.concatenate(a) if a else np.zeros(0) for a in (us, vs, radii))
    inside = (u >= 0) & (u < lay.size) & (v >= 0) & (v < lay.size)
    u, v, radius = u[inside], v[inside], radius[inside]
    radius = np.minimum(radius, _tree_clearance(lay, u, v))
    keep = radius >= 1.5
    u, v, radius = u[keep], v[keep], radius[keep]
    height = np.clip(2.6 * radius + 2 + rng.uniform(-1.5, 3.5, len(u)), 5.0, 20.0)
    material = rng.choice(np.array(TREE_MATERIALS, dtype=np.float64), len(u))
    lay.trees = np.column_stack([u, v, height, radius, material])


def _tree_clearance(lay: Layout, u: F64, v: F64) -> F64:
    """Free distance (metres) from each point to buildings, roads and water."""
    n = min(_PLANNING_MAX_PIXELS, max(16, math.ceil(lay.size / 0.5)))
    canvas = Canvas(lay.size, n)
    mat = np.full((n, n), GRASS, np.uint8)
    draw_layout(lay, canvas, mat, None, None)
    blocked = BLOCKS_TREES[mat]
    if not blocked.any():
        return np.full(len(u), np.inf)
    dist = ndimage.distance_transform_edt(~blocked).astype(np.float32) * canvas.res
    cols = np.clip((u / canvas.res).astype(np.intp), 0, n - 1)
    rows = np.clip(((lay.size - v) / canvas.res).astype(np.intp), 0, n - 1)
    # a point may sit half a pixel diagonal from its pixel centre and a shape edge a
    # pixel diagonal from the nearest covered centre
    return dist[rows, cols].astype(np.float64) - 2.2 * canvas.res - 0.05
