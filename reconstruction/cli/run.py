"""``run``: reconstruct one area from files into a folder with a manifest.json."""

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from reconstruction.cli.inputs import add_input_arguments, inputs_from
from reconstruction.config import PipelineConfig, load_config
from reconstruction.errors import ConfigError
from reconstruction.pipeline import run_pipeline
from reconstruction.stages import MANIFEST, overall_fraction


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("run", help="reconstruct an area", description=__doc__)
    add_input_arguments(p)
    p.add_argument("--config", type=Path, help="TOML file overriding stage parameters")
    p.add_argument("--out", type=Path, required=True, help="output folder (must be empty or absent)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument(
        "--model",
        help="network for an orthophoto without DSM or LiDAR: a shipped name (default citynet-v1) or a weights file",
    )
    p.add_argument(
        "--progress",
        choices=["bar", "json", "none"],
        default="bar",
        help="progress display: a bar on the terminal (default), JSON lines on stdout for a supervising "
        "process, or nothing",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the pipeline with a progress bar; print the manifest path and warnings."""
    inputs = inputs_from(args)
    if args.config is not None and not args.config.is_file():
        raise ConfigError(f"--config {args.config}: no such file.")
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            raise ConfigError(f"--out {out} is not empty. Choose another folder or pass --overwrite.")
        shutil.rmtree(out)
    cfg = load_config(args.config) if args.config else PipelineConfig()
    if args.model:
        cfg = dataclasses.replace(cfg, prediction=dataclasses.replace(cfg.prediction, model=args.model))
    if args.progress == "json":
        result = run_pipeline(inputs, cfg, out, _json_progress)
        print(json.dumps({"type": "result", "manifest": str(out / MANIFEST), "warnings": result.warnings}))
        return 0
    with tqdm(total=100, unit="%", disable=args.progress == "none", bar_format="{l_bar}{bar}| {elapsed}") as bar:

        def on_progress(stage: str, fraction: float, message: str) -> None:
            bar.set_description_str(f"{stage}: {message}"[:60])
            bar.n = round(100 * overall_fraction(stage, fraction))
            bar.refresh()

        result = run_pipeline(inputs, cfg, out, on_progress)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for name, entry in result.manifest["registration"].items():
        print(
            f"registered {name} to the {entry['reference']}: {entry['n_inliers']} inliers of {entry['n_matches']} "
            f"matches, residual {entry['rmse_m']} m, shift {entry['shift_m']} m",
            file=sys.stderr,
        )
    print(out / MANIFEST)
    if args.progress == "bar":
        print("timings (s): " + json.dumps(result.manifest["timings"]), file=sys.stderr)
    return 0


def _json_progress(stage: str, fraction: float, message: str) -> None:
    """One JSON line per report, flushed at once, for a supervising process to read."""
    print(json.dumps({"type": "progress", "stage": stage, "fraction": fraction, "message": message}), flush=True)
