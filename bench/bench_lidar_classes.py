"""Measure buildings from unclassified LiDAR returns (roofs by shape) on real surveys; print two tables.

Usage: .venv/bin/python -m bench.bench_lidar_classes

Every file's building and vegetation classes (ASPRS 3-6; Delft's AHN3 has only 6) are reset to 1
(unclassified), as in a survey sorted only into ground and non-ground, and the buildings are found again by
:func:`reconstruction.pointcloud.lidar_shares` (roofs by the shape and the echoes of the returns, then
:func:`reconstruction.objects.classify_with_lidar`). Terrain comes from the class-2 returns (lowest per cell,
gaps filled by ``dtm_from_ground_points``), as in the pipeline.

Table 1, against the file's own classes (Montpellier's six 50 m tiles at 0.5 m, the IGN LiDAR HD extract
at 2 m: it is decimated to 0.3 points/m²; Delft at 0.5 m): ``points`` scores the returns more than 2 m
above ground (reference: class 6); ``cells`` scores the building cells against those the same code makes
from the original classes (cells with a known nDSM); ``s`` is the seconds of the classification. Rows:
``shape + echoes`` (the default), ``shape only`` (echoes ignored), ``shape + echoes + NIR`` (Montpellier:
the points carry near-infrared).

Table 2, Delft's buildings against the official BGT map (``bgt_pand``, EPSG:28992, clipped to the map's
extent): footprints from ``extract_buildings`` on the building cells of the original classes and of the
shape, scored with ``footprint_scores`` (overall IoU, completeness and correctness by area) inside the area
the BGT maps (the union of all its layers: 34,000 of the LiDAR's 60,000 m²).
"""

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from reconstruction.config import BuildingConfig, RulesConfig
from reconstruction.io.grid import Grid
from reconstruction.metrics import footprint_scores
from reconstruction.objects import classify_with_lidar, extract_buildings
from reconstruction.objects.rules import BUILDING
from reconstruction.pointcloud import LidarShares, lidar_shares, rasterize_points, roof_returns
from reconstruction.pointcloud.rasterize import cell_index
from reconstruction.terrain import dtm_from_ground_points

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
GROUND = 2
RESET = (3, 4, 5, 6)


@dataclass(frozen=True)
class Survey:
    """A real LiDAR survey to score: files under the shared data folder, CRS, grid cell size."""

    name: str
    files: tuple[str, ...]
    epsg: int
    resolution: float


SURVEYS = (
    Survey(
        "Montpellier, 6 tiles",
        (
            "montpellier/lidar_77055_627760.laz",
            *(f"montpellier/lidar_neighbors/test_data_{t}_LA93_IGN69.laz" for t in ("77050_627755", "77050_627760")),
            *(f"montpellier/lidar_neighbors/test_data_{t}_LA93_IGN69.laz" for t in ("77055_627755", "77060_627755")),
            "montpellier/lidar_neighbors/test_data_77060_627760_LA93_IGN69.laz",
        ),
        2154,
        0.5,
    ),
    Survey("IGN LiDAR HD extract", ("ign_lidarhd/test_semis_2021_0382_6565_LA93_IGN69_cropped.laz",), 2154, 2.0),
    Survey(
        "Delft AHN3", ("real/delft_ahn3_bgt/ahn3_cropped_1.laz", "real/delft_ahn3_bgt/ahn3_cropped_2.laz"), 28992, 0.5
    ),
)


@dataclass
class Cloud:
    """A survey's returns on its grid, with the terrain and the heights above it."""

    xyz: npt.NDArray[np.float64]
    classes: npt.NDArray[np.uint8]
    multiple_echo: npt.NDArray[np.bool_]
    ndvi: npt.NDArray[np.float32] | None
    grid: Grid
    dtm: npt.NDArray[np.float32]
    ndsm: npt.NDArray[np.float32]


def load(survey: Survey) -> Cloud:
    """Read the survey's files, grid them and build the terrain from their ground returns."""
    parts = [laspy.read(SHARED_DATA / f) for f in survey.files]
    xyz = np.concatenate([np.column_stack([las.x, las.y, las.z]) for las in parts]).astype(np.float64)
    classes = np.concatenate([np.asarray(las.classification, dtype=np.uint8) for las in parts])
    echo = np.concatenate([np.asarray(las.number_of_returns) > 1 for las in parts])
    ndvi = None
    if all("nir" in las.point_format.dimension_names for las in parts):
        nir = np.concatenate([np.asarray(las.nir, dtype=np.float32) for las in parts])
        red = np.concatenate([np.asarray(las.red, dtype=np.float32) for las in parts])
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = np.nan_to_num((nir - red) / (nir + red)).astype(np.float32) if nir.any() else None
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    grid = Grid.covering(CRS.from_epsg(survey.epsg), (lo[0], lo[1], hi[0], hi[1]), survey.resolution)
    dsm = rasterize_points(xyz, grid, keep="highest")
    dtm, _ = dtm_from_ground_points(rasterize_points(xyz[classes == GROUND], grid, keep="lowest"), dsm)
    ndsm = np.where(np.isfinite(dsm), np.maximum(dsm - dtm, 0), np.nan).astype(np.float32)
    return Cloud(xyz, classes, echo, ndvi, grid, dtm, ndsm)


def building_cells(cloud: Cloud, shares: LidarShares) -> npt.NDArray[np.bool_]:
    """The building cells :func:`classify_with_lidar` makes of ``shares`` (no image: colour says nothing)."""
    image = np.zeros((3, *cloud.grid.shape), dtype=np.float32)
    labels = classify_with_lidar(cloud.ndsm, image, cloud.grid.resolution, RulesConfig(), shares)
    return np.asarray(labels == BUILDING)


