"""What a run computes on and what it keeps: the whole area, or one chip's window and core.

The pipeline computes every stage on ``Extent.grid`` and keeps only the core: rasters cropped to it,
points inside it, area features (roads, water, vegetation, land use) cut at its edge, and buildings
and trees whose representative point lies in it (they are modelled whole from the window, which is
wider than any of them). For a whole-area run the core is the whole grid and nothing is cut.
"""

from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
from affine import Affine
from shapely.geometry.base import BaseGeometry

from reconstruction.chips.plan import Chip, ChipPlan
from reconstruction.config import PipelineConfig
from reconstruction.errors import InputError
from reconstruction.io import Grid
from reconstruction.io.area import check_grid_size

_ALL = (slice(None), slice(None))
Array = TypeVar("Array", bound=np.ndarray)


@dataclass(frozen=True)
class Extent:
    """The grid a run computes on, the core it keeps, and how ids are numbered.

    Attributes:
        grid: the cells every stage reads and computes on (a chip's window, or the whole area).
        core: row and column slices of ``grid`` the run keeps.
        chip: the chip, or None for a whole-area run.
    """

    grid: Grid
    core: tuple[slice, slice] = _ALL
    chip: Chip | None = None

    @classmethod
    def whole(cls, grid: Grid) -> "Extent":
        """A whole-area run: compute on ``grid`` and keep all of it."""
        return cls(grid)

    @classmethod
    def of_chip(cls, plan: ChipPlan, chip: Chip) -> "Extent":
        """Chip ``chip`` of ``plan``: compute on its window, keep its core."""
        return cls(plan.subgrid(chip.window), chip.core_in_window(), chip)

    @classmethod
    def of_run(cls, grid: Grid, chip: tuple[ChipPlan, Chip] | None, cfg: PipelineConfig) -> "Extent":
        """The whole ``grid``, or the chip's window of it (checking the inputs still give the planned grid).

        Raises:
            InputError: the inputs changed since the plan, or the chip's window is too large for one job.
        """
        if chip is None:
            return cls.whole(grid)
        plan, one = chip
        if grid != plan.grid:
            raise InputError(
                "The input files no longer give the grid this chip plan was made on (they changed since planning); "
                "plan the area again."
            )
        extent = cls.of_chip(plan, one)
        check_grid_size(extent.grid, cfg, "Plan smaller chips")
        return extent

    @property
    def id_offset(self) -> int:
        """Added to building ids: 0 for a whole area, a block per chip otherwise."""
        return 0 if self.chip is None else self.chip.id_offset

    @property
    def core_grid(self) -> Grid:
        """The grid of the core."""
        return self._subgrid(self.core)

    def crop(self, array: Array) -> Array:
        """The core of an array on ``grid`` (the last two axes are rows and columns)."""
        return array if self.chip is None else cast(Array, array[..., self.core[0], self.core[1]])

    def keeps_xy(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which points lie in the core (west and north edges included, as cells own their top-left edges)."""
        if self.chip is None:
            return np.ones(np.shape(x), dtype=bool)
        left, bottom, right, top = self.core_grid.bounds
        return (x >= left) & (x < right) & (y > bottom) & (y <= top)

    def keeps(self, geometry: BaseGeometry) -> bool:
        """Whether a whole feature belongs to this run: its representative point lies in the core."""
        if self.chip is None:
            return True
        point = geometry.representative_point()
        return bool(self.keeps_xy(np.array([point.x]), np.array([point.y]))[0])

    def tin_cells(self) -> tuple[slice, slice]:
        """The cells the terrain TIN of this run covers: the core plus one cell to the east and south.

        Neighbouring chips' TINs then share the vertices of that extra line of cell centres, and the
        merge gives them the same heights: the terrain closes without a gap or a crack.
        """
        if self.chip is None:
            return _ALL
        rows, cols = self.core
        return slice(rows.start, min(rows.stop + 1, self.grid.height)), slice(
            cols.start, min(cols.stop + 1, self.grid.width)
        )

    def tin_grid(self) -> Grid:
        """The grid of :meth:`tin_cells`."""
        return self._subgrid(self.tin_cells())

    def _subgrid(self, cells: tuple[slice, slice]) -> Grid:
        if self.chip is None:
            return self.grid
        rows, cols = cells
        return Grid(
            self.grid.crs,
            self.grid.transform @ Affine.translation(cols.start, rows.start),
            cols.stop - cols.start,
            rows.stop - rows.start,
        )
