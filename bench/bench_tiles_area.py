"""Wall time and peak memory of ``check`` and ``run`` on a 4 km² area given as four orthophoto and LiDAR tiles.

Usage: .venv/bin/python -m bench.bench_tiles_area [--side 2000] [--density 2] [--chip 1000] [--no-whole]

A generated city of ``--side`` metres (orthophoto at 0.5 m, classified coloured LiDAR at ``--density``
returns per m²) is cut into 2 x 2 orthophoto tiles and 2 x 2 LiDAR tiles
(:mod:`reconstruction.synthetic.tiles`), as a programme ships them. The CLI's ``check`` and ``run`` are timed
on the tiles and, unless ``--no-whole``, on the same area as one orthophoto and one LiDAR file. The run is
chipped (``--chip-size``) only when the grid exceeds what one job processes. Memory is the peak summed PSS
of the CLI and its descendants (:func:`bench.bench_cli.peak_rss_mb`).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.bench_cli import peak_rss_mb
from reconstruction.config import Limits
from reconstruction.synthetic.tiles import split_lidar, split_raster


def _cli(arguments: list[str], log: Path) -> tuple[float, float, list[dict]]:
    """Run ``python -m reconstruction ARGUMENTS`` with JSON output; its seconds, peak MB and JSON lines."""
    command = [sys.executable, "-m", "reconstruction", *arguments]
    command += ["--json"] if arguments[0] == "check" else ["--progress", "json"]
    start = time.perf_counter()
    with log.open("w") as stdout:
        child = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT, text=True)
        peak = peak_rss_mb(child, proportional=True)
    seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(arguments[:1])} failed: {log.read_text()[-2000:]}")
    return seconds, peak, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2000, help="side of the square area in metres (default 2000)")
    parser.add_argument("--density", type=float, default=2.0, help="LiDAR returns per m² (default 2)")
    parser.add_argument("--chip", type=float, default=1000.0, help="chip side when the grid exceeds one job")
    parser.add_argument("--no-whole", action="store_true", help="time the tiles only, not the one-file area")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scene = work / "scene"
        start = time.perf_counter()
        command = [sys.executable, "-m", "reconstruction", "synthetic", "--out", str(scene), "--size", str(args.side)]
        command += ["--gsd", "1.0", "--ortho-gsd", "0.5", "--lidar", str(args.density), "--seed", str(args.seed)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        ortho_tiles = split_raster(scene / "ortho.tif", work / "tiles")
        lidar_tiles = split_lidar(scene / "lidar.laz", work / "tiles")
        print(f"generated and cut in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        given = {"tiles": (ortho_tiles, lidar_tiles), "one file": ([scene / "ortho.tif"], [scene / "lidar.laz"])}
        for name, (ortho, lidar) in given.items():
            if name == "one file" and args.no_whole:
                continue
            inputs = ["--ortho", *map(str, ortho), "--lidar", *map(str, lidar)]
            check_s, check_mb, _ = _cli(["check", *inputs], work / f"check-{len(ortho)}.log")
            cell = 1.0  # the density's cell (reconstruction.io.cell_size): coarser for sparser LiDAR
            chipped = (args.side / cell) ** 2 > Limits().max_grid_pixels
            out = work / f"run-{len(ortho)}"
            extra = ["--chip-size", str(args.chip)] if chipped else []
            run_s, run_mb, _ = _cli(["run", *inputs, "--out", str(out), *extra], work / f"run-{len(ortho)}.log")
            manifest = json.loads((out / "manifest.json").read_text())
            grid = manifest["grid"]
            row = {
                "input": name,
                "files": f"{len(ortho)} + {len(lidar)}",
                "cells": grid["width"] * grid["height"],
                "cell_m": grid["resolution_m"],
                "chipped": chipped,
                "check_s": check_s,
                "check_mb": check_mb,
                "run_s": run_s,
                "run_mb": run_mb,
                "buildings": manifest["stats"]["features"]["building"],
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    km2 = args.side**2 / 1e6
    print(f"{km2:g} km², orthophoto 0.5 m + LiDAR {args.density:g} pts/m², {psutil.cpu_count()} CPUs")
    print(
        f"{'input':>8} {'files':>6} {'cells':>10} {'cell m':>6} {'chips':>5} {'check s':>7} {'check MB':>8} "
        f"{'run s':>6} {'run MB':>7} {'buildings':>9}"
    )
    for r in rows:
        print(
            f"{r['input']:>8} {r['files']:>6} {r['cells']:>10,} {r['cell_m']:>6g} {'yes' if r['chipped'] else 'no':>5} "
            f"{r['check_s']:>7.1f} {r['check_mb']:>8,.0f} {r['run_s']:>6.0f} {r['run_mb']:>7,.0f} {r['buildings']:>9}"
        )


if __name__ == "__main__":
    main()
