"""Rasterise the layout onto a pixel grid: materials, heights above ground, DSM, DTM and labels."""

import math
from dataclasses import dataclass

import numpy as np

from reconstruction.synthetic.config import F32, F64, LABEL_WATER, U8
from reconstruction.synthetic.materials import (
    BIG_TREE_MATERIALS,
    CAR_GLASS,
    GRASS,
    LABEL,
    MARKING,
    PAVED,
    PINE,
    ROAD,
    TREE_OK,
)
from reconstruction.synthetic.model import Car, Layout, Part, Rect, River


@dataclass(frozen=True)
class Canvas:
    """A square north-up pixel grid over the scene (pixel-centre sampling).

    A pixel belongs to a shape when its centre lies inside it, so grids of different
    resolutions show exactly the same town.
    """

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


def crown_base(height: float, material: float = 0) -> float:
    """Height of the lowest crown edge above ground, metres (always above 2 m); pines carry theirs high."""
    return max(2.5, (0.55 if material == PINE else 0.3) * height)


def draw_layout(lay: Layout, canvas: Canvas, mat: U8, ndsm: F32 | None, level: F32 | None) -> None:
    """Draw everything but the trees: ground, water, roads, parked cars, then buildings.

    Args:
        lay: The planned layout.
        canvas: The grid of ``mat`` (and of ``ndsm`` and ``level`` when given).
        mat: Material codes, painted in place.
        ndsm: Heights above ground, raised to the roofs in place; None to skip.
        level: Water surface elevations, set on water in place; None to skip.
    """
    _draw_ground(lay, canvas, mat)
    _draw_water(lay, canvas, mat, level)
    _draw_roads(lay, canvas, mat)
    _draw_cars(lay.cars, canvas, mat, ndsm)
    _draw_buildings(lay, canvas, mat, ndsm)


def render_surface(lay: Layout, canvas: Canvas, levels: bool) -> tuple[U8, F32, F32 | None]:
    """Materials, heights above ground and (optionally) water levels on ``canvas``."""
    mat = np.full((canvas.n, canvas.n), GRASS, np.uint8)
    ndsm = np.zeros((canvas.n, canvas.n), np.float32)
    level = np.full((canvas.n, canvas.n), np.nan, np.float32) if levels else None
    draw_layout(lay, canvas, mat, ndsm, level)
    _draw_trees(lay, canvas, mat, ndsm)
    return mat, ndsm, level


def render_elevation(lay: Layout, canvas: Canvas) -> tuple[F32, F32, U8]:
    """DSM, DTM (water surface on water) and ASPRS labels on the DSM grid."""
    mat, ndsm, level = render_surface(lay, canvas, levels=True)
    full = slice(0, canvas.n)
    dtm = lay.terrain(canvas.u_at(full)[None, :], canvas.v_at(full)[:, None]).astype(np.float32)
    if level is not None:
        water = (LABEL[mat] == LABEL_WATER) & np.isfinite(level)
        dtm[water] = level[water]
    dsm = dtm + ndsm
    return dsm, dtm, LABEL[mat]


def _fill(canvas: Canvas, mat: U8, rect: Rect, material: int) -> None:
    """Paint ``material`` on the pixels whose centres lie in ``rect``."""
    rows, cols = canvas.window(rect)
    mat[rows, cols] = material


def _draw_ground(lay: Layout, canvas: Canvas, mat: U8) -> None:
    """Paved yards, paths, drives, patches and parking lines."""
    for rect, material in lay.ground:
        _fill(canvas, mat, rect, material)


def _river_level(lay: Layout, river: River, u: F64) -> F64:
    """Water surface along the river: just below the lowest bank in each column."""
    centre = river.v_mid + river.amp * np.sin(2 * np.pi * u / river.wavelength + river.phase)
    banks = [lay.terrain(u, centre + k * river.half_width) for k in (-1.0, 0.0, 1.0)]
    return np.minimum.reduce(banks) - 0.8


def _draw_water(lay: Layout, canvas: Canvas, mat: U8, level: F32 | None) -> None:
    """Ponds (ellipses) and rivers (sinuous bands); record their surface in ``level``."""
    for pond in lay.ponds:
        rows, cols = canvas.window((pond.cu - pond.ru, pond.cu + pond.ru, pond.cv - pond.rv, pond.cv + pond.rv))
        du = (canvas.u_at(cols) - pond.cu) / pond.ru
        dv = (canvas.v_at(rows) - pond.cv) / pond.rv
        inside = dv[:, None] ** 2 + du[None, :] ** 2 < 1
        mat[rows, cols][inside] = pond.material
        if level is not None:
            level[rows, cols][inside] = pond.level
    for river in lay.rivers:
        reach = river.amp + river.half_width
        rows, cols = canvas.rows(river.v_mid - reach, river.v_mid + reach), slice(0, canvas.n)
        u = canvas.u_at(cols)
        centre = river.v_mid + river.amp * np.sin(2 * np.pi * u / river.wavelength + river.phase)
        if river.bank_m > 0:
            wide = canvas.rows(river.v_mid - reach - river.bank_m, river.v_mid + reach + river.bank_m)
            quay = np.abs(canvas.v_at(wide)[:, None] - centre[None, :]) < river.half_width + river.bank_m
            mat[wide, cols][quay] = river.bank_material
        inside = np.abs(canvas.v_at(rows)[:, None] - centre[None, :]) < river.half_width
        mat[rows, cols][inside] = river.material
        if level is not None:
            surface = np.broadcast_to(_river_level(lay, river, u)[None, :], inside.shape)
            level[rows, cols][inside] = surface[inside]


