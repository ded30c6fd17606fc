"""The working grid: one metric CRS, one pixel size, one extent that every raster is resampled to."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from affine import Affine
from pyproj import CRS

from reconstruction.errors import OverlapError

Bounds = tuple[float, float, float, float]  # (left, bottom, right, top)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid in a metric CRS."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def resolution(self) -> float:
        """Pixel size in metres."""
        return float(self.transform.a)

    @property
    def bounds(self) -> Bounds:
        """Outer edges (left, bottom, right, top) in CRS units."""
        left, top = self.transform.c, self.transform.f
        return (left, top - self.height * self.resolution, left + self.width * self.resolution, top)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (self.height, self.width)

    def cells_of(
        self, geometry: object, all_touched: bool = False
    ) -> tuple[tuple[slice, slice], "npt.NDArray[np.bool_]"]:
        """The cells a polygon covers, rasterised only within its bounding window.

        Rasterising one polygon onto the whole grid costs a full-grid pass per feature; per-feature
        work (shares, confidences, footprint labels) would then grow with features x grid cells.

        Args:
            geometry: a shapely polygon (or anything with ``bounds`` and ``__geo_interface__``) in the grid CRS.
            all_touched: count every cell the outline touches, not only those whose centre is inside.

        Returns:
            ``(window, mask)``: row and column slices of the grid, and the boolean mask over that window
            (empty slices when the geometry lies outside the grid).
        """
        from rasterio import features

        left, bottom, right, top = geometry.bounds  # type: ignore[attr-defined]
        col0, row0 = (~self.transform) @ (left, top)
        col1, row1 = (~self.transform) @ (right, bottom)
        r0, c0 = max(0, math.floor(row0) - 1), max(0, math.floor(col0) - 1)
        r1, c1 = min(self.height, math.ceil(row1) + 1), min(self.width, math.ceil(col1) + 1)
        window = (slice(r0, max(r0, r1)), slice(c0, max(c0, c1)))
        shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
        if shape[0] == 0 or shape[1] == 0:
            return window, np.zeros(shape, dtype=bool)
        transform = self.transform @ Affine.translation(c0, r0)
        mask = features.geometry_mask([geometry], shape, transform, invert=True, all_touched=all_touched)
        return window, mask

    @classmethod
    def covering(cls, crs: CRS, bounds: Bounds, resolution: float, anchor: tuple[float, float] = (0.0, 0.0)) -> "Grid":
        """Return the grid of ``resolution`` metres that covers ``bounds``.

        Cell edges fall on ``anchor + k * resolution`` so that a raster already on that lattice
        (pass its corner as ``anchor``) is copied cell for cell, without resampling.
        """
        ax, ay = anchor

        def snap(value: float, origin: float, rounding: Callable[[float], float]) -> float:
            # Tolerate float noise: 0.9999999 cells is one cell.
            return origin + rounding(round((value - origin) / resolution, 6)) * resolution

        left, bottom = snap(bounds[0], ax, math.floor), snap(bounds[1], ay, math.floor)
        right, top = snap(bounds[2], ax, math.ceil), snap(bounds[3], ay, math.ceil)
        width = max(1, round((right - left) / resolution))
        height = max(1, round((top - bottom) / resolution))
        return cls(crs, Affine(resolution, 0, left, 0, -resolution, top), width, height)


def intersect(a: Bounds, b: Bounds, a_name: str, b_name: str) -> Bounds:
    """Return the overlap of two extents in the same CRS.

    Raises:
        OverlapError: the extents share no ground, or less than 1 % of the smaller one.
    """
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    right, top = min(a[2], b[2]), min(a[3], b[3])
    overlap = max(0.0, right - left) * max(0.0, top - bottom)
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    if overlap <= 0.01 * smaller:
        raise OverlapError(
            f"The {b_name} does not overlap the {a_name}: {a_name} covers {_fmt(a)}, {b_name} covers {_fmt(b)} "
            "(in the working CRS). Check that both files show the same place and that their CRS is right."
        )
    return (left, bottom, right, top)


def _fmt(b: Bounds) -> str:
    return f"x {b[0]:.1f}..{b[2]:.1f}, y {b[1]:.1f}..{b[3]:.1f}"
