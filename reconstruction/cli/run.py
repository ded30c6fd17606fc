"""``run``: reconstruct one area from files into a folder with a manifest.json."""

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from tqdm import tqdm

from reconstruction.chips import Chip, ChipPlan, plan_chips
from reconstruction.chips.local import run_chipped
from reconstruction.cli.inputs import add_input_arguments, inputs_from
from reconstruction.cli.output import prepare_output
from reconstruction.config import PipelineConfig, PipelineInputs, load_config
from reconstruction.errors import ConfigError
from reconstruction.pipeline import run_pipeline
from reconstruction.progress import json_lines, silent
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
        "--chip-size",
        type=float,
        metavar="METRES",
        help="cut a large area into chips of this side, run each in its own process and merge them "
        "(memory then depends on the chip size, not the area's)",
    )
    p.add_argument(
        "--chip-margin", type=float, default=64.0, metavar="METRES", help="ground read around each chip (default 64)"
    )
    p.add_argument("--chip", type=Path, metavar="PLAN", help="run one chip of a plan from `plan` (inputs come from it)")
    p.add_argument("--chip-index", type=int, metavar="K", help="which chip of --chip to run")
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
    chip = _chip(args)
    inputs = chip[0].inputs if chip else inputs_from(args)
    if args.config is not None and not args.config.is_file():
        raise ConfigError(f"--config {args.config}: no such file.")
    out: Path = args.out
    prepare_output(out, args.overwrite)
    cfg = load_config(args.config) if args.config else PipelineConfig()
    if args.model:
        cfg = dataclasses.replace(cfg, prediction=dataclasses.replace(cfg.prediction, model=args.model))
    if args.chip_size is not None:
        return _run_chipped(inputs, cfg, out, args)
    if args.progress == "json":
        result = run_pipeline(inputs, cfg, out, json_lines, chip=chip)
        print(json.dumps({"type": "result", "manifest": str(out / MANIFEST), "warnings": result.warnings}))
        return 0
    with tqdm(total=100, unit="%", disable=args.progress == "none", bar_format="{l_bar}{bar}| {elapsed}") as bar:

        def on_progress(stage: str, fraction: float, message: str) -> None:
            bar.set_description_str(f"{stage}: {message}"[:60])
            bar.n = round(100 * overall_fraction(stage, fraction))
            bar.refresh()

        result = run_pipeline(inputs, cfg, out, on_progress, chip=chip)
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


def _chip(args: argparse.Namespace) -> tuple[ChipPlan, Chip] | None:
    """The (plan, chip) of ``--chip``/``--chip-index``, or None for a whole-area run."""
    if args.chip is None:
        if args.chip_index is not None:
            raise ConfigError("--chip-index needs --chip (the plan file).")
        return None
    if args.chip_index is None:
        raise ConfigError("--chip needs --chip-index (which chip of the plan to run).")
    if args.ortho or args.dsm or args.lidar or args.footprints or args.stereo or args.second_image:
        raise ConfigError("--chip takes the input files from the plan; give no input files with it.")
    if args.chip_size is not None:
        raise ConfigError("--chip runs one chip of a plan; --chip-size plans and runs them all. Give one of them.")
    plan = ChipPlan.load(args.chip)
    return plan, plan.chip(args.chip_index)


def _run_chipped(inputs: PipelineInputs, cfg: PipelineConfig, out: Path, args: argparse.Namespace) -> int:
    """Plan, run each chip in its own process, merge; report each process's time and peak memory."""
    plan = plan_chips(inputs, cfg, args.chip_size, args.chip_margin)
    progress = json_lines if args.progress == "json" else silent
    if args.progress == "bar":
        print(f"{len(plan.chips)} chips of {args.chip_size:g} m", file=sys.stderr)
        progress = _line_progress
    runs = run_chipped(plan, out, args.model, progress)
    children = [dataclasses.asdict(r) for r in runs]
    if args.progress == "json":
        print(json.dumps({"type": "result", "manifest": str(out / MANIFEST), "children": children}))
        return 0
    for r in runs:
        print(f"{r.name}: {r.seconds:.1f} s, peak {r.peak_rss_mb:.0f} MB", file=sys.stderr)
    print(out / MANIFEST)
    return 0


def _line_progress(stage: str, fraction: float, message: str) -> None:
    print(f"\r{fraction:4.0%} {message}"[:100].ljust(100), end="", file=sys.stderr, flush=True)
