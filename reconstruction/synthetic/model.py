"""The town's vector layout in local metres: terrain, streets, blocks, buildings, water, trees."""

from dataclasses import dataclass, field

import numpy as np

from reconstruction.synthetic.config import F64
from reconstruction.synthetic.materials import WATER

#: An axis-aligned rectangle ``(u0, u1, v0, v1)`` in local metres.
Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class Terrain:
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
class Road:
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
class Block:
    """Land between street corridors; ``roads`` are the S, N, W, E neighbours."""

    u0: float
    u1: float
    v0: float
    v1: float
    roads: tuple[Road | None, Road | None, Road | None, Road | None]


#: A gap between corridors along one axis: start, end (metres), road before, road after.
Interval = tuple[float, float, Road | None, Road | None]


@dataclass(frozen=True)
class Part:
    """One rectangle of a building with its roof (gable ridge centred on it)."""

    rect: Rect
    eave: float
    rise: float  # ridge height above the eave, 0 for flat roofs
    ridge_along_u: bool


@dataclass(frozen=True)
class Building:
    """A building: its parts, roof material code, roof (flat, gable) and kind (house, apartment, hall)."""

    parts: tuple[Part, ...]
    material: int
    roof: str
    kind: str


@dataclass(frozen=True)
class Car:
    """A parked car: its footprint, roof height above ground, body material, and which way it points.

    ``along_u``: the car's length runs along ``u`` (east-west). The glass (windscreen, roof window, rear
    window) is the middle half of its length, a little lower than the roof line drawn around it.
    """

    rect: Rect
    height: float
    material: int
    along_u: bool


@dataclass(frozen=True)
class Pond:
    """An elliptical pond: centre ``cu``, ``cv``, semi-axes ``ru``, ``rv`` and water level, metres."""

    cu: float
    cv: float
    ru: float
    rv: float
    level: float
    material: int = WATER


@dataclass(frozen=True)
class River:
    """An east-west river meandering as a sine about ``v_mid``, with its half width, metres."""

    v_mid: float
    amp: float
    wavelength: float
    phase: float
    half_width: float
    material: int = WATER
    bank_m: float = 0.0  # a quay of ``bank_material`` this wide on each side (``SceneConfig.water``)
    bank_material: int = 0


@dataclass
class Layout:
    """Everything to draw, in local metres, in drawing order per list.

    Local metres are ``u`` east and ``v`` north of the scene's lower-left corner.
    """

    size: float
    terrain: Terrain
    roads: list[Road] = field(default_factory=list)
    ground: list[tuple[Rect, int]] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    ponds: list[Pond] = field(default_factory=list)
    cars: list[Car] = field(default_factory=list)
    rivers: list[River] = field(default_factory=list)
    tree_zones: list[tuple[Rect, float]] = field(default_factory=list)  # rect, trees/m²
    street_trees: list[tuple[float, float]] = field(default_factory=list)
    trees: F64 = field(default_factory=lambda: np.zeros((0, 5)))  # u, v, h, radius, mat
