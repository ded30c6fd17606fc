"""Time ``terrain.build_tin`` on real and generated DTMs at several error bounds; print a table.

Usage: .venv/bin/python -m bench.bench_tin [--errors 0.1 0.25 0.5 1.0] [--sides 1000 2000] [--seed 0]
                                           [--data ../shared/data] [--no-rough]

Cases: the Montpellier DTM (dtm_50cm.tif, nodata -> NaN; skipped when the data folder is absent), the DTM
of a generated city of --sides cells at 0.5 m, and, unless --no-rough, the generated DSM of the largest
side (roofs and walls: a rough surface that needs many triangles). Seconds are the wall time of one
build_tin call, which includes measuring the error at every cell.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import psutil
import rasterio
from pyproj import CRS

from reconstruction.io.grid import Grid
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.terrain import TinConfig, build_tin

ROOT = Path(__file__).resolve().parent.parent


def _montpellier(data: Path) -> tuple[np.ndarray, Grid] | None:
    path = data / "montpellier" / "dtm_50cm.tif"
    if not path.is_file():
        return None
    with rasterio.open(path) as src:
        dtm = src.read(1, masked=True).filled(np.nan).astype(np.float32)
        return dtm, Grid(src.crs, src.transform, src.width, src.height)


def _generated(side: int, seed: int) -> tuple[np.ndarray, np.ndarray, Grid]:
    scene = generate_scene(SceneConfig(size_m=side * 0.5, gsd_m=0.5, seed=seed))
    grid = Grid(CRS.from_user_input(scene.crs), scene.dsm_transform, side, side)
    return scene.dtm, scene.dsm, grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--sides", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
    )
    parser.add_argument("--no-rough", action="store_true", help="skip the generated DSM case")
    args = parser.parse_args()

    cases: list[tuple[str, np.ndarray, Grid]] = []
    real = _montpellier(args.data)
    if real is not None:
        cases.append(("montpellier dtm", *real))
    for side in args.sides:
        dtm, dsm, grid = _generated(side, args.seed)
        cases.append((f"generated dtm {side}", dtm, grid))
        if not args.no_rough and side == max(args.sides):
            cases.append((f"generated dsm {side}", dsm, grid))

    print(f"terrain.build_tin, {psutil.cpu_count()} CPUs")
    header = f"{'case':<22} {'bound m':>7} {'cells':>11} {'vertices':>9} {'triangles':>10} {'tri/1k cells':>12}"
    print(header + f" {'max err m':>9} {'RMSE m':>7} {'seconds':>8}")
    for name, dtm, grid in cases:
        for bound in args.errors:
            start = time.perf_counter()
            _, report = build_tin(dtm, grid, TinConfig(max_error_m=bound))
            seconds = time.perf_counter() - start
            print(
                f"{name:<22} {bound:>7.2f} {report.cells:>11,} {report.vertices:>9,} {report.triangles:>10,} "
                f"{1000 * report.triangles / report.cells:>12.2f} {report.max_error_m:>9.3f} {report.rmse_m:>7.3f} "
                f"{seconds:>8.2f}" + ("  capped" if report.capped else "")
            )


if __name__ == "__main__":
    main()
