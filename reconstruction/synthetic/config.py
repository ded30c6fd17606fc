"""Scene configuration and validation, the generated scene, and the constants it documents."""

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

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

#: Open land uses ``SceneConfig.open_ground`` can draw (``SceneConfig.open_ground_uses``).
OPEN_USES: tuple[str, ...] = ("parking", "plaza", "field")

#: Seasons the generator can draw (``SceneConfig.season``); ``"summer"`` is the original look.
SEASONS: tuple[str, ...] = ("summer", "spring", "autumn", "winter")

#: Array types of the generator: float32 rasters, float64 coordinates, uint8 images and codes.
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


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
        nir: Add a near-infrared band to the orthophoto (R, G, B, NIR); off by default, and the
            R, G, B bands are the same either way.
        season: ``"summer"`` (the default look), ``"spring"``, ``"autumn"`` or ``"winter"``:
            leaf and lawn colours and NIR, leaf-off crowns that show the ground, sun elevation
            (shadow length). Only the orthophoto changes; the DSM, DTM and labels do not.
        open_ground: Also draw the open land uses real imagery is full of and the default towns lack
            (issue 17): car parks of dark asphalt with painted stalls and parked cars (1-1.5 m high, labelled
            ground), paved plazas and sports grounds, and bare-soil fields. Off by default; the default
            output is the same, byte for byte, as before the option existed.
        open_ground_uses: Which open land uses ``open_ground`` draws, some of :data:`OPEN_USES`
            (``"parking"``: car parks with cars, ``"plaza"``: plazas and sports grounds, ``"field"``: fields);
            all three by default. Without ``"parking"`` car parks keep their original share and have no cars.
        big_trees: Also plant large old trees and tree groups (issue 17): broadleaf crowns 10-20 m across and
            15-28 m tall in parks, gardens and along streets (overhanging the road), and stands of tall pines
            (18-30 m), with lumpy crowns and their long shadows; labelled tree at their true height. Off by
            default (the default output stays the same, byte for byte).
        water: Also draw a river crossing most towns (10-50 m wide, meandering, with stone quays or grassy
            banks; the streets crossing it are bridges) and a lake or pond in some, all in dark, turbid,
            greenish or brownish water with sun glints; water is labelled water at 0 m above its surface. Off
            by default (the default output stays the same, byte for byte).

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
    nir: bool = False
    season: str = "summer"
    open_ground: bool = False
    open_ground_uses: tuple[str, ...] = ("parking", "plaza", "field")
    big_trees: bool = False
    water: bool = False

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
        if not isinstance(self.nir, bool):
            raise ConfigError(f"nir must be true or false, got {self.nir!r}")
        if not isinstance(self.open_ground, bool):
            raise ConfigError(f"open_ground must be true or false, got {self.open_ground!r}")
        for name in ("big_trees", "water"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        object.__setattr__(self, "open_ground_uses", tuple(self.open_ground_uses))
        uses = self.open_ground_uses
        if not uses or not set(uses) <= set(OPEN_USES) or len(set(uses)) != len(uses):
            raise ConfigError(f"open_ground_uses must list distinct uses from {OPEN_USES}, got {uses!r}")
        if self.season not in SEASONS:
            raise ConfigError(f"season must be one of {', '.join(SEASONS)}, got {self.season!r}")
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
        ortho: ``(3, H_o, W_o)`` RGB orthophoto, uint8; ``(4, H_o, W_o)`` R, G, B, NIR when
            ``config.nir`` is set.
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
