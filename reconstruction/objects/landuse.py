"""Water bodies and land use per block (the areas that roads enclose).

Blocks are the connected parts of the area left once the road cells (ASPRS 11, grown by
``road_margin_m`` to take in sidewalks) are cut out; blocks under ``min_block_m2`` go. Cutting on the
raster rather than with the road polygons keeps junctions closed, so blocks never leak into each
other through a crossing. Each block's land-cover shares come from
the class raster, and its land use follows documented rules, checked in this order:

- ``water`` when water covers at least half the block;
- ``dense urban`` when buildings cover at least 40 % of it;
- ``residential`` when buildings cover at least 10 %;
- ``green space`` when trees and low vegetation together cover at least 60 %;
- ``open / paved`` otherwise (squares, car parks, bare ground).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from shapely.geometry import Polygon

from reconstruction.io.grid import Grid
from reconstruction.objects.patches import patch_polygons

GROUND, LOW_VEGETATION, TREE, BUILDING, WATER, ROAD = 2, 3, 5, 6, 9, 11


@dataclass(frozen=True)
class LandUseConfig:
    """Block and water thresholds.

    Attributes:
        road_margin_m: road polygons grow by this before cutting blocks (sidewalks), metres.
        min_block_m2: smaller blocks are dropped, square metres.
        min_water_m2: smaller water patches are dropped, square metres.
    """

    road_margin_m: float = 2.0
    min_block_m2: float = 200.0
    min_water_m2: float = 20.0


@dataclass(frozen=True)
class Block:
    """A block between roads with its land-cover shares and land use."""

    id: int
    polygon: Polygon
    land_use: str
    shares: dict[str, float]

    @property
    def attributes(self) -> dict[str, float | int | str]:
        """GIS attributes: id, land use, area and the share of each land cover in per cent."""
        return {
            "block_id": self.id,
            "land_use": self.land_use,
            "area_m2": round(float(self.polygon.area), 1),
            **{f"{name}_percent": round(100 * share, 1) for name, share in self.shares.items()},
        }


def water_bodies(labels: npt.NDArray[np.uint8], grid: Grid, cfg: LandUseConfig = LandUseConfig()) -> list[Polygon]:
    """Outlines of connected water (ASPRS 9) patches of at least ``min_water_m2``."""
    return patch_polygons(labels == WATER, grid, cfg.min_water_m2, "water mask")


def land_use_blocks(labels: npt.NDArray[np.uint8], grid: Grid, cfg: LandUseConfig = LandUseConfig()) -> list[Block]:
    """Cut the area into blocks along its roads and give each its land use.

    Args:
        labels: (H, W) ASPRS classes on ``grid`` (0 = unknown, 11 = road).
        grid: the working grid.
        cfg: thresholds.
    """
    cells = max(0, round(cfg.road_margin_m / grid.resolution))
    road = labels == ROAD
    if cells:
        road = ndimage.binary_dilation(road, iterations=cells)
    blocks: list[Block] = []
    for polygon in patch_polygons(~road, grid, cfg.min_block_m2, "block mask"):
        window, inside = grid.cells_of(polygon)
        block = labels[window]
        known = inside & (block > 0)
        if not known.any():
            continue
        n = float(known.sum())
        share = {code: float((block[known] == code).sum()) / n for code in (BUILDING, TREE, LOW_VEGETATION, WATER)}
        shares = {
            "building": share[BUILDING],
            "vegetation": share[TREE] + share[LOW_VEGETATION],
            "water": share[WATER],
        }
        blocks.append(Block(len(blocks) + 1, polygon, _land_use(shares), shares))
    return blocks


def _land_use(shares: dict[str, float]) -> str:
    if shares["water"] >= 0.5:
        return "water"
    if shares["building"] >= 0.4:
        return "dense urban"
    if shares["building"] >= 0.1:
        return "residential"
    if shares["vegetation"] >= 0.6:
        return "green space"
    return "open / paved"
