"""Cut an area's working grid into chips: square cores that tile it, each read with a margin around it.

A chip's run sees its core plus ``margin`` cells on every side (the window), so that a stage that looks
at neighbours (the ground filter's opening windows, building outlines, tree crowns, point filtering)
sees at the core's edge what the whole-area run would have seen. Outputs keep only the core: cores
tile the grid without overlap, so every cell, point and feature belongs to exactly one chip.

The plan is plain JSON: the inputs, the full grid and the chips' cell windows. Every chip run
recomputes the full grid from the inputs and refuses to run if it differs (the files changed since
planning), so chips planned on one machine line up cell for cell on another.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affine import Affine
from pyproj import CRS

from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.errors import ConfigError
from reconstruction.io import Grid
from reconstruction.io.area import inspect_area, working_grid

CellWindow = tuple[int, int, int, int]  # (row0, row1, col0, col1) in cells of the full grid, half-open

#: Building ids of chip k start at (k + 1) * ID_BLOCK, unique over the area without coordination.
ID_BLOCK = 1_000_000


@dataclass(frozen=True)
class Chip:
    """One chip: the cells it owns (core) and the cells it reads (window = core + margin, clipped)."""

    index: int
    core: CellWindow
    window: CellWindow

    @property
    def id_offset(self) -> int:
        """Added to the chip's building ids so that ids stay unique over the whole area."""
        return (self.index + 1) * ID_BLOCK

    def core_in_window(self) -> tuple[slice, slice]:
        """Row and column slices of the core inside an array of the window."""
        r0, r1, c0, c1 = self.core
        return slice(r0 - self.window[0], r1 - self.window[0]), slice(c0 - self.window[2], c1 - self.window[2])


@dataclass(frozen=True)
class ChipPlan:
    """The chips of one area, with the inputs and the full working grid they were planned on."""

    inputs: PipelineInputs
    grid: Grid
    chip_m: float
    margin_m: float
    chips: tuple[Chip, ...]

    def subgrid(self, cells: CellWindow) -> Grid:
        """The grid of a cell window of the full grid (same lattice, same CRS)."""
        r0, r1, c0, c1 = cells
        return Grid(self.grid.crs, self.grid.transform @ Affine.translation(c0, r0), c1 - c0, r1 - r0)

    def to_dict(self, base: Path) -> dict[str, Any]:
        """Plain JSON: input paths relative to ``base``, the grid as CRS WKT + transform + size."""
        i = self.inputs
        return {
            "version": 1,
            "inputs": i.to_dict(base),
            "grid": {
                "crs_wkt": self.grid.crs.to_wkt(),
                "transform": list(self.grid.transform)[:6],
                "width": self.grid.width,
                "height": self.grid.height,
            },
            "chip_m": self.chip_m,
            "margin_m": self.margin_m,
            "chips": [{"index": c.index, "core": list(c.core), "window": list(c.window)} for c in self.chips],
        }

    def save(self, path: Path) -> Path:
        """Write the plan as JSON to ``path``.

        Input paths are stored relative to the plan's folder, so that machines which mount a shared folder
        holding both at different places read the same files.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(path.parent), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> "ChipPlan":
        """Read a plan written by :meth:`save`.

        Raises:
            ConfigError: the file is missing or is not a chip plan.
        """
        try:
            data = json.loads(Path(path).read_text())
            i, g, base = data["inputs"], data["grid"], Path(path).parent
            inputs = PipelineInputs.from_dict(i, base)
            grid = Grid(CRS.from_wkt(g["crs_wkt"]), Affine(*g["transform"]), int(g["width"]), int(g["height"]))
            chips = tuple(Chip(int(c["index"]), tuple(c["core"]), tuple(c["window"])) for c in data["chips"])
            return cls(inputs, grid, float(data["chip_m"]), float(data["margin_m"]), chips)  # type: ignore[arg-type]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{path} is not a chip plan written by `python -m reconstruction plan` ({err}).") from err

    def chip(self, index: int) -> Chip:
        """The chip numbered ``index``.

        Raises:
            ConfigError: there is no such chip.
        """
        if not 0 <= index < len(self.chips):
            raise ConfigError(f"Chip {index} does not exist: the plan has chips 0 to {len(self.chips) - 1}.")
        return self.chips[index]


def plan_chips(inputs: PipelineInputs, cfg: PipelineConfig, chip_m: float, margin_m: float) -> ChipPlan:
    """Plan the chips of an area: read the inputs' headers, derive the working grid, cut it.

    Args:
        inputs: the area's files (an orthophoto, with a DSM, LiDAR or neither; footprints allowed).
        cfg: the run's configuration (its resolution decides the grid).
        chip_m: side of a chip's core in metres.
        margin_m: extra ground read around each core, metres (at least the ground filter's window).

    Raises:
        ConfigError: sizes out of range, or inputs that cannot be chipped (stereo pair, second image,
            DSM registration: those align whole images and run as one job).
        InputError: an input is invalid, as in a whole-area run.
    """
    if inputs.stereo or inputs.second_image is not None or inputs.register_dsm:
        raise ConfigError(
            "Areas with a stereo pair, a second image or DSM registration are aligned as whole images and run as "
            "one job; chips need an orthophoto with a DSM, LiDAR or neither."
        )
    if not chip_m > 0 or margin_m < 0:
        raise ConfigError(f"The chip size must be positive and the margin not negative (got {chip_m}, {margin_m}).")
    ortho, dsm, lidar = inspect_area(inputs, cfg)
    grid = working_grid(ortho, dsm, lidar, cfg, check_size=False)
    return ChipPlan(inputs, grid, chip_m, margin_m, cut_grid(grid, chip_m, margin_m))


def cut_grid(grid: Grid, chip_m: float, margin_m: float) -> tuple[Chip, ...]:
    """Cut ``grid`` into cores of about ``chip_m`` (equal sizes, row by row from the north-west)."""
    side = max(1, round(chip_m / grid.resolution))
    if side < 16:
        raise ConfigError(f"Chips of {chip_m} m are {side} cells; give at least 16 cells ({16 * grid.resolution} m).")
    margin = max(1, math.ceil(margin_m / grid.resolution))  # the TIN's seam line is one cell past the core
    rows = _cuts(grid.height, side)
    cols = _cuts(grid.width, side)
    chips: list[Chip] = []
    for r0, r1 in rows:
        for c0, c1 in cols:
            window = (
                max(0, r0 - margin),
                min(grid.height, r1 + margin),
                max(0, c0 - margin),
                min(grid.width, c1 + margin),
            )
            chips.append(Chip(len(chips), (r0, r1, c0, c1), window))
    return tuple(chips)


def _cuts(length: int, side: int) -> list[tuple[int, int]]:
    """Split ``length`` cells into ``ceil(length / side)`` nearly equal runs (no sliver at the end)."""
    count = max(1, math.ceil(length / side))
    edges = [round(k * length / count) for k in range(count + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))
