"""Measure building extraction from AHN LiDAR against official footprints (BGT and BAG); print a table.

Usage: .venv/bin/python -m bench.bench_footprints [--resolution 0.5] [--mask highest|majority] [--match-iou 0.5]

For each AHN tile under $RS3D_SHARED_DATA/amsterdam (default ../shared/data from the repository root; the
LAZ files carry no CRS record, they are EPSG:28992 RD New): the points are gridded at --resolution metres
(DSM: highest return per cell; DTM: lowest class-2 return per cell, gaps filled by ``dtm_from_ground_points``);
the building mask is the cells whose highest return is class 6 (``--mask highest``, default) or where class 6
makes up more than half of the returns (``--mask majority``); ``extract_buildings`` (default
``BuildingConfig``) turns it into footprints. The footprints are scored with ``footprint_scores`` against the
BGT and the BAG buildings, clipped to the tile extent (references more than half inside it).

Columns: n_ref / n_pred buildings scored, overall IoU, completeness (reference area found), correctness
(predicted area that is building), instance recall / precision and median IoU of the one-to-one matches
(IoU >= --match-iou). ``dH m`` is the height sanity check: for each reference footprint, the 90th percentile
of the class-6 point heights above the DTM inside it against the ``height_m`` of the extracted building that
overlaps it most; the median absolute difference in metres (``n_dH`` references with class-6 points and an
overlapping building).

``--map BAG`` (or BGT) hands that map's footprints to ``extract_buildings`` ("use the map you already have"):
each footprint the LiDAR building mask covers becomes one building, so touching terraced houses stay apart;
score it against the *other* map to keep the reference independent of the input.
"""

import argparse
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import laspy
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from shapely.geometry import Polygon, box

from reconstruction.config import BuildingConfig
from reconstruction.io.grid import Grid
from reconstruction.metrics import footprint_scores
from reconstruction.objects import Building, extract_buildings
from reconstruction.pointcloud import rasterize_points
from reconstruction.pointcloud.rasterize import cell_index
from reconstruction.terrain import dtm_from_ground_points

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
TILES = ["ahn_2386_9702.laz", "ahn_2397_9705.laz"]
REFERENCES = {"BGT": "bgt_buildings_demo.csv", "BAG": "bag_buildings_demo.csv"}
RD_NEW = CRS.from_epsg(28992)  # the AHN files have no CRS record
GROUND, BUILDING = 2, 6


@dataclass(frozen=True)
class TileResult:
    """One tile's extraction: the buildings, the tile extent, the grid, the DTM and the points."""

    buildings: list[Building]
    extent: Polygon
    grid: Grid
    dtm: npt.NDArray[np.float32]
    xyz: npt.NDArray[np.float64]
    classification: npt.NDArray[np.uint8]


def extract_tile(
    laz: Path,
    resolution: float = 0.5,
    mask_rule: Literal["highest", "majority"] = "highest",
    footprints: list[Polygon] | None = None,
    crs: CRS = RD_NEW,
) -> TileResult:
    """LAZ (in ``crs``; ASPRS classes 2 ground, 6 building) to buildings, as described in the module docstring."""
    las = laspy.read(laz)
    xyz = np.column_stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)]).astype(np.float64)
    cls = np.asarray(las.classification, dtype=np.uint8)
    mins, maxs = las.header.mins, las.header.maxs
    grid = Grid.covering(crs, (mins[0], mins[1], maxs[0], maxs[1]), resolution)
    dsm = rasterize_points(xyz, grid, keep="highest")
    ground_z = rasterize_points(xyz[cls == GROUND], grid, keep="lowest")
    dtm, _ = dtm_from_ground_points(ground_z, dsm)
    mask = building_mask(xyz, cls, grid, mask_rule)
    ndsm = np.where(np.isfinite(dsm), np.maximum(dsm - dtm, 0), np.nan).astype(np.float32)
    extent = box(mins[0], mins[1], maxs[0], maxs[1])
    if footprints is not None:
        footprints = [f for f in footprints if f.intersects(extent)]
    buildings = extract_buildings(mask, ndsm, dtm, grid, BuildingConfig(), footprints)
    return TileResult(buildings, extent, grid, dtm, xyz, cls)


