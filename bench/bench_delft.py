"""Measure a LiDAR-only run end to end on Delft against the official BGT map: roads, water, buildings.

Usage: .venv/bin/python -m bench.bench_delft

The two AHN3 tiles of ``real/delft_ahn3_bgt`` (adjacent, no CRS record: EPSG:28992) are one area's LiDAR
input, run through :func:`reconstruction.run_pipeline` alone (no orthophoto: the points carry no colour).
The run's published vectors (``vectors/roads.gpkg``, ``water.gpkg``, ``buildings.gpkg``) are scored
against the BGT layers, only where the BGT maps the ground (the union of all its layers, cut to the LiDAR's extent), as
``bench_lidar_classes`` does:

- roads: area recall and precision of the road polygons against the local-road carriageways (``bgt_wegdeel``
  with function ``rijbaan lokale weg``) and against every traffic area (footpaths, parking, pedestrian areas
  too); ``local`` is the share of the road area whose ``grade`` is ``local`` (every BGT road here is one);
- water: area recall and precision of the water polygons against ``bgt_waterdeel``;
- buildings: overall IoU, completeness and correctness of the footprints against ``bgt_pand``
  (:func:`reconstruction.metrics.footprint_scores`).
"""

import os
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import laspy
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from reconstruction import PipelineConfig, PipelineInputs, run_pipeline
from reconstruction.metrics import footprint_scores

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
DELFT = SHARED_DATA / "real" / "delft_ahn3_bgt"
TILES = ("ahn3_cropped_1.laz", "ahn3_cropped_2.laz")
EPSG = 28992
CARRIAGEWAY = "rijbaan lokale weg"


@dataclass(frozen=True)
class AreaScores:
    """Area recall and precision of found polygons against reference polygons, in the mapped area."""

    recall: float
    precision: float
    found_m2: float
    reference_m2: float


@dataclass(frozen=True)
class DelftScores:
    """Everything the bench measures on one run."""

    carriageways: AreaScores
    traffic: AreaScores
    local_share: float
    roads: int
    water: AreaScores
    waters: int
    building_iou: float
    building_completeness: float
    building_correctness: float
    buildings: int
    seconds: float


def run_delft(folder: Path) -> tuple[Path, float]:
    """Run the pipeline on the two tiles alone, as one area; return its output folder and the seconds it took."""
    tiles = tuple(DELFT / name for name in TILES)
    start = time.perf_counter()
    result = run_pipeline(PipelineInputs(lidar=tiles, epsg=EPSG), PipelineConfig(), folder / "run")
    return result.out_dir, time.perf_counter() - start


def read_bgt(name: str, where: str = "") -> list[BaseGeometry]:
    """The geometries of BGT layer ``name`` (OGR's plain SQLite: WKB blobs), filtered by an SQL ``where``.

    Read with sqlite3 rather than GDAL: importing :mod:`reconstruction.io` locks GDAL to the vector drivers users'
    files may use, and SQLite is not one of them.
    """
    with closing(sqlite3.connect(DELFT / f"bgt_{name}.sqlite")) as db:
        table, column = db.execute("SELECT f_table_name, f_geometry_column FROM geometry_columns").fetchone()
        sql = f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL' + (f" AND {where}" if where else "")
        blobs = [row[0] for row in db.execute(sql)]
    return list(shapely.from_wkb(blobs))


def mapped_area(lidar_bounds: tuple[float, float, float, float]) -> BaseGeometry:
    """Where the BGT says what is on the ground (the union of all its layers) inside the LiDAR's extent."""
    layers = [path.name[4:-7] for path in DELFT.glob("bgt_*.sqlite")]
    mapped = shapely.union_all([g for name in layers for g in read_bgt(name)])
    return shapely.intersection(mapped, shapely.box(*lidar_bounds))


