"""``merge``: join the finished chips of a plan into one output folder with a manifest.json.

The chips' folders are left as they were (their tiles are hard-linked, not moved), so a merge that failed
can be run again.
"""

import argparse
import json
from pathlib import Path

from reconstruction.chips import ChipPlan
from reconstruction.chips.merge import merge_chips
from reconstruction.cli.output import prepare_output
from reconstruction.config import PipelineConfig, load_config
from reconstruction.progress import json_lines, silent
from reconstruction.stages import MANIFEST


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("merge", help="join the chips of a plan", description=__doc__)
    p.add_argument("--plan", type=Path, required=True, help="the plan from `plan`")
    p.add_argument("--config", type=Path, help="TOML file overriding stage parameters")
    p.add_argument("--out", type=Path, required=True, help="output folder (must be empty or absent)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("chips", type=Path, nargs="+", help="the chips' output folders, chip 0 first")
    p.add_argument("--progress", choices=["json", "none"], default="none", help="json: progress lines on stdout")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Merge and print the manifest path (a JSON result line with ``--progress json``)."""
    prepare_output(args.out, args.overwrite)
    cfg = load_config(args.config) if args.config else PipelineConfig()
    progress = json_lines if args.progress == "json" else silent
    merge_chips(ChipPlan.load(args.plan), args.chips, args.out, cfg, progress)
    if args.progress == "json":
        print(json.dumps({"type": "result", "manifest": str(args.out / MANIFEST), "warnings": []}), flush=True)
    else:
        print(args.out / MANIFEST)
    return 0
