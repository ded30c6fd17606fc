"""Time ``python -m reconstruction run`` on generated cities of several sizes; print a table.

Usage: .venv/bin/python -m bench.bench_cli [--sizes 0.25 1 4] [--gsd 0.5] [--seed 0]

Each size (km²) becomes a square generated city (DSM at --gsd, orthophoto at half that), reconstructed
from orthophoto + DSM by the CLI in a child process. Wall time is the CLI's; peak memory is the largest
summed RSS of the CLI and its helper processes, sampled every 50 ms.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def _peak_rss_mb(process: subprocess.Popen) -> float:
    parent = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    return peak / 2**20


def bench(size_km2: float, gsd: float, seed: int, work: Path) -> dict:
    side = round(math.sqrt(size_km2) * 1000)
    scene = work / f"scene-{side}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "reconstruction",
            "synthetic",
            "--out",
            str(scene),
            "--size",
            str(side),
            "--gsd",
            str(gsd),
            "--ortho-gsd",
            str(gsd / 2),
            "--seed",
            str(seed),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    out = work / f"out-{side}"
    start = time.perf_counter()
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconstruction",
            "run",
            "--ortho",
            str(scene / "ortho.tif"),
            "--dsm",
            str(scene / "dsm.tif"),
            "--out",
            str(out),
            "--progress",
            "none",
        ],
        stdout=subprocess.DEVNULL,
    )
    peak = _peak_rss_mb(run)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"run failed for {size_km2} km²")
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "km2": size_km2,
        "cells": manifest["grid"]["width"] * manifest["grid"]["height"],
        "points": manifest["stats"]["points"],
        "seconds": seconds,
        "peak_mb": peak,
        "timings": manifest["timings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 1.0, 4.0])
    parser.add_argument("--gsd", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            rows.append(bench(size, args.gsd, args.seed, Path(tmp)))
    print(f"CLI run, orthophoto + DSM at {args.gsd} m, {psutil.cpu_count()} CPUs")
    print(f"{'area km²':>8} {'DSM cells':>11} {'points':>11} {'seconds':>8} {'s/km²':>7} {'peak MB':>8} {'MB/km²':>7}")
    for r in rows:
        print(
            f"{r['km2']:>8.2f} {r['cells']:>11,} {r['points']:>11,} {r['seconds']:>8.1f} "
            f"{r['seconds'] / r['km2']:>7.1f} {r['peak_mb']:>8.0f} {r['peak_mb'] / r['km2']:>7.0f}"
        )
    slowest = rows[-1]["timings"]
    print("stage seconds for the largest: " + ", ".join(f"{k} {v:.1f}" for k, v in slowest.items()))


if __name__ == "__main__":
    main()
