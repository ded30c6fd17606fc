"""Procedural town generator: a seeded layout rasterised to ortho, DSM, DTM and labels.

The generator first plans a vector layout in local metres (``u`` east and ``v`` north
of the scene's lower-left corner): a smooth terrain function, a street grid, blocks
filled with houses, apartment blocks, halls, parks and car parks, optional water, and
trees. The layout is then rasterised onto the DSM grid and, separately, onto the finer
orthophoto grid, so both rasters show exactly the same town. A pixel belongs to a shape
when its centre lies inside it. Every random draw comes from
``numpy.random.default_rng(seed)``: one configuration always yields identical arrays.
"""

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError
from scipy import ndimage
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from reconstruction.errors import ConfigError

#: ASPRS class codes used in ``SyntheticScene.labels``.
LABEL_GROUND = 2
LABEL_HIGH_VEGETATION = 5
LABEL_BUILDING = 6
LABEL_WATER = 9
LABEL_ROAD = 11

#: Fixed sun used for roof shading and cast shadows (degrees; azimuth clockwise from north).
SUN_AZIMUTH_DEG = 155.0
SUN_ELEVATION_DEG = 50.0

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
Rect = tuple[float, float, float, float]  # u0, u1, v0, v1 in local metres

# Surface materials (finer than the labels): codes index the colour/label tables below.
_GRASS, _DRY_GRASS, _PAVED, _YARD, _ROAD, _MARKING, _WATER = 1, 2, 3, 4, 5, 6, 7
_TREE_MID, _TREE_DARK, _TREE_LIGHT = 8, 9, 10
_TREE_MATERIALS = (_TREE_MID, _TREE_DARK, _TREE_LIGHT)
_PARKING_LINE, _GRAVEL = 11, 12
_ROOF0 = 32  # first roof material; roofs use codes _ROOF0.._ROOF0 + families * variants

# material: (RGB, ASPRS label, low-frequency texture amplitude, fine texture amplitude)
_MATERIALS: dict[int, tuple[tuple[int, int, int], int, float, float]] = {
    _GRASS: ((92, 110, 62), LABEL_GROUND, 0.07, 0.08),
    _DRY_GRASS: ((126, 124, 84), LABEL_GROUND, 0.09, 0.10),
    _PAVED: ((166, 162, 154), LABEL_GROUND, 0.05, 0.05),
    _YARD: ((108, 107, 104), LABEL_GROUND, 0.07, 0.05),
    _ROAD: ((78, 78, 80), LABEL_ROAD, 0.05, 0.04),
    _MARKING: ((226, 226, 216), LABEL_ROAD, 0.03, 0.04),
    _WATER: ((40, 66, 92), LABEL_WATER, 0.05, 0.02),
    _TREE_MID: ((50, 80, 40), LABEL_HIGH_VEGETATION, 0.08, 0.30),
    _TREE_DARK: ((34, 56, 35), LABEL_HIGH_VEGETATION, 0.08, 0.30),
    _TREE_LIGHT: ((72, 96, 46), LABEL_HIGH_VEGETATION, 0.08, 0.30),
    _PARKING_LINE: ((214, 214, 206), LABEL_GROUND, 0.03, 0.04),
    _GRAVEL: ((170, 160, 140), LABEL_GROUND, 0.08, 0.12),
}
# Colour drift with low-frequency noise (dry and lush patches): RGB DN per unit noise,
# scaled per material.
_HUE_RGB = (6.0, 3.0, -2.0)
_HUE_DRIFT = {_GRASS: 1.0, _DRY_GRASS: 0.8, _TREE_MID: 0.6, _TREE_LIGHT: 0.6}

# Roof colour families (RGB); each gets _ROOF_VARIANTS shades.
_ROOF_FAMILIES: dict[str, tuple[int, int, int]] = {
    "red_tiles": (150, 80, 64),
    "brown_tiles": (118, 80, 66),
    "orange_tiles": (164, 100, 76),
    "slate": (72, 74, 80),
    "concrete": (150, 148, 142),
    "gravel": (136, 130, 116),
    "bitumen": (62, 62, 66),
    "metal": (172, 180, 186),
    "membrane": (206, 206, 200),
}
_ROOF_VARIANTS = 24
# (building kind, roof): ((family, probability), ...)
_ROOF_CHOICES: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("house", "gable"): (
        ("red_tiles", 0.4),
        ("brown_tiles", 0.2),
        ("orange_tiles", 0.15),
        ("slate", 0.25),
    ),
    ("house", "flat"): (("slate", 0.3), ("concrete", 0.3), ("gravel", 0.2), ("bitumen", 0.2)),
    ("apartment", "gable"): (("red_tiles", 0.4), ("brown_tiles", 0.3), ("slate", 0.3)),
    ("apartment", "flat"): (
        ("concrete", 0.3),
        ("gravel", 0.3),
        ("bitumen", 0.2),
        ("membrane", 0.2),
    ),
    ("hall", "flat"): (("metal", 0.4), ("membrane", 0.3), ("concrete", 0.15), ("gravel", 0.15)),
}

_BLOCK_KINDS = ("houses", "apartments", "industrial", "park", "parking")
_BLOCK_PROBS = (0.5, 0.22, 0.08, 0.12, 0.08)
_SHADOW_TINT = (0.48, 0.51, 0.60)  # RGB factors in cast shadow (bluish ambient light)
_AMBIENT = 0.45  # share of sky light in the illumination of flat ground
_PLANNING_MAX_PIXELS = 2048  # side of the coarse grid used to fit trees between objects


@dataclass(frozen=True)
class SceneConfig:
    """Size, resolution, placement and seed of a synthetic scene.

    Attributes:
        size_m: Side of the square scene, metres.
        gsd_m: DSM, DTM and label pixel size, metres.
        ortho_gsd_m: Orthophoto pixel size, metres (at most ``gsd_m``).
        seed: Random seed; the same configuration always gives the same scene.
        epsg: EPSG code of a projected CRS in metres.
        origin: Lower-left corner ``(x, y)`` of the scene in that CRS, metres.
        base_height_m: Ground elevation at the origin, metres.

    Raises:
        ConfigError: A value is out of range or the sizes do not divide into pixels.
    """

    size_m: float = 200.0
    gsd_m: float = 0.5
    ortho_gsd_m: float = 0.25
    seed: int = 0
    epsg: int = 32631
    origin: tuple[float, float] = (574_000.0, 5_096_000.0)
    base_height_m: float = 170.0

    def __post_init__(self) -> None:
        """Validate every field; raise ConfigError with an actionable message."""
        size = _finite("size_m", self.size_m)
        if not 10.0 < size <= 20_000.0:
            raise ConfigError(f"size_m must be in (10, 20000] metres, got {self.size_m}")
        for name in ("gsd_m", "ortho_gsd_m"):
            value = _finite(name, getattr(self, name))
            if not 0.05 <= value <= 5.0:
                raise ConfigError(f"{name} must be in [0.05, 5] metres, got {value}")
        if self.ortho_gsd_m > self.gsd_m:
            raise ConfigError(f"ortho_gsd_m ({self.ortho_gsd_m}) must not exceed gsd_m ({self.gsd_m})")
        _pixel_count("gsd_m", size, self.gsd_m)
        _pixel_count("ortho_gsd_m", size, self.ortho_gsd_m)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}")
        if self.seed < 0:
            raise ConfigError(f"seed must be zero or positive, got {self.seed}")
        if len(self.origin) != 2:
            raise ConfigError(f"origin must be an (x, y) pair, got {self.origin!r}")
        for axis, value in zip("xy", self.origin, strict=True):
            _finite(f"origin {axis}", value)
        _finite("base_height_m", self.base_height_m)
        problem = _epsg_problem(self.epsg)
        if problem:
            raise ConfigError(problem)

    @property
    def dsm_shape(self) -> tuple[int, int]:
        """Rows and columns of the DSM, DTM and label rasters."""
        n = _pixel_count("gsd_m", self.size_m, self.gsd_m)
        return n, n

    @property
    def ortho_shape(self) -> tuple[int, int]:
        """Rows and columns of the orthophoto."""
        n = _pixel_count("ortho_gsd_m", self.size_m, self.ortho_gsd_m)
        return n, n


