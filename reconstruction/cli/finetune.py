"""``finetune``: train a model further on an area with an orthophoto and classified LiDAR.

The area is split west (training) / east (held out); the held-out scores of the base and the new
model are printed side by side, and the new weights file can then be used for areas of the same
region that only have imagery: ``python -m reconstruction run --ortho ... --model NEW.pt``.
"""

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from reconstruction.training.finetune import FinetuneResult


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("finetune", help="fine-tune a model on an area with LiDAR", description=__doc__)
    p.add_argument("--ortho", type=Path, required=True, help="the area's orthophoto GeoTIFF")
    p.add_argument("--lidar", type=Path, required=True, help="its classified LAS/LAZ")
    p.add_argument("--out", type=Path, required=True, help="new weights file (.pt)")
    p.add_argument("--base", default="citynet-v1", help="model to start from (default citynet-v1)")
    p.add_argument("--steps", type=int, default=300, help="optimiser steps (default 300)")
    p.add_argument("--version", default=None, help="version of the new model")
    p.add_argument("--epsg", type=int, default=None, help="EPSG of an orthophoto without a CRS")
    p.add_argument(
        "--progress",
        choices=["bar", "json", "none"],
        default="bar",
        help="a bar on the terminal (default), JSON lines on stdout for a supervising process, or nothing",
    )
    p.add_argument("--no-progress", dest="progress", action="store_const", const="none", help="same as --progress none")
    p.add_argument(
        "--report",
        type=Path,
        default=None,
        help='also write {"weights", "name", "version", "before", "after"} as JSON here (for a supervising process)',
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Fine-tune with a progress bar and print the before/after table."""
    from reconstruction.errors import ConfigError
    from reconstruction.io.user_files import user_path
    from reconstruction.training.finetune import finetune_on_area

    if args.out.suffix != ".pt":
        raise ConfigError(f"--out {args.out}: weights files end in .pt")
    for name in ("ortho", "lidar"):
        user_path(getattr(args, name), f"file given to --{name}, '{getattr(args, name)}',")
    with tqdm(total=args.steps, unit="step", disable=args.progress != "bar") as bar:

        def on_progress(stage: str, fraction: float, message: str) -> None:
            if args.progress == "json":
                line = {"type": "progress", "stage": stage, "fraction": fraction, "message": message}
                print(json.dumps(line), flush=True)
            bar.n = round(fraction * args.steps)
            bar.set_postfix_str(message.split(" ", 2)[-1], refresh=False)
            bar.refresh()

        result = finetune_on_area(
            args.ortho, args.lidar, args.out, args.base, args.steps, args.version, args.epsg, on_progress=on_progress
        )
    if args.report is not None:
        _write_report(args.report, result)
    if args.progress == "json":
        print(json.dumps({"type": "result", "weights": str(result.weights), "warnings": []}), flush=True)
        return 0
    print(f"{'held-out east block':<22}{'mIoU':>8}{'MAE m':>8}")
    for name, scores in (("before", result.before), ("after", result.after)):
        print(f"{name:<22}{scores['miou']:>8.3f}{scores['height_mae_m']:>8.3f}")
    print(f"weights: {result.weights}")
    return 0


def _write_report(path: Path, result: "FinetuneResult") -> None:
    """The new model's name, version and held-out scores as JSON, read from the weights file just written."""
    from reconstruction.prediction.weights import load_weights

    _, info = load_weights(result.weights)
    report = {
        "weights": str(result.weights),
        "name": info.name,
        "version": info.version,
        "before": result.before,
        "after": result.after,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, default=float))
