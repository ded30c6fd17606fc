"""Measure building heights against classified LiDAR on real data (Montpellier, IGN LiDAR HD, Amsterdam AHN).

Usage: .venv/bin/python -m bench.bench_building_heights [--keep DIR]

Every row scores each extracted building's ``height_m`` against the 90th percentile of the LiDAR building
points (class 6) inside its footprint, as heights above a linear interpolation of the LiDAR ground points
(class 2): ``reconstruction.metrics.building_height_scores``. The reference never uses our DTM.

Rows:
- ``montpellier pipeline <source>``: the whole pipeline (``python -m reconstruction run``, the product's path:
  rule-based classes from the nDSM and the colours, buildings by ``extract_buildings``) on the 50 m block with
  the orthophoto and LiDAR, IGN's DSM, or the orthophoto alone (heights predicted by the shipped network). The
  reference is the block's LiDAR with its five neighbours (ground around the edges).
- ``<dataset> LiDAR classes``: the building mask taken from the LiDAR's own class 6 (highest return per cell)
  and ``extract_buildings`` on the LiDAR DSM/DTM, as in bench_footprints: Montpellier's six tiles, the IGN
  LiDAR HD extract (0.3 points/m², gridded at 1 m and 2 m) and the two Amsterdam AHN tiles.

Columns: buildings extracted, buildings scored (>= 5 roof points), bias (ours - LiDAR, mean), MAE, median
|error|, RMSE and 90th percentile |error| in metres, and seconds.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas
import laspy
import numpy as np
import numpy.typing as npt
from pyproj import CRS

from bench.bench_footprints import extract_tile
from reconstruction.metrics import HeightScores, building_height_scores

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
MONTPELLIER = "montpellier"
IGN = "ign_lidarhd/test_semis_2021_0382_6565_LA93_IGN69_cropped.laz"
AMSTERDAM = ["amsterdam/ahn_2386_9702.laz", "amsterdam/ahn_2397_9705.laz"]
LAMBERT_93, RD_NEW = CRS.from_epsg(2154), CRS.from_epsg(28992)


def montpellier_tiles(data: Path) -> list[Path]:
    """The block's LAZ and its five neighbours."""
    folder = data / MONTPELLIER
    return [folder / "lidar_77055_627760.laz", *sorted((folder / "lidar_neighbors").glob("*.laz"))]


def read_points(files: list[Path]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8]]:
    """All points of ``files`` (one CRS) as (N, 3) coordinates and (N,) classes."""
    xyz, cls = [], []
    for path in files:
        las = laspy.read(path)
        xyz.append(np.column_stack([np.asarray(las.x), np.asarray(las.y), np.asarray(las.z)]))
        cls.append(np.asarray(las.classification, dtype=np.uint8))
    return np.concatenate(xyz), np.concatenate(cls)


def run_pipeline(data: Path, source: str, out: Path) -> Path:
    """Reconstruct the Montpellier block with the CLI from the orthophoto plus ``source``; the buildings file."""
    folder = data / MONTPELLIER
    command = [sys.executable, "-m", "reconstruction", "run", "--ortho", str(folder / "ortho_rgb_20cm.tif")]
    if source == "lidar":
        command += ["--lidar", str(folder / "lidar_77055_627760.laz")]
    elif source == "dsm":
        command += ["--dsm", str(folder / "dsm_50cm.tif")]
    command += ["--out", str(out), "--overwrite", "--progress", "none"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the pipeline failed on {source}: {done.stderr.strip()}")
    return out / "vectors" / "buildings.gpkg"


def pipeline_scores(data: Path, source: str, out: Path) -> HeightScores:
    """Score the pipeline's buildings for one height source against the six Montpellier LiDAR tiles."""
    frame = geopandas.read_file(run_pipeline(data, source, out)).to_crs(LAMBERT_93)
    xyz, cls = read_points(montpellier_tiles(data))
    return building_height_scores(list(frame.geometry), frame["height_m"].to_numpy(), xyz, cls)


def lidar_class_scores(files: list[Path], crs: CRS, resolution: float) -> HeightScores:
    """Buildings from each file's own class-6 mask, scored against that file's points; pooled."""
    ours, reference, counts, n = [], [], [], 0
    for path in files:
        tile = extract_tile(path, resolution, crs=crs)
        heights = [b.attributes["height_m"] for b in tile.buildings]
        scores = building_height_scores([b.footprint for b in tile.buildings], heights, tile.xyz, tile.classification)
        ours.append(scores.ours)
        reference.append(scores.reference)
        counts.append(scores.n_points)
        n += scores.n_buildings
    return HeightScores(n, np.concatenate(ours), np.concatenate(reference), np.concatenate(counts))


def main() -> None:
    """Run every row and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the pipeline outputs here instead of a temporary folder")
    args = parser.parse_args()
    if not (SHARED_DATA / MONTPELLIER).is_dir():
        raise SystemExit(f"{SHARED_DATA} lacks montpellier/: set RS3D_SHARED_DATA")
    print(f"{'row':<40}{'n':>5}{'scored':>7}{'bias':>7}{'MAE':>7}{'median':>7}{'RMSE':>7}{'p90':>7}{'s':>6}")
    montpellier, ign = montpellier_tiles(SHARED_DATA), [SHARED_DATA / IGN]
    amsterdam = [SHARED_DATA / f for f in AMSTERDAM]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        rows: list[tuple[str, Callable[..., HeightScores], tuple]] = [
            (f"montpellier pipeline {source}", pipeline_scores, (SHARED_DATA, source, out / source))
            for source in ("lidar", "dsm", "orthophoto only")
        ]
        rows.append(("montpellier 6 tiles LiDAR classes 0.5 m", lidar_class_scores, (montpellier, LAMBERT_93, 0.5)))
        rows += [(f"ign_lidarhd LiDAR classes {r:g} m", lidar_class_scores, (ign, LAMBERT_93, r)) for r in (1.0, 2.0)]
        rows.append(("amsterdam 2 tiles LiDAR classes 0.5 m", lidar_class_scores, (amsterdam, RD_NEW, 0.5)))
        for name, measure, arguments in rows:
            start = time.perf_counter()
            scores = measure(*arguments)
            s = scores.summary()
            print(
                f"{name:<40}{scores.n_buildings:>5}{scores.n_scored:>7}{s['bias_m']:>7.2f}{s['mae_m']:>7.2f}"
                f"{s['median_abs_m']:>7.2f}{s['rmse_m']:>7.2f}{s['p90_abs_m']:>7.2f}{time.perf_counter() - start:>6.0f}"
            )


if __name__ == "__main__":
    main()