@dataclass(frozen=True, eq=False)
class SyntheticScene:
    """A generated scene: rasters on two north-up grids plus the objects drawn in them.

    Attributes:
        config: The configuration that produced the scene.
        ortho: ``(3, H_o, W_o)`` RGB orthophoto, uint8.
        dsm: ``(H, W)`` surface heights, metres, float32.
        dtm: ``(H, W)`` bare-earth heights, metres, float32 (water surface on water).
        labels: ``(H, W)`` ASPRS codes: 2 ground, 5 trees, 6 building, 9 water, 11 road.
        dsm_transform: Affine of the DSM/DTM/label grid (top-left origin).
        ortho_transform: Affine of the orthophoto grid (top-left origin).
        crs: ``"EPSG:<code>"``.
        buildings: One dict per building: ``id``, ``footprint`` (shapely Polygon in
            CRS coordinates), ``height_m`` (eave or flat-roof height above ground,
            metres), ``roof`` (``"flat"`` or ``"gable"``), plus ``ridge_height_m``
            (highest roof point above ground, metres) and ``kind``
            (``"house"``, ``"apartment"`` or ``"hall"``).
        trees: One dict per tree: ``x``, ``y`` (CRS metres), ``height_m``,
            ``crown_diameter_m``.
    """

    config: SceneConfig
    ortho: U8
    dsm: F32
    dtm: F32
    labels: U8
    dsm_transform: Affine
    ortho_transform: Affine
    crs: str
    buildings: list[dict]
    trees: list[dict]


# --------------------------------------------------------------------- validation


