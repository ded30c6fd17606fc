"""The working grid's cell size, and why: the configured one, the DSM's, the orthophoto's, or the LiDAR's density.

A grid of heights from points needs a return in most of its cells: the run fills small gaps from their
neighbours, but where most cells are empty the building mask falls apart. rs3d takes
:data:`CELL_FACTOR` / sqrt(density), rounded to the nearest rung of :data:`CELL_LADDER` on a log scale:
a cell then holds about 1.5 to 6 returns on average (``CELL_FACTOR`` squared is 2.9).

The factor is measured (``bench/bench_cell_size.py``, docs/benchmarks.md): on two generated towns sampled
at 0.3 to 15 points/m², the building mask's IoU was within 0.02 of the best cell size at every density
for any factor between 1.41 and 2.0; 1.7 sits in the middle. 0.3 points/m² gets 2 m (IoU 0.80; at 1 m,
0.00: three cells in four are empty), 15 points/m² 0.5 m (0.98, against 0.93 at 1 m).
"""

import math
from dataclasses import dataclass
from typing import Any, Literal

from pyproj import CRS, Transformer

from reconstruction.io.lidar import LidarInfo

#: Cell sides a LiDAR density can choose, metres: powers of two, so the grids of different densities nest.
CELL_LADDER = (0.5, 1.0, 2.0)
#: Cell side times sqrt(density) before rounding (measured: see the module docstring).
CELL_FACTOR = 1.7

CellSource = Literal["config", "dsm", "orthophoto", "lidar density", "default"]


@dataclass(frozen=True)
class CellSize:
    """The working grid's cell side and where it comes from.

    Attributes:
        resolution_m: the cell side, metres.
        source: ``config`` (``resolution_m`` was set), ``dsm`` (the DSM's own pixel), ``orthophoto`` (its
            pixel, an orthophoto alone), ``lidar density`` (:func:`cell_for_density`) or ``default`` (0.5 m:
            reprojected inputs with nothing else to go by).
        lidar_density: the LiDAR's points per m² over its extent, None without LiDAR.
    """

    resolution_m: float
    source: CellSource
    lidar_density: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``grid.cell_size``."""
        density = None if self.lidar_density is None else round(self.lidar_density, 3)
        return {"resolution_m": self.resolution_m, "source": self.source, "lidar_points_per_m2": density}

    def describe(self) -> str:
        """One line for the run's log, e.g. "Cells of 2 m, from the LiDAR's 0.29 points/m² (...)"."""
        if self.source == "lidar density":
            return (
                f"Cells of {self.resolution_m:g} m, from the LiDAR's {self.lidar_density:.3g} points/m² "
                f"({CELL_FACTOR:g} / sqrt(density), rounded to {', '.join(f'{c:g}' for c in CELL_LADDER)} m; "
                "set resolution_m to choose another)"
            )
        why = {
            "config": "as configured (resolution_m)",
            "dsm": "the DSM's own pixel",
            "orthophoto": "the orthophoto's own pixel (not finer than 0.5 m)",
            "default": "the default for inputs on another CRS",
        }[self.source]
        return f"Cells of {self.resolution_m:g} m, {why}"


def lidar_density(info: LidarInfo, crs: CRS) -> float:
    """Points per m² over the LiDAR's extent (its header's box, in the metric ``crs``).

    A box larger than the ground the points cover (a cropped or diagonal tile, water that returns nothing)
    makes the estimate low, and so the cells coarser: the safe side.
    """
    west, south, east, north = Transformer.from_crs(info.crs, crs, always_xy=True).transform_bounds(*info.bounds)
    area = max((east - west) * (north - south), 1.0)
    return info.point_count / area


def cell_for_density(density: float) -> float:
    """The cell side for ``density`` points per m²: :data:`CELL_FACTOR` / sqrt(density), rounded to the ladder.

    Rounding is to the nearest rung on a log scale (2 m from 1.41 m up), clamped to the ladder's ends:
    up to 1.45 points/m² gives 2 m, up to 5.8 gives 1 m, more gives 0.5 m.
    """
    if not density > 0:
        return CELL_LADDER[-1]
    ideal = CELL_FACTOR / math.sqrt(density)
    return min(CELL_LADDER, key=lambda rung: abs(math.log(rung / ideal)))
