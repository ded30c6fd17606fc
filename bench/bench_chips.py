"""Peak memory of one worker on 1 and 16 km² generated cities, whole and in chips; print a table.

Usage: .venv/bin/python -m bench.bench_chips [--sizes 1 16] [--chip 500] [--whole-up-to 1] [--gsd 0.5]

Each size (km²) becomes a square generated city (DSM at --gsd, orthophoto at half that), reconstructed
from orthophoto + DSM by the CLI: ``run --chip-size`` (every chip in its own process, one after the
other, then the merge: what one worker holds at a time) and, for sizes up to --whole-up-to, the
ordinary whole-area ``run``. Peak memory is the largest summed PSS (shared pages split between the
processes sharing them) of the CLI and all its descendants (chip processes, py3dtiles' forked helpers),
sampled every 100 ms: what the machine holds for one worker. Per chip and for the merge, the process's
own peak RSS from ``wait4`` is shown too.
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

from bench.bench_cli import generate_city, peak_rss_mb


def _run(scene: Path, out: Path, chip_m: float | None) -> dict:
    command = [sys.executable, "-m", "reconstruction", "run", "--ortho", str(scene / "ortho.tif")]
    command += ["--dsm", str(scene / "dsm.tif"), "--out", str(out), "--progress", "json"]
    if chip_m:
        command += ["--chip-size", str(chip_m)]
    log = out.with_name(out.name + ".jsonl")  # a file, not a pipe: nobody reads the progress lines meanwhile
    start = time.perf_counter()
    with log.open("w") as stdout:
        child = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
        peak = peak_rss_mb(child, proportional=True)
    seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    result = next((m for m in lines if m.get("type") == "result"), None)
    if child.returncode != 0 or result is None:
        raise SystemExit(f"run failed on {scene}: {next((m for m in lines if m.get('type') == 'error'), {})}")
    manifest = json.loads((out / "manifest.json").read_text())
    children = result.get("children", [])
    chips = [c for c in children if c["name"].startswith("chip")]
    merge = next((c for c in children if c["name"] == "merge"), None)
    return {
        "cells": manifest["grid"]["width"] * manifest["grid"]["height"],
        "buildings": manifest["stats"]["features"]["building"],
        "chips": len(chips),
        "seconds": seconds,
        "peak_mb": peak,
        "chip_peak_mb": max((c["peak_rss_mb"] for c in chips), default=None),
        "chip_seconds": sum(c["seconds"] for c in chips) / len(chips) if chips else None,
        "merge_peak_mb": merge["peak_rss_mb"] if merge else None,
        "merge_seconds": merge["seconds"] if merge else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0, 16.0])
    parser.add_argument("--chip", type=float, default=500.0, help="chip side in metres (default 500)")
    parser.add_argument("--whole-up-to", type=float, default=1.0, help="also run whole areas up to this many km²")
    parser.add_argument("--gsd", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            side = round(math.sqrt(size) * 1000)
            scene = generate_city(side, args.gsd, args.seed, Path(tmp) / f"scene-{side}")
            modes = [("chips", args.chip)] + ([("whole", None)] if size <= args.whole_up_to else [])
            for mode, chip in modes:
                row = _run(scene, Path(tmp) / f"out-{side}-{mode}", chip)
                rows.append({"km2": size, "mode": mode, **row})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"One worker, orthophoto + DSM at {args.gsd} m, chips of {args.chip:g} m, {psutil.cpu_count()} CPUs")
    print(
        f"{'km²':>5} {'mode':>6} {'cells':>11} {'chips':>5} {'buildings':>9} {'wall s':>7} {'peak MB':>8} "
        f"{'chip MB':>8} {'s/chip':>6} {'merge MB':>8} {'merge s':>7}"
    )
    for r in rows:

        def fmt(value: float | None, width: int) -> str:
            return f"{value:>{width}.0f}" if value is not None else " " * (width - 1) + "-"

        print(
            f"{r['km2']:>5g} {r['mode']:>6} {r['cells']:>11,} {r['chips']:>5} {r['buildings']:>9,} "
            f"{r['seconds']:>7.0f} {r['peak_mb']:>8.0f} {fmt(r['chip_peak_mb'], 8)} {fmt(r['chip_seconds'], 6)} "
            f"{fmt(r['merge_peak_mb'], 8)} {fmt(r['merge_seconds'], 7)}"
        )


if __name__ == "__main__":
    main()