def _finite(name: str, value: object) -> float:
    """Return ``value`` as a finite float or raise ConfigError naming the field."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return number


def _pixel_count(name: str, size_m: float, pixel_m: float) -> int:
    """Whole number of pixels of ``pixel_m`` across ``size_m``, at least 16."""
    count = size_m / pixel_m
    whole = round(count)
    if abs(count - whole) > 1e-6 * max(1.0, count):
        raise ConfigError(
            f"size_m ({size_m}) must be a whole multiple of {name} ({pixel_m}); it gives {count:.3f} pixels"
        )
    if whole < 16:
        raise ConfigError(f"size_m / {name} must give at least 16 pixels, got {whole}; enlarge size_m or reduce {name}")
    return whole


@lru_cache(maxsize=64)
def _epsg_problem(epsg: object) -> str | None:
    """Why ``epsg`` is not a projected CRS in metres, or None when it is."""
    if isinstance(epsg, bool) or not isinstance(epsg, int | np.integer):
        return f"epsg must be an integer EPSG code, got {epsg!r}"
    try:
        crs = CRS.from_epsg(int(epsg))
    except PyprojCRSError:
        return f"epsg {epsg} is not a known EPSG code"
    units = {axis.unit_name.lower() for axis in crs.axis_info}
    if not crs.is_projected or not units <= {"metre", "meter"}:
        return f"epsg {epsg} must be a projected CRS in metres (for example 32631)"
    return None


# ------------------------------------------------------------------ layout types


@dataclass(frozen=True)
class _Terrain:
    """Smooth bare-earth height function of local metres (plane + waves + bumps)."""

    base: float
    tilt: tuple[float, float]
    waves: F64  # (k, 5): amplitude, wavenumber u, phase u, wavenumber v, phase v
    bumps: F64  # (m, 4): amplitude, centre u, centre v, sigma
    offset: float = 0.0

    def __call__(self, u: F64 | float, v: F64 | float) -> F64:
        """Height in metres at broadcastable local coordinates ``u``, ``v``."""
        z = self.base - self.offset + self.tilt[0] * np.asarray(u) + self.tilt[1] * v
        for amp, ku, pu, kv, pv in self.waves:
            z = z + amp * np.sin(ku * u + pu) * np.cos(kv * v + pv)
        for amp, cu, cv, sigma in self.bumps:
            z = z + amp * np.exp(-(((u - cu) / sigma) ** 2)) * np.exp(-(((v - cv) / sigma) ** 2))
        return np.asarray(z, dtype=np.float64)


@dataclass
class _Road:
    """A straight street across the scene with its sidewalks and tree verges."""

    vertical: bool  # True: runs north-south at u = centre
    centre: float
    width: float  # carriageway, metres
    sidewalk: float
    verge: float  # grass strip between sidewalk and block (street trees), 0 if none
    kind: str
    markings: list[Rect] = field(default_factory=list)

    @property
    def half_corridor(self) -> float:
        """Half the width from block edge to block edge, metres."""
        return self.width / 2 + self.sidewalk + self.verge

    def strip(self, half_width: float, size: float) -> Rect:
        """Rectangle of the band ``half_width`` either side of the centre line."""
        lo, hi = self.centre - half_width, self.centre + half_width
        return (lo, hi, -1.0, size + 1.0) if self.vertical else (-1.0, size + 1.0, lo, hi)


@dataclass(frozen=True)
class _Block:
    """Land between street corridors; ``roads`` are the S, N, W, E neighbours."""

    u0: float
    u1: float
    v0: float
    v1: float
    roads: tuple[_Road | None, _Road | None, _Road | None, _Road | None]


#: A gap between corridors along one axis: start, end (metres), road before, road after.
_Interval = tuple[float, float, _Road | None, _Road | None]


@dataclass(frozen=True)
class _Part:
    """One rectangle of a building with its roof (gable ridge centred on it)."""

    rect: Rect
    eave: float
    rise: float  # ridge height above the eave, 0 for flat roofs
    ridge_along_u: bool


@dataclass(frozen=True)
class _Building:
    parts: tuple[_Part, ...]
    material: int
    roof: str
    kind: str


@dataclass(frozen=True)
class _Pond:
    cu: float
    cv: float
    ru: float
    rv: float
    level: float


@dataclass(frozen=True)
class _River:
    v_mid: float
    amp: float
    wavelength: float
    phase: float
    half_width: float


@dataclass
class _Layout:
    """Everything to draw, in local metres, in drawing order per list."""

    size: float
    terrain: _Terrain
    roads: list[_Road] = field(default_factory=list)
    ground: list[tuple[Rect, int]] = field(default_factory=list)
    buildings: list[_Building] = field(default_factory=list)
    ponds: list[_Pond] = field(default_factory=list)
    rivers: list[_River] = field(default_factory=list)
    tree_zones: list[tuple[Rect, float]] = field(default_factory=list)  # rect, trees/m²
    street_trees: list[tuple[float, float]] = field(default_factory=list)
    trees: F64 = field(default_factory=lambda: np.zeros((0, 5)))  # u, v, h, radius, mat


@dataclass(frozen=True)
class _Canvas:
    """A square north-up pixel grid over the scene (pixel-centre sampling)."""

    size: float
    n: int

    @property
    def res(self) -> float:
        """Pixel size, metres."""
        return self.size / self.n

    def cols(self, u0: float, u1: float) -> slice:
        """Columns whose centres lie in ``[u0, u1)``."""
        c0 = math.ceil(u0 / self.res - 0.5)
        c1 = math.ceil(u1 / self.res - 0.5)
        return slice(min(max(c0, 0), self.n), min(max(c1, 0), self.n))

    def rows(self, v0: float, v1: float) -> slice:
        """Rows whose centres lie in ``[v0, v1)`` (row 0 is the north edge)."""
        r0 = math.floor((self.size - v1) / self.res - 0.5) + 1
        r1 = math.floor((self.size - v0) / self.res - 0.5) + 1
        return slice(min(max(r0, 0), self.n), min(max(r1, 0), self.n))

    def window(self, rect: Rect) -> tuple[slice, slice]:
        """Row and column slices of the pixels whose centres lie in ``rect``."""
        return self.rows(rect[2], rect[3]), self.cols(rect[0], rect[1])

    def u_at(self, cols: slice) -> F64:
        """Local u (metres) of the centres of ``cols``."""
        return (np.arange(cols.start, cols.stop) + 0.5) * self.res

    def v_at(self, rows: slice) -> F64:
        """Local v (metres) of the centres of ``rows``."""
        return self.size - (np.arange(rows.start, rows.stop) + 0.5) * self.res


def _build_tables() -> tuple[F32, U8, F32, F32, F32]:
    """Per-material lookup tables: RGB, label, texture amplitudes, colour drift."""
    rgb = np.zeros((256, 3), np.float32)
    label = np.full(256, LABEL_GROUND, np.uint8)
    amp_low = np.zeros(256, np.float32)
    amp_fine = np.zeros(256, np.float32)
    hue = np.zeros(256, np.float32)
    for code, (colour, lab, low, fine) in _MATERIALS.items():
        rgb[code], label[code], amp_low[code], amp_fine[code] = colour, lab, low, fine
    for code, drift in _HUE_DRIFT.items():
        hue[code] = drift
    for family, colour in enumerate(_ROOF_FAMILIES.values()):
        for k in range(_ROOF_VARIANTS):
            code = _ROOF0 + family * _ROOF_VARIANTS + k
            scale = 0.84 + 0.32 * k / (_ROOF_VARIANTS - 1)
            tint = 0.06 * math.sin(2.4 * k + family)
            rgb[code] = np.clip(np.array(colour) * scale * (1 + tint, 1, 1 - tint), 0, 255)
            label[code], amp_low[code], amp_fine[code] = LABEL_BUILDING, 0.03, 0.05
    return rgb, label, amp_low, amp_fine, hue


_RGB, _LABEL, _AMP_LOW, _AMP_FINE, _HUE = _build_tables()
_IS_ROOF = (_LABEL == LABEL_BUILDING).astype(np.float32)
_BLOCKS_TREES = np.isin(_LABEL, (LABEL_BUILDING, LABEL_ROAD, LABEL_WATER))
_TREE_OK = ~_BLOCKS_TREES
_TREE_OK[0] = False


# ------------------------------------------------------------------- planning


def _plan_terrain(size: float, base: float, rng: np.random.Generator) -> _Terrain:
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
    terrain = _Terrain(base, (float(tilt[0]), float(tilt[1])), waves, bumps)
    return replace(terrain, offset=float(terrain(0.0, 0.0)) - base)


def _make_road(kind: str, vertical: bool, centre: float, size: float, rng: np.random.Generator) -> _Road:
    """Street of ``kind`` (local, collector, main) with its cross-section."""
    if kind == "main":
        width, sidewalk, verge = rng.uniform(13, 16), rng.uniform(3, 4), rng.uniform(3, 4.5)
    elif kind == "collector":
        width, sidewalk = rng.uniform(9, 11), rng.uniform(2, 3)
        verge = rng.uniform(2.5, 4) if rng.random() < 0.6 else 0.0
    else:
        width, sidewalk = rng.uniform(6, 8), rng.uniform(1.5, 2.5)
        verge = rng.uniform(2, 3) if rng.random() < 0.3 else 0.0
    road = _Road(vertical, centre, float(width), float(sidewalk), float(verge), kind)
    road.markings.extend(_road_markings(road, size, rng))
    return road


def _road_markings(road: _Road, size: float, rng: np.random.Generator) -> list[Rect]:
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


def _plan_streets(size: float, vertical: bool, spacing: tuple[float, float], rng: np.random.Generator) -> list[_Road]:
    """Parallel streets crossing the scene, centre spacing drawn from ``spacing``."""
    kinds = ("local", "collector", "main")
    roads: list[_Road] = []
    pos = -float(rng.uniform(0.0, spacing[1] * 0.6))
    while True:
        kind = kinds[int(rng.choice(3, p=(0.55, 0.3, 0.15)))]
        road = _make_road(kind, vertical, pos, size, rng)
        if pos - road.half_corridor > size:
            return roads
        if pos + road.half_corridor > 0:
            roads.append(road)
        pos += float(rng.uniform(*spacing))


def _ensure_main_road(roads: list[_Road], size: float, rng: np.random.Generator) -> None:
    """Upgrade the street nearest the scene centre to a main road if there is none."""
    if not roads or any(r.kind == "main" for r in roads):
        return
    i = int(np.argmin([abs(r.centre - size / 2) for r in roads]))
    roads[i] = _make_road("main", roads[i].vertical, roads[i].centre, size, rng)


def _intervals(roads: list[_Road], size: float) -> list[_Interval]:
    """Gaps between consecutive corridors along one axis, with the bounding roads."""
    out: list[_Interval] = []
    start: float = 0.0
    before: _Road | None = None
    for road in sorted(roads, key=lambda r: r.centre):
        edge = road.centre - road.half_corridor
        if edge - start >= 8.0:
            out.append((start, min(edge, size), before, road))
        start = max(start, road.centre + road.half_corridor)
        before = road
    if size - start >= 8.0:
        out.append((start, size, before, None))
    return out


def _plan_layout(cfg: SceneConfig, rng: np.random.Generator) -> _Layout:
    """Plan the whole town in local metres."""
    size = float(cfg.size_m)
    lay = _Layout(size, _plan_terrain(size, float(cfg.base_height_m), rng))
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
            _plan_block(lay, _Block(u0, u1, v0, v1, (south, north, west, east)), rng)
    _plan_trees(lay, rng)
    return lay


def _choose_river_row(rows: list[tuple[float, float, _Road | None, _Road | None]], rng: np.random.Generator) -> int:
    """Index of the east-west row that becomes a river corridor, or -1 for none."""
    wide = [i for i, (v0, v1, s, n) in enumerate(rows) if v1 - v0 >= 45 and s and n]
    if rng.random() >= 0.35 or not wide:
        return -1
    return int(wide[int(rng.integers(len(wide)))])


def _plan_river(lay: _Layout, v0: float, v1: float, rng: np.random.Generator) -> None:
    """A meandering river along the row ``[v0, v1]`` with wooded grass banks."""
    height = v1 - v0
    half_width = float(rng.uniform(6.0, min(15.0, height / 2 - 8)))
    amp = float(min(rng.uniform(3.0, 10.0), height / 2 - half_width - 5))
    wavelength, phase = float(rng.uniform(150, 400)), float(rng.uniform(0, 2 * np.pi))
    lay.rivers.append(_River((v0 + v1) / 2, max(amp, 0.0), wavelength, phase, half_width))
    lay.tree_zones.append(((0.0, lay.size, v0, v1), 1 / 90))


# ------------------------------------------------------------------ blocks


def _extent(blk: _Block, side: str) -> tuple[float, float]:
    """Frontage length along ``side`` and block depth away from it, metres."""
    width, height = blk.u1 - blk.u0, blk.v1 - blk.v0
    return (width, height) if side in "SN" else (height, width)


def _to_global(blk: _Block, side: str, s0: float, s1: float, t0: float, t1: float) -> Rect:
    """Map a rectangle in a side frame (``s`` along the side, ``t`` inwards) to local."""
    if side == "S":
        return blk.u0 + s0, blk.u0 + s1, blk.v0 + t0, blk.v0 + t1
    if side == "N":
        return blk.u0 + s0, blk.u0 + s1, blk.v1 - t1, blk.v1 - t0
    if side == "W":
        return blk.u0 + t0, blk.u0 + t1, blk.v0 + s0, blk.v0 + s1
    return blk.u1 - t1, blk.u1 - t0, blk.v0 + s0, blk.v0 + s1


def _part(rect: Rect, eave: float, pitch_deg: float, ridge_along_u: bool) -> _Part:
    """Building part; gable rise from the pitch and the span across the ridge."""
    span = (rect[3] - rect[2]) if ridge_along_u else (rect[1] - rect[0])
    rise = math.tan(math.radians(pitch_deg)) * span / 2 if pitch_deg > 0 else 0.0
    return _Part(rect, float(eave), float(rise), ridge_along_u)


def _roof_material(kind: str, roof: str, rng: np.random.Generator) -> int:
    """Roof colour (material code) drawn from the families that suit the building."""
    choices = _ROOF_CHOICES[(kind, roof)]
    pick = int(rng.choice(len(choices), p=[p for _, p in choices]))
    family = list(_ROOF_FAMILIES).index(choices[pick][0])
    return _ROOF0 + family * _ROOF_VARIANTS + int(rng.integers(_ROOF_VARIANTS))


def _add_building(lay: _Layout, parts: list[_Part], roof: str, kind: str, rng: np.random.Generator) -> bool:
    """Append a building whose parts all lie inside the scene; False if it does not fit."""
    for u0, u1, v0, v1 in (p.rect for p in parts):
        if min(u0, v0) < 0.5 or max(u1, v1) > lay.size - 0.5:
            return False
    material = _roof_material(kind, roof, rng)
    lay.buildings.append(_Building(tuple(parts), material, roof, kind))
    return True


def _plan_block(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """Pick a land use for the block, fill it, then plant its street trees."""
    short = min(blk.u1 - blk.u0, blk.v1 - blk.v0)
    kind = _BLOCK_KINDS[int(rng.choice(len(_BLOCK_KINDS), p=_BLOCK_PROBS))]
    if short < 20:
        kind = "park"
    elif short < 34 and kind != "park":
        kind = "houses"
    planners = {
        "houses": _plan_houses,
        "apartments": _plan_apartments,
        "industrial": _plan_industrial,
        "park": _plan_park,
        "parking": _plan_parking,
    }
    planners[kind](lay, blk, rng)
    _plan_street_trees(lay, blk, rng)


def _plan_houses(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """Detached houses on lots along the long sides of the block."""
    sides: tuple[str, ...] = ("S", "N") if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else ("W", "E")
    frontage, depth = _extent(blk, sides[0])
    if depth >= 44:
        rows, lot_depth = sides, depth / 2
    else:
        has_road = blk.roads["SNWE".index(sides[0])] is not None
        rows, lot_depth = (sides[0] if has_road else sides[1],), depth
    for side in rows:
        s = float(rng.uniform(0, 4))
        while frontage - s >= 12:
            lot_w = min(float(rng.uniform(13, 22)), frontage - s)
            _plan_lot(lay, blk, side, (s, s + lot_w), lot_depth, rng)
            s += lot_w


def _plan_lot(
    lay: _Layout,
    blk: _Block,
    side: str,
    span: tuple[float, float],
    lot_depth: float,
    rng: np.random.Generator,
) -> None:
    """One house (sometimes L-shaped) set back from the street, drive and back garden."""
    s_lo, s_hi = span
    lot_w = s_hi - s_lo
    setback = float(rng.uniform(3, 7))
    max_depth = min(15.0, lot_depth - setback - 4)
    if lot_w < 11 or max_depth < 8:
        lay.tree_zones.append((_to_global(blk, side, s_lo, s_hi, 0, lot_depth), 1 / 150))
        return
    w = float(rng.uniform(8, min(15.0, lot_w - 3)))
    d = float(rng.uniform(8, max_depth))
    s0 = s_lo + float(rng.uniform(1.5, lot_w - w - 1.5))
    rects = [(s0, s0 + w, setback, setback + d)]
    back = setback + d
    if rng.random() < 0.3 and lot_depth - back >= 9:
        w2 = float(rng.uniform(4, 0.6 * w))
        d2 = float(rng.uniform(4, min(8.0, lot_depth - back - 5)))
        ws = s0 if rng.random() < 0.5 else s0 + w - w2
        rects.append((ws, ws + w2, back - 0.5, back + d2))
        back += d2
    _add_house(lay, blk, side, rects, rng)
    _plan_driveway(lay, blk, side, (s_lo, s0, s0 + w, s_hi), setback, rng)
    garden = _to_global(blk, side, s_lo + 0.5, s_hi - 0.5, back + 1.5, lot_depth - 0.5)
    lay.tree_zones.append((garden, 1 / 110))


def _add_house(
    lay: _Layout,
    blk: _Block,
    side: str,
    rects: list[tuple[float, float, float, float]],
    rng: np.random.Generator,
) -> None:
    """House from side-frame rectangles; a wing's ridge follows its long axis."""
    gable = rng.random() < 0.7
    eave = float(rng.uniform(3, 7) if gable else rng.uniform(3, 9))
    pitch = float(rng.uniform(25, 45)) if gable else 0.0
    main_along_s = rng.random() < 0.75
    parts = []
    for i, (s0, s1, t0, t1) in enumerate(rects):
        along_s = main_along_s if i == 0 else (s1 - s0) > (t1 - t0)
        rect = _to_global(blk, side, s0, s1, t0, t1)
        parts.append(_part(rect, eave, pitch, along_s == (side in "SN")))
    _add_building(lay, parts, "gable" if gable else "flat", "house", rng)