def _draw_roads(lay: Layout, canvas: Canvas, mat: U8) -> None:
    """Sidewalks first, then carriageways and their paint, narrow roads under wide."""
    for road in lay.roads:
        _fill(canvas, mat, road.strip(road.width / 2 + road.sidewalk, lay.size), PAVED)
    for road in lay.roads:
        _fill(canvas, mat, road.strip(road.width / 2, lay.size), ROAD)
        for rect in road.markings:
            _fill(canvas, mat, rect, MARKING)


def _car_band(car: Car, lo: float, hi: float, inset: float) -> Rect:
    """The part of ``car`` between fractions ``lo`` and ``hi`` of its length, ``inset`` metres in from its sides."""
    u0, u1, v0, v1 = car.rect
    if car.along_u:
        return u0 + lo * (u1 - u0), u0 + hi * (u1 - u0), v0 + inset, v1 - inset
    return u0 + inset, u1 - inset, v0 + lo * (v1 - v0), v0 + hi * (v1 - v0)


def _draw_cars(cars: list[Car], canvas: Canvas, mat: U8, ndsm: F32 | None) -> None:
    """Cars from above: bonnet and boot at about 0.65 of the roof height, glass and roof at full height."""
    for car in cars:
        layers = (
            (car.rect, car.material, 0.65 * car.height),
            (_car_band(car, 0.24, 0.8, 0.12), CAR_GLASS, car.height),
            (_car_band(car, 0.38, 0.68, 0.15), car.material, car.height),
        )
        for rect, material, height in layers:
            rows, cols = canvas.window(rect)
            mat[rows, cols] = material
            if ndsm is not None:
                ndsm[rows, cols] = np.float32(height)


def _draw_buildings(lay: Layout, canvas: Canvas, mat: U8, ndsm: F32 | None) -> None:
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


def _roof_profile(canvas: Canvas, part: Part, rows: slice, cols: slice) -> F64:
    """Roof height above ground over the part's pixels (broadcastable), metres."""
    if part.rise <= 0:
        return np.full((1, 1), part.eave)
    u0, u1, v0, v1 = part.rect
    if part.ridge_along_u:
        off = np.abs(canvas.v_at(rows) - (v0 + v1) / 2) / ((v1 - v0) / 2)
        return (part.eave + part.rise * (1 - np.minimum(off, 1.0)))[:, None]
    off = np.abs(canvas.u_at(cols) - (u0 + u1) / 2) / ((u1 - u0) / 2)
    return (part.eave + part.rise * (1 - np.minimum(off, 1.0)))[None, :]


def _draw_trees(lay: Layout, canvas: Canvas, mat: U8, ndsm: F32) -> None:
    """Ellipsoidal crowns over ground only (never over roofs, roads or water)."""
    for u, v, height, radius, material in lay.trees:
        rows, cols = canvas.window((u - radius, u + radius, v - radius, v + radius))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        du = canvas.u_at(cols) - u
        dv = canvas.v_at(rows) - v
        q = (dv[:, None] ** 2 + du[None, :] ** 2) / radius**2
        base = crown_base(height, material)
        big = material in BIG_TREE_MATERIALS
        if big:  # lumpy crowns with a ragged outline, never above the tree's height
            lumps = _crown_lumps(u, v, du, dv, material)
            q = q * (1 - 0.12 * lumps)
            profile = np.sqrt(np.maximum(1 - q, 0)) * (1 + 0.1 * lumps)
            crown = np.minimum(base + (height - base) * profile, height).astype(np.float32)
        else:
            crown = (base + (height - base) * np.sqrt(np.maximum(1 - q, 0))).astype(np.float32)
        sub_mat, sub_h = mat[rows, cols], ndsm[rows, cols]
        ok = (TREE_OK[sub_mat] | (sub_mat == ROAD) | (sub_mat == MARKING)) if big else TREE_OK[sub_mat]
        update = (q < 1) & ok & (crown > sub_h)
        sub_h[update] = crown[update]
        sub_mat[update] = int(material)


def _crown_lumps(u: float, v: float, du: F64, dv: F64, material: float) -> F64:
    """Clumps of foliage on a big crown, in about [-1, 1]: pines in small tufts, broadleaf trees in 3-4 m clumps.

    Deterministic in the tree's position (no random draw), so the DSM and orthophoto grids agree.
    """
    k = 2 * np.pi / (1.8 if material == PINE else 3.6)
    p1, p2, p3 = (math.fmod(u * a + v * b, 2 * np.pi) for a, b in ((12.99, 78.23), (39.35, 11.13), (5.71, 27.31)))
    across = np.sin(k * du[None, :] + p1) * np.sin(k * dv[:, None] + p2)
    diagonal = np.sin(0.7 * k * (du[None, :] - dv[:, None]) + p3)
    return 0.7 * across + 0.3 * diagonal