def classify(cloud: Cloud, classes: npt.NDArray[np.uint8], echo: bool, nir: bool) -> tuple[LidarShares, float]:
    """The shares of ``classes`` (original or reset), timed."""
    start = time.perf_counter()
    shares = lidar_shares(
        cloud.xyz,
        classes,
        cloud.dtm,
        cloud.grid,
        RulesConfig(),
        set(np.unique(classes).tolist()),
        cloud.multiple_echo if echo else None,
        cloud.ndvi if nir else None,
    )
    return shares, time.perf_counter() - start


def point_scores(cloud: Cloud, reset: npt.NDArray[np.uint8], nir: bool, echo: bool) -> tuple[float, float, float]:
    """Precision, recall, IoU of the roof returns among those more than 2 m above ground, against class 6."""
    idx = cell_index(cloud.grid, cloud.xyz[:, 0], cloud.xyz[:, 1])
    height = np.where(idx >= 0, cloud.xyz[:, 2] - cloud.dtm.reshape(-1)[idx], -np.inf)
    unsorted = (reset == 1) & (height > RulesConfig().above_ground_m / 2)
    roof = np.zeros(len(reset), dtype=bool)
    roof[unsorted] = roof_returns(
        cloud.xyz[unsorted],
        RulesConfig(),
        cloud.multiple_echo[unsorted] if echo else None,
        cloud.ndvi[unsorted] if nir and cloud.ndvi is not None else None,
    )
    scored = unsorted & (height > RulesConfig().above_ground_m)
    return _scores(cloud.classes[scored] == 6, roof[scored])


def _scores(truth: npt.NDArray[np.bool_], found: npt.NDArray[np.bool_]) -> tuple[float, float, float]:
    hit = float(np.count_nonzero(truth & found))
    return (
        hit / max(1, np.count_nonzero(found)),
        hit / max(1, np.count_nonzero(truth)),
        hit / max(1, np.count_nonzero(truth | found)),
    )


def delft_footprints(cloud: Cloud, masks: dict[str, npt.NDArray[np.bool_]]) -> None:
    """Print table 2: footprints of each building mask against ``bgt_pand``."""
    folder = SHARED_DATA / "real" / "delft_ahn3_bgt"
    reference = read_bgt(folder / "bgt_pand.sqlite")
    # BGT's parts tile the ground: their union is where the map says what is there (34,000 of the 60,000 m² of
    # the LiDAR's extent), and only there can a found building be scored.
    mapped = shapely.union_all([g for f in folder.glob("bgt_*.sqlite") for g in read_bgt(f)])
    lo, hi = cloud.xyz.min(axis=0), cloud.xyz.max(axis=0)
    clip = shapely.intersection(mapped, shapely.box(lo[0], lo[1], hi[0], hi[1]))
    print("\n| building cells from | n_ref | n_pred | IoU | completeness | correctness |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, mask in masks.items():
        built = extract_buildings(mask, cloud.ndsm, cloud.dtm, cloud.grid, BuildingConfig())
        s = footprint_scores([b.footprint for b in built], reference, clip=clip)
        print(f"| {name} | {s.n_reference} | {s.n_predicted} | {s.overall_iou:.3f} | {s.completeness:.3f} | ", end="")
        print(f"{s.correctness:.3f} |")


def read_bgt(path: Path) -> list[BaseGeometry]:
    """The geometries of a BGT SQLite layer (OGR's plain SQLite: WKB blobs, named in ``geometry_columns``).

    Read with sqlite3 rather than GDAL: importing :mod:`reconstruction.io` locks GDAL to the vector drivers users'
    files may use, and SQLite is not one of them.
    """
    with closing(sqlite3.connect(path)) as db:
        table, column = db.execute("SELECT f_table_name, f_geometry_column FROM geometry_columns").fetchone()
        blobs = [row[0] for row in db.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')]
    return list(shapely.from_wkb(blobs))


def main() -> None:
    """Run every survey and print the tables."""
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA} is absent: set RS3D_SHARED_DATA")
    print("| survey | classes from | points P | R | IoU | cells P | R | IoU | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for survey in SURVEYS:
        cloud = load(survey)
        reset = np.where(np.isin(cloud.classes, RESET), 1, cloud.classes).astype(np.uint8)
        reference = building_cells(cloud, classify(cloud, cloud.classes, echo=False, nir=False)[0])
        known = np.isfinite(cloud.ndsm)
        variants = {"shape + echoes": (True, False), "shape only": (False, False)}
        if cloud.ndvi is not None:
            variants["shape + echoes + NIR"] = (True, True)
        masks = {"file's class 6": reference}
        for name, (echo, nir) in variants.items():
            shares, seconds = classify(cloud, reset, echo, nir)
            mask = building_cells(cloud, shares)
            masks[name] = mask
            p = point_scores(cloud, reset, nir, echo)
            c = _scores(reference[known], mask[known])
            print(f"| {survey.name} ({survey.resolution} m) | {name} | {p[0]:.3f} | {p[1]:.3f} | {p[2]:.3f} | ", end="")
            print(f"{c[0]:.3f} | {c[1]:.3f} | {c[2]:.3f} | {seconds:.1f} |")
        if survey.name.startswith("Delft"):
            delft = (cloud, masks)
    delft_footprints(*delft)


if __name__ == "__main__":
    main()