def _plan_driveway(
    lay: _Layout,
    blk: _Block,
    side: str,
    edges: tuple[float, float, float, float],
    setback: float,
    rng: np.random.Generator,
) -> None:
    """Paved or gravel drive from the street past the house, in the wider side gap."""
    s_lo, h0, h1, s_hi = edges
    if rng.random() > 0.7:
        return
    if h0 - s_lo >= s_hi - h1:
        lo, hi = max(s_lo + 0.3, h0 - 3.5), h0 - 0.5
    else:
        lo, hi = h1 + 0.5, min(s_hi - 0.3, h1 + 3.5)
    if hi - lo < 2.5:
        return
    material = _PAVED if rng.random() < 0.6 else _GRAVEL
    lay.ground.append((_to_global(blk, side, lo, hi, 0.0, setback + 6), material))


def _plan_bars(
    lay: _Layout,
    blk: _Block,
    side: str,
    s_range: tuple[float, float],
    form: tuple[float, float, float, bool],
    rng: np.random.Generator,
) -> None:
    """Apartment bars along one side; ``form`` = setback, depth, height, gable."""
    setback, depth, height, gable = form
    s = s_range[0] + float(rng.uniform(0, 3))
    while s_range[1] - s >= 20:
        length = min(float(rng.uniform(20, 60)), s_range[1] - s)
        rect = _to_global(blk, side, s, s + length, setback, setback + depth)
        eave = height + float(rng.uniform(-2, 2))
        pitch = float(rng.uniform(20, 32)) if gable else 0.0
        part = _part(rect, eave, pitch, side in "SN")
        _add_building(lay, [part], "gable" if gable else "flat", "apartment", rng)
        s += length + float(rng.uniform(6, 16))