def building_mask(
    xyz: npt.NDArray[np.float64], cls: npt.NDArray[np.uint8], grid: Grid, rule: Literal["highest", "majority"]
) -> npt.NDArray[np.bool_]:
    """Cells whose highest return is class 6 ("highest"), or where most returns are class 6 ("majority")."""
    idx = cell_index(grid, xyz[:, 0], xyz[:, 1])
    inside = idx >= 0
    idx, z, is_building = idx[inside], xyz[inside, 2], cls[inside] == BUILDING
    size = grid.width * grid.height
    if rule == "highest":
        order = np.argsort(z, kind="stable")
        top = np.zeros(size, bool)
        top[idx[order]] = is_building[order]  # the last write per cell is its highest return
        return top.reshape(grid.shape)
    counts = np.bincount(idx, minlength=size)
    building = np.bincount(idx, weights=is_building, minlength=size)
    return (building > counts / 2).reshape(grid.shape)


def read_footprints(path: Path) -> list[Polygon]:
    """Reference footprints from a demo CSV (``polygon`` column: a JSON ring of [x, y] in RD New)."""
    with path.open(newline="") as f:
        return [Polygon(json.loads(row["polygon"])) for row in csv.DictReader(f)]


def height_check(tile: TileResult, reference: list[Polygon]) -> tuple[float, int]:
    """Median |height_m - P90 of class-6 heights above the DTM inside the reference footprint|, and its count.

    Each reference footprint more than half inside the tile is paired with the extracted building that
    overlaps it most (several references may share one building: terraced houses merge into one block).
    """
    pts = tile.xyz[tile.classification == BUILDING]
    idx = cell_index(tile.grid, pts[:, 0], pts[:, 1])
    pts, above = pts[idx >= 0], pts[idx >= 0, 2] - tile.dtm.ravel()[idx[idx >= 0]]
    footprints = [b.footprint for b in tile.buildings]
    diffs = []
    for ref in reference:
        inside_tile = shapely.intersection(ref, tile.extent)
        if not footprints or inside_tile.area <= 0.5 * ref.area:
            continue
        overlap = shapely.area(shapely.intersection(footprints, inside_tile))
        inside = shapely.contains_xy(inside_tile, pts[:, 0], pts[:, 1])
        if overlap.max() > 0 and inside.any():
            ours = float(tile.buildings[int(np.argmax(overlap))].attributes["height_m"])
            diffs.append(abs(ours - float(np.percentile(above[inside], 90))))
    return (float(np.median(diffs)) if diffs else float("nan")), len(diffs)


def main() -> None:
    """Parse the options, run every tile against every reference and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=0.5, help="grid cell size, metres")
    parser.add_argument("--mask", choices=["highest", "majority"], default="highest", help="building-cell rule")
    parser.add_argument("--match-iou", type=float, default=0.5, help="IoU for a one-to-one building match")
    parser.add_argument(
        "--map", choices=["none", *REFERENCES], default="none", help="footprints given to extract_buildings"
    )
    args = parser.parse_args()
    folder = SHARED_DATA / "amsterdam"
    if not folder.is_dir():
        raise SystemExit(f"{folder} is absent: set RS3D_SHARED_DATA")
    refs = {name: read_footprints(folder / file) for name, file in REFERENCES.items()}
    head = f"{'tile':<18}{'ref':<5}{'n_ref':>6}{'n_pred':>7}{'IoU':>7}{'compl':>7}{'corr':>7}"
    print(f"{head}{'i_rec':>7}{'i_prec':>7}{'medIoU':>7}{'dH m':>7}{'n_dH':>6}")
    for name in TILES:
        tile = extract_tile(folder / name, args.resolution, args.mask, None if args.map == "none" else refs[args.map])
        predicted = [b.footprint for b in tile.buildings]
        for ref_name, reference in refs.items():
            s = footprint_scores(predicted, reference, clip=tile.extent, match_iou=args.match_iou)
            dh, n_dh = height_check(tile, reference)
            row = f"{name[:-4]:<18}{ref_name:<5}{s.n_reference:>6}{s.n_predicted:>7}{s.overall_iou:>7.3f}"
            row += f"{s.completeness:>7.3f}{s.correctness:>7.3f}{s.instance_recall:>7.3f}{s.instance_precision:>7.3f}"
            print(f"{row}{s.median_iou:>7.3f}{dh:>7.2f}{n_dh:>6}")


if __name__ == "__main__":
    main()