def area_scores(found: list[BaseGeometry], reference: list[BaseGeometry], clip: BaseGeometry) -> AreaScores:
    """Recall and precision by area of ``found`` against ``reference``, both cut to ``clip``."""
    f = shapely.intersection(shapely.union_all([shapely.make_valid(g) for g in found]), clip)
    r = shapely.intersection(shapely.union_all(reference), clip)
    hit = shapely.intersection(f, r).area
    return AreaScores(hit / r.area if r.area else 0.0, hit / f.area if f.area else 0.0, f.area, r.area)


def read_layer(out_dir: Path, name: str) -> tuple[list[BaseGeometry], dict[str, list[object]]]:
    """The geometries and attribute columns of the run's ``vectors/<name>.gpkg`` (empty when not written)."""
    path = out_dir / "vectors" / f"{name}.gpkg"
    if not path.is_file():
        return [], {}
    _meta, _fids, geometry, fields = pyogrio.raw.read(path)
    columns = {n: list(v) for n, v in zip(_meta["fields"], fields, strict=True)}
    return list(shapely.from_wkb(geometry)), columns


def score(out_dir: Path, seconds: float) -> DelftScores:
    """Score a run's roads, water and buildings against the BGT (see the module docstring)."""
    bounds = [laspy.open(DELFT / name).header for name in TILES]
    lidar_bounds = (
        min(h.mins[0] for h in bounds),
        min(h.mins[1] for h in bounds),
        max(h.maxs[0] for h in bounds),
        max(h.maxs[1] for h in bounds),
    )
    clip = mapped_area(lidar_bounds)
    roads, attributes = read_layer(out_dir, "roads")
    grades = attributes.get("grade", [])
    local = sum(g.area for g, grade in zip(roads, grades, strict=True) if grade == "local")
    water, _ = read_layer(out_dir, "water")
    buildings, _ = read_layer(out_dir, "buildings")
    b = footprint_scores(buildings, read_bgt("pand"), clip=clip)
    return DelftScores(
        carriageways=area_scores(roads, read_bgt("wegdeel", f"function = '{CARRIAGEWAY}'"), clip),
        traffic=area_scores(roads, read_bgt("wegdeel"), clip),
        local_share=local / max(1e-9, sum(g.area for g in roads)),
        roads=len(roads),
        water=area_scores(water, read_bgt("waterdeel"), clip),
        waters=len(water),
        building_iou=b.overall_iou,
        building_completeness=b.completeness,
        building_correctness=b.correctness,
        buildings=len(buildings),
        seconds=seconds,
    )


def measure() -> DelftScores:
    """Run the pipeline on Delft in a temporary folder and score it."""
    with tempfile.TemporaryDirectory(prefix="rs3d-delft-") as tmp:
        out_dir, seconds = run_delft(Path(tmp))
        return score(out_dir, seconds)


def main() -> None:
    """Run, score and print the table."""
    if not (DELFT / TILES[0]).is_file():
        raise SystemExit(f"{DELFT} is absent: set RS3D_SHARED_DATA to the shared data folder")
    s = measure()
    print(f"Delft AHN3, LiDAR alone (2 tiles, one area), run in {s.seconds:.1f} s; scored inside the BGT-mapped area\n")
    print("| feature | against BGT | found | reference m² | found m² | recall | precision |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rows = (
        ("roads", "carriageways (rijbaan lokale weg)", s.roads, s.carriageways),
        ("roads", "all traffic areas (wegdeel)", s.roads, s.traffic),
        ("water", "waterdeel", s.waters, s.water),
    )
    for feature, against, count, a in rows:
        print(f"| {feature} | {against} | {count} | {a.reference_m2:.0f} | {a.found_m2:.0f} | ", end="")
        print(f"{a.recall:.3f} | {a.precision:.3f} |")
    print(f"\nRoad area graded local: {s.local_share:.0%} (every BGT road here is a local road)")
    print("\n| buildings | found | IoU | completeness | correctness |")
    print("|---|---:|---:|---:|---:|")
    print(f"| published footprints vs bgt_pand | {s.buildings} | {s.building_iou:.3f} | ", end="")
    print(f"{s.building_completeness:.3f} | {s.building_correctness:.3f} |")


if __name__ == "__main__":
    main()