def _plan_apartments(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """Perimeter block of apartment bars around a wooded courtyard."""
    setback, depth = float(rng.uniform(2, 5)), float(rng.uniform(10, 16))
    form = (setback, depth, float(rng.uniform(14, 28)), bool(rng.random() < 0.25))
    sides = "SNWE" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "WESN"
    frontage, across = _extent(blk, sides[0])
    need = 2 * (setback + depth) + 12
    if across < need:
        _plan_bars(lay, blk, sides[0], (0.0, frontage), form, rng)
        yard = _to_global(blk, sides[0], 1.0, frontage - 1, setback + depth + 3, across - 1)
        lay.tree_zones.append((yard, 1 / 90))
        return
    _plan_bars(lay, blk, sides[0], (0.0, frontage), form, rng)
    _plan_bars(lay, blk, sides[1], (0.0, frontage), form, rng)
    if frontage >= need:
        inner = (setback + depth + 8, across - setback - depth - 8)
        _plan_bars(lay, blk, sides[2], inner, form, rng)
        _plan_bars(lay, blk, sides[3], inner, form, rng)
    ring = setback + depth + 3
    court = (blk.u0 + ring, blk.u1 - ring, blk.v0 + ring, blk.v1 - ring)
    if court[1] - court[0] > 6 and court[3] - court[2] > 6:
        lay.tree_zones.append((court, 1 / 90))
        cu, cv = (court[0] + court[1]) / 2, (court[2] + court[3]) / 2
        lay.ground.append(((court[0], court[1], cv - 1.5, cv + 1.5), _PAVED))
        lay.ground.append(((cu - 1.5, cu + 1.5, court[2], court[3]), _PAVED))


def _plan_industrial(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """One to three large flat-roofed halls on a paved yard."""
    lay.ground.append(((blk.u0 + 1.5, blk.u1 - 1.5, blk.v0 + 1.5, blk.v1 - 1.5), _YARD))
    side = "S" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "W"
    frontage, across = _extent(blk, side)
    count = int(rng.integers(1, max(1, min(3, int(frontage // 45))) + 1))
    segment = (frontage - 3) / count
    for i in range(count):
        length = min(float(rng.uniform(0.55, 0.85)) * segment, 90.0)
        width = min(float(rng.uniform(0.5, 0.8)) * across, 50.0, across - 10)
        if length < 20 or width < 15:
            continue
        s0 = 1.5 + i * segment + float(rng.uniform(0, segment - length))
        t0 = float(rng.uniform(4, across - width - 4))
        rect = _to_global(blk, side, s0, s0 + length, t0, t0 + width)
        eave = float(rng.uniform(6, 14))
        _add_building(lay, [_part(rect, eave, 0.0, True)], "flat", "hall", rng)


def _plan_park(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """Wooded park with crossing paths and sometimes a pond."""
    width, height = blk.u1 - blk.u0, blk.v1 - blk.v0
    cu, cv = (blk.u0 + blk.u1) / 2, (blk.v0 + blk.v1) / 2
    path = float(rng.uniform(2, 3))
    if rng.random() < 0.3:
        patch = (cu - width / 4, cu + width / 4, cv - height / 4, cv + height / 4)
        lay.ground.append((patch, _DRY_GRASS))
    if min(width, height) >= 30:
        lay.ground.append(((blk.u0, blk.u1, cv - path / 2, cv + path / 2), _GRAVEL))
        lay.ground.append(((cu - path / 2, cu + path / 2, blk.v0, blk.v1), _GRAVEL))
    if min(width, height) >= 45 and rng.random() < 0.5:
        qu = (width - path) / 2
        qv = (height - path) / 2
        pu = cu + (1 if rng.random() < 0.5 else -1) * (path + qu) / 2
        pv = cv + (1 if rng.random() < 0.5 else -1) * (path + qv) / 2
        ru, rv = float(rng.uniform(0.3, 0.42)) * qu, float(rng.uniform(0.3, 0.42)) * qv
        uu, vv = np.meshgrid(np.linspace(pu - ru, pu + ru, 7), np.linspace(pv - rv, pv + rv, 7))
        level = float(lay.terrain(uu, vv).min()) - 0.5
        lay.ponds.append(_Pond(pu, pv, ru, rv, level))
    lay.tree_zones.append(((blk.u0, blk.u1, blk.v0, blk.v1), 1 / 60))


def _plan_parking(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """Car park with painted stalls and tree-lined grass edges."""
    side = "S" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "W"
    frontage, across = _extent(blk, side)
    lay.ground.append((_to_global(blk, side, 3.0, frontage - 3, 3.0, across - 3), _YARD))
    t = 4.0
    while across - 3 - t >= 16:
        for row in (t, t + 11):
            for s in np.arange(4.0, frontage - 4, 2.5).tolist():
                line = _to_global(blk, side, s - 0.15, s + 0.15, row, row + 5)
                lay.ground.append((line, _PARKING_LINE))
        t += 17.0
    for edge in "SNWE":
        length, _ = _extent(blk, edge)
        lay.tree_zones.append((_to_global(blk, edge, 0.0, length, 0.0, 2.5), 1 / 30))
    if rng.random() < 0.5:
        lay.ground.append((_to_global(blk, side, 3.0, frontage - 3, 3.0, 4.0), _PAVED))


def _plan_street_trees(lay: _Layout, blk: _Block, rng: np.random.Generator) -> None:
    """Regularly spaced trees in the grass verges that border the block."""
    for side, road in zip("SNWE", blk.roads, strict=True):
        if road is None or road.verge <= 0:
            continue
        frontage, _ = _extent(blk, side)
        spacing = float(rng.uniform(8, 12))
        for s in np.arange(float(rng.uniform(3, 7)), frontage - 3, spacing).tolist():
            u0, _, v0, _ = _to_global(blk, side, s, s, -road.verge / 2, -road.verge / 2)
            lay.street_trees.append((u0, v0))


def _plan_trees(lay: _Layout, rng: np.random.Generator) -> None:
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
    material = rng.choice(np.array(_TREE_MATERIALS, dtype=np.float64), len(u))
    lay.trees = np.column_stack([u, v, height, radius, material])


def _tree_clearance(lay: _Layout, u: F64, v: F64) -> F64:
    """Free distance (metres) from each point to buildings, roads and water."""
    n = min(_PLANNING_MAX_PIXELS, max(16, math.ceil(lay.size / 0.5)))
    canvas = _Canvas(lay.size, n)
    mat = np.full((n, n), _GRASS, np.uint8)
    _draw_ground(lay, canvas, mat)
    _draw_water(lay, canvas, mat, None)
    _draw_roads(lay, canvas, mat)
    _draw_buildings(lay, canvas, mat, None)
    blocked = _BLOCKS_TREES[mat]
    if not blocked.any():
        return np.full(len(u), np.inf)
    dist = ndimage.distance_transform_edt(~blocked).astype(np.float32) * canvas.res
    cols = np.clip((u / canvas.res).astype(np.intp), 0, n - 1)
    rows = np.clip(((lay.size - v) / canvas.res).astype(np.intp), 0, n - 1)
    # a point may sit half a pixel diagonal from its pixel centre and a shape edge a
    # pixel diagonal from the nearest covered centre
    return dist[rows, cols].astype(np.float64) - 2.2 * canvas.res - 0.05


# ---------------------------------------------------------------- rasterising


def _fill(canvas: _Canvas, mat: U8, rect: Rect, material: int) -> None:
    """Paint ``material`` on the pixels whose centres lie in ``rect``."""
    rows, cols = canvas.window(rect)
    mat[rows, cols] = material


def _draw_ground(lay: _Layout, canvas: _Canvas, mat: U8) -> None:
    """Paved yards, paths, drives, patches and parking lines."""
    for rect, material in lay.ground:
        _fill(canvas, mat, rect, material)


def _river_level(lay: _Layout, river: _River, u: F64) -> F64:
    """Water surface along the river: just below the lowest bank in each column."""
    centre = river.v_mid + river.amp * np.sin(2 * np.pi * u / river.wavelength + river.phase)
    banks = [lay.terrain(u, centre + k * river.half_width) for k in (-1.0, 0.0, 1.0)]
    return np.minimum.reduce(banks) - 0.8


def _draw_water(lay: _Layout, canvas: _Canvas, mat: U8, level: F32 | None) -> None:
    """Ponds (ellipses) and rivers (sinuous bands); record their surface in ``level``."""
    for pond in lay.ponds:
        rows, cols = canvas.window((pond.cu - pond.ru, pond.cu + pond.ru, pond.cv - pond.rv, pond.cv + pond.rv))
        du = (canvas.u_at(cols) - pond.cu) / pond.ru
        dv = (canvas.v_at(rows) - pond.cv) / pond.rv
        inside = dv[:, None] ** 2 + du[None, :] ** 2 < 1
        mat[rows, cols][inside] = _WATER
        if level is not None:
            level[rows, cols][inside] = pond.level
    for river in lay.rivers:
        reach = river.amp + river.half_width
        rows, cols = canvas.rows(river.v_mid - reach, river.v_mid + reach), slice(0, canvas.n)
        u = canvas.u_at(cols)
        centre = river.v_mid + river.amp * np.sin(2 * np.pi * u / river.wavelength + river.phase)
        inside = np.abs(canvas.v_at(rows)[:, None] - centre[None, :]) < river.half_width
        mat[rows, cols][inside] = _WATER
        if level is not None:
            surface = np.broadcast_to(_river_level(lay, river, u)[None, :], inside.shape)
            level[rows, cols][inside] = surface[inside]


def _draw_roads(lay: _Layout, canvas: _Canvas, mat: U8) -> None:
    """Sidewalks first, then carriageways and their paint, narrow roads under wide."""
    for road in lay.roads:
        _fill(canvas, mat, road.strip(road.width / 2 + road.sidewalk, lay.size), _PAVED)
    for road in lay.roads:
        _fill(canvas, mat, road.strip(road.width / 2, lay.size), _ROAD)
        for rect in road.markings:
            _fill(canvas, mat, rect, _MARKING)


def _draw_buildings(lay: _Layout, canvas: _Canvas, mat: U8, ndsm: F32 | None) -> None:
    """Roof materials and, when ``ndsm`` is given, flat or gabled roof heights."""
    for building in lay.buildings:
        for part in building.parts:
            rows, cols = canvas.window(part.rect)
            if rows.start >= rows.stop or cols.start >= cols.stop:
                continue
            mat[rows, cols] = building.material
            if ndsm is None:
                continue
            sub = ndsm[rows, cols]
            np.maximum(sub, np.float32(_roof_profile(canvas, part, rows, cols)), out=sub)


def _roof_profile(canvas: _Canvas, part: _Part, rows: slice, cols: slice) -> F64:
    """Roof height above ground over the part's pixels (broadcastable), metres."""
    if part.rise <= 0:
        return np.full((1, 1), part.eave)
    u0, u1, v0, v1 = part.rect
    if part.ridge_along_u:
        off = np.abs(canvas.v_at(rows) - (v0 + v1) / 2) / ((v1 - v0) / 2)
        return (part.eave + part.rise * (1 - np.minimum(off, 1.0)))[:, None]
    off = np.abs(canvas.u_at(cols) - (u0 + u1) / 2) / ((u1 - u0) / 2)
    return (part.eave + part.rise * (1 - np.minimum(off, 1.0)))[None, :]


def _draw_trees(lay: _Layout, canvas: _Canvas, mat: U8, ndsm: F32) -> None:
    """Ellipsoidal crowns over ground only (never over roofs, roads or water)."""
    for u, v, height, radius, material in lay.trees:
        rows, cols = canvas.window((u - radius, u + radius, v - radius, v + radius))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        du = canvas.u_at(cols) - u
        dv = canvas.v_at(rows) - v
        q = (dv[:, None] ** 2 + du[None, :] ** 2) / radius**2
        base = _crown_base(height)
        crown = (base + (height - base) * np.sqrt(np.maximum(1 - q, 0))).astype(np.float32)
        sub_mat, sub_h = mat[rows, cols], ndsm[rows, cols]
        update = (q < 1) & _TREE_OK[sub_mat] & (crown > sub_h)
        sub_h[update] = crown[update]
        sub_mat[update] = int(material)


def _render_surface(lay: _Layout, canvas: _Canvas, levels: bool) -> tuple[U8, F32, F32 | None]:
    """Materials, heights above ground and (optionally) water levels on ``canvas``."""
    mat = np.full((canvas.n, canvas.n), _GRASS, np.uint8)
    ndsm = np.zeros((canvas.n, canvas.n), np.float32)
    level = np.full((canvas.n, canvas.n), np.nan, np.float32) if levels else None
    _draw_ground(lay, canvas, mat)
    _draw_water(lay, canvas, mat, level)
    _draw_roads(lay, canvas, mat)
    _draw_buildings(lay, canvas, mat, ndsm)
    _draw_trees(lay, canvas, mat, ndsm)
    return mat, ndsm, level


def _render_elevation(lay: _Layout, canvas: _Canvas) -> tuple[F32, F32, U8]:
    """DSM, DTM (water surface on water) and ASPRS labels on the DSM grid."""
    mat, ndsm, level = _render_surface(lay, canvas, levels=True)
    full = slice(0, canvas.n)
    dtm = lay.terrain(canvas.u_at(full)[None, :], canvas.v_at(full)[:, None]).astype(np.float32)
    if level is not None:
        water = (mat == _WATER) & np.isfinite(level)
        dtm[water] = level[water]
    dsm = dtm + ndsm
    return dsm, dtm, _LABEL[mat]


# ------------------------------------------------------------------ orthophoto


def _row_chunks(shape: tuple[int, ...]) -> list[slice]:
    """Row slices of about two million pixels each, to bound temporary memory."""
    step = max(1, (1 << 21) // max(1, shape[-1]))
    return [slice(r, min(r + step, shape[0])) for r in range(0, shape[0], step)]


def _value_noise(canvas: _Canvas, cell_m: float, rng: np.random.Generator) -> F32:
    """Smooth unit-variance noise with features about ``cell_m`` metres across."""
    m = int(canvas.size / cell_m) + 3
    grid = rng.standard_normal((m, m), dtype=np.float32)
    pos = (np.arange(canvas.n) + 0.5) * (canvas.res / cell_m)
    idx = pos.astype(np.intp)
    t = pos - idx
    w1 = (t * t * (3 - 2 * t)).astype(np.float32)
    w0 = 1 - w1
    scale = np.float32(1 / np.mean(w0**2 + w1**2))  # interpolation shrinks the variance
    rows = grid[idx] * (w0 * scale)[:, None] + grid[idx + 1] * (w1 * scale)[:, None]
    out = np.empty((canvas.n, canvas.n), np.float32)
    for chunk in _row_chunks(out.shape):
        part = rows[chunk]
        out[chunk] = part[:, idx] * w0 + part[:, idx + 1] * w1
    return out


def _hillshade(z: F32, res: float) -> F32:
    """Light factor of each pixel relative to flat ground (roof facets, crowns).

    Mixes ambient light with direct sun on the local slope; walls are clipped to
    steep slopes so that they only outline objects.
    """
    shade = np.empty_like(z)
    for chunk in _row_chunks(z.shape):
        lo, hi = max(0, chunk.start - 1), min(z.shape[0], chunk.stop + 1)
        part = _direct_light(z[lo:hi], res)
        shade[chunk] = part[chunk.start - lo : chunk.stop - lo]
    shade *= np.float32(1 - _AMBIENT)
    shade += np.float32(_AMBIENT)
    return shade


def _direct_light(z: F32, res: float) -> F32:
    """Direct sunlight on the slope of ``z`` relative to flat ground, in [0, 1.5]."""
    g_rows, g_cols = np.gradient(z, res)  # callers pass at least two rows
    np.clip(g_cols, -1.5, 1.5, out=g_cols)  # dz/d(east)
    np.clip(g_rows, -1.5, 1.5, out=g_rows)  # dz/d(south)
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(SUN_ELEVATION_DEG)
    east, north, up = math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)
    light = (g_rows * np.float32(north) - g_cols * np.float32(east) + np.float32(up)) / (
        np.sqrt(1 + g_cols**2 + g_rows**2) * np.float32(up)
    )
    return np.clip(light, 0.0, 1.5, out=light)


def _cast_shadow(occluders: F32, surface: F32, res: float) -> npt.NDArray[np.bool_]:
    """Pixels of ``surface`` hidden from the sun by the prisms in ``occluders``.

    Ray march towards the sun by doubling steps: after the pass with step ``s`` the
    horizon holds the maximum over ``k < 2 s`` of ``occluders(p + k d) - k rise``.
    ``occluders`` is overwritten (it becomes the horizon).
    """
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(SUN_ELEVATION_DEG)
    d_row, d_col = -math.cos(az), math.sin(az)  # one pixel towards the sun
    rise = res * math.tan(el)  # ray height gained per pixel step
    reach = float(occluders.max()) / rise
    horizon = occluders
    buf = np.empty_like(occluders)
    step = 1
    while step <= reach:
        _shift(horizon, round(step * d_row), round(step * d_col), buf)
        buf -= np.float32(step * rise)
        np.maximum(horizon, buf, out=horizon)
        step *= 2
    del buf
    horizon -= np.float32(0.15)
    return horizon > surface


def _tree_shadows(lay: _Layout, canvas: _Canvas, ndsm: F32, shadow: npt.NDArray[np.bool_]) -> None:
    """Add each crown's elliptical shadow and its trunk's thin one to ``shadow``."""
    az, el = math.radians(SUN_AZIMUTH_DEG), math.radians(SUN_ELEVATION_DEG)
    away_u, away_v = -math.sin(az), -math.cos(az)  # shadow direction on the ground
    cot = 1 / math.tan(el)
    for u, v, height, radius, _ in lay.trees:
        base = _crown_base(height)
        half = (height - base) / 2
        reach = (base + half) * cot
        along = math.hypot(radius, half * cot)
        cu, cv = u + away_u * reach, v + away_v * reach
        rect = (
            min(u, cu - along),
            max(u, cu + along),
            min(v, cv - along),
            max(v, cv + along),
        )
        rows, cols = canvas.window(rect)
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        du = canvas.u_at(cols)[None, :] - u
        dv = canvas.v_at(rows)[:, None] - v
        a = du * away_u + dv * away_v  # distance along the shadow from the trunk
        c = du * away_v - dv * away_u  # distance across it
        crown = ((a - reach) / along) ** 2 + (c / radius) ** 2 < 1
        trunk = (np.abs(c) < 0.2) & (a > 0) & (a < reach)
        sub = shadow[rows, cols]
        sub |= (crown | trunk) & (ndsm[rows, cols] < base)


def _crown_base(height: float) -> float:
    """Height of the lowest crown edge above ground, metres (always above 2 m)."""
    return max(2.5, 0.3 * height)


def _shift(src: F32, dr: int, dc: int, out: F32) -> None:
    """``out[r, c] = src[r + dr, c + dc]``, minus infinity outside the raster."""
    n_rows, n_cols = src.shape
    out.fill(-np.inf)
    r0, r1 = max(0, -dr), min(n_rows, n_rows - dr)
    c0, c1 = max(0, -dc), min(n_cols, n_cols - dc)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = src[r0 + dr : r1 + dr, c0 + dc : c1 + dc]


def _lookup(table: npt.NDArray, mat: U8) -> npt.NDArray:
    """``table[mat]`` by row chunks (avoids a full-size intp index array)."""
    out = np.empty(mat.shape, table.dtype)
    for chunk in _row_chunks(mat.shape):
        out[chunk] = table[mat[chunk]]
    return out


def _shadows(lay: _Layout, canvas: _Canvas, mat: U8, ndsm: F32) -> npt.NDArray[np.bool_]:
    """Cast shadows of buildings (ray marched) and of tree crowns (stamped)."""
    occluders = _lookup(_IS_ROOF, mat)
    occluders *= ndsm
    shadow = _cast_shadow(occluders, ndsm, canvas.res)
    del occluders
    _tree_shadows(lay, canvas, ndsm, shadow)
    return shadow


def _apply_texture(light: F32, mat: U8, low: F32, canvas: _Canvas, rng: np.random.Generator) -> None:
    """Modulate ``light`` in place by material-dependent coarse and fine texture."""
    fine = _value_noise(canvas, max(0.6, 2.2 * canvas.res), rng)
    for chunk in _row_chunks(mat.shape):
        m = mat[chunk]
        light[chunk] *= 1 + _AMP_LOW[m] * low[chunk] + _AMP_FINE[m] * fine[chunk]


def _colourise(
    mat: U8,
    light: F32,
    shadow: npt.NDArray[np.bool_],
    low: F32,
    rng: np.random.Generator,
) -> U8:
    """RGB bands: material colour x light, colour drift, shadow tint, sensor noise."""
    out = np.empty((3, *mat.shape), np.uint8)
    rgb = [np.ascontiguousarray(_RGB[:, band]) for band in range(3)]
    for chunk in _row_chunks(mat.shape):
        m = mat[chunk]
        drift = _HUE[m] * low[chunk]
        for band in range(3):
            channel = rgb[band][m] * light[chunk] + drift * np.float32(_HUE_RGB[band])
            tint = np.float32(_SHADOW_TINT[band])
            np.multiply(channel, tint, out=channel, where=shadow[chunk])
            # uniform integers in [-4, 4]: standard deviation 2.6 DN, cheap to draw
            channel += rng.integers(-4, 5, m.shape, dtype=np.int8)
            channel += 0.5
            out[band, chunk] = np.clip(channel, 0, 255, out=channel)
    return out


def _render_ortho(lay: _Layout, canvas: _Canvas, rng: np.random.Generator) -> U8:
    """Orthophoto: material colours, texture, sun shading, cast shadows, sensor noise."""
    mat, ndsm, _ = _render_surface(lay, canvas, levels=False)
    light = _hillshade(ndsm, canvas.res)
    shadow = _shadows(lay, canvas, mat, ndsm)
    del ndsm
    low = _value_noise(canvas, 9.0, rng)
    _apply_texture(light, mat, low, canvas, rng)
    return _colourise(mat, light, shadow, low, rng)


# ------------------------------------------------------------------- public API


_DEFAULT_CONFIG = SceneConfig()


def _building_records(lay: _Layout, x0: float, y0: float) -> list[dict]:
    """Building dicts in CRS coordinates (footprint = union of the parts)."""
    records = []
    for i, building in enumerate(lay.buildings, start=1):
        boxes = [box(x0 + u0, y0 + v0, x0 + u1, y0 + v1) for u0, u1, v0, v1 in (p.rect for p in building.parts)]
        footprint = boxes[0] if len(boxes) == 1 else unary_union(boxes)
        if not isinstance(footprint, Polygon):
            footprint = footprint.convex_hull
        records.append(
            {
                "id": i,
                "footprint": orient(footprint),
                "height_m": float(building.parts[0].eave),
                "roof": building.roof,
                "ridge_height_m": float(max(p.eave + p.rise for p in building.parts)),
                "kind": building.kind,
            }
        )
    return records


def _tree_records(lay: _Layout, x0: float, y0: float) -> list[dict]:
    """Tree dicts in CRS coordinates."""
    return [
        {
            "x": float(x0 + u),
            "y": float(y0 + v),
            "height_m": float(height),
            "crown_diameter_m": float(2 * radius),
        }
        for u, v, height, radius, _ in lay.trees
    ]


def generate_scene(cfg: SceneConfig = _DEFAULT_CONFIG) -> SyntheticScene:
    """Generate a synthetic town deterministically from ``cfg``.

    Args:
        cfg: Scene size (metres), pixel sizes (metres), CRS placement and seed.

    Returns:
        The scene: RGB orthophoto at ``cfg.ortho_gsd_m``; DSM, DTM (metres) and ASPRS
        labels at ``cfg.gsd_m``; north-up transforms; building and tree records.
    """
    layout_rng, ortho_rng = np.random.default_rng(cfg.seed).spawn(2)
    lay = _plan_layout(cfg, layout_rng)
    size = float(cfg.size_m)
    dsm, dtm, labels = _render_elevation(lay, _Canvas(size, cfg.dsm_shape[0]))
    ortho = _render_ortho(lay, _Canvas(size, cfg.ortho_shape[0]), ortho_rng)
    x0, y0 = (float(c) for c in cfg.origin)
    return SyntheticScene(
        config=cfg,
        ortho=ortho,
        dsm=dsm,
        dtm=dtm,
        labels=labels,
        dsm_transform=Affine(cfg.gsd_m, 0.0, x0, 0.0, -cfg.gsd_m, y0 + size),
        ortho_transform=Affine(cfg.ortho_gsd_m, 0.0, x0, 0.0, -cfg.ortho_gsd_m, y0 + size),
        crs=f"EPSG:{int(cfg.epsg)}",
        buildings=_building_records(lay, x0, y0),
        trees=_tree_records(lay, x0, y0),
    )


def write_scene(scene: SyntheticScene, out_dir: Path) -> dict[str, Path]:
    """Write the scene's rasters as GeoTIFFs.

    Writes ``ortho.tif`` (RGB uint8, photometric RGB, no nodata), ``dsm.tif`` and
    ``dtm.tif`` (float32 metres, nodata -9999) and ``labels.tif`` (uint8 ASPRS codes,
    nodata 0), each with the scene's CRS and transform. The folder is created if needed.

    Args:
        scene: A scene from :func:`generate_scene`.
        out_dir: Destination folder.

    Returns:
        Paths keyed ``"ortho"``, ``"dsm"``, ``"dtm"`` and ``"labels"``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / f"{name}.tif" for name in ("ortho", "dsm", "dtm", "labels")}
    _write_tif(paths["ortho"], scene.ortho, scene.ortho_transform, scene.crs, None)
    _write_tif(paths["dsm"], scene.dsm[None], scene.dsm_transform, scene.crs, -9999.0)
    _write_tif(paths["dtm"], scene.dtm[None], scene.dsm_transform, scene.crs, -9999.0)
    _write_tif(paths["labels"], scene.labels[None], scene.dsm_transform, scene.crs, 0)
    return paths


def _write_tif(path: Path, bands: npt.NDArray, transform: Affine, crs: str, nodata: float | None) -> None:
    """Write a (bands, rows, cols) array as a tiled, deflate-compressed GeoTIFF."""
    count, height, width = bands.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": bands.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 3 if bands.dtype.kind == "f" else 2,
        "num_threads": "ALL_CPUS",
        "bigtiff": "IF_SAFER",
    }
    if count == 3:
        profile["photometric"] = "RGB"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)
