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


def peak_rss_mb(process: subprocess.Popen, proportional: bool = False) -> float:
    """Largest summed resident memory of ``process`` and its descendants until it ends, MB.

    Summed RSS counts the pages forked helpers share with their parent once per process; with
    ``proportional`` each shared page is split between its sharers (PSS, from smaps: slower to sample),
    which is what the machine really holds.
    """
    parent = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            sizes = (p.memory_full_info().pss if proportional else p.memory_info().rss for p in tree if p.is_running())
            peak = max(peak, sum(sizes))
        except psutil.Error:
            pass
        time.sleep(0.1 if proportional else 0.05)
    return peak / 2**20


def generate_city(side_m: int, gsd: float, seed: int, folder: Path) -> Path:
    """A square generated city of ``side_m`` metres (DSM at ``gsd``, orthophoto at half) in ``folder``."""
    command = [sys.executable, "-m", "reconstruction", "synthetic", "--out", str(folder), "--size", str(side_m)]
    command += ["--gsd", str(gsd), "--ortho-gsd", str(gsd / 2), "--seed", str(seed)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return folder


def bench(size_km2: float, gsd: float, seed: int, work: Path) -> dict:
    side = round(math.sqrt(size_km2) * 1000)
    scene = generate_city(side, gsd, seed, work / f"scene-{side}")
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
    peak = peak_rss_mb(run)
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
