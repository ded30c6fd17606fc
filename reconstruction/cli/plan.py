"""``plan``: cut a large area into chips (reads only the files' headers) and write the plan as JSON."""

import argparse
import json
from pathlib import Path

from reconstruction.chips import plan_chips
from reconstruction.cli.inputs import add_input_arguments, inputs_from
from reconstruction.config import PipelineConfig, load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("plan", help="cut a large area into chips for separate runs", description=__doc__)
    add_input_arguments(p)
    p.add_argument("--config", type=Path, help="TOML file overriding stage parameters (its resolution counts)")
    p.add_argument("--chip-size", type=float, required=True, metavar="METRES", help="side of a chip's core")
    p.add_argument(
        "--margin", type=float, default=64.0, metavar="METRES", help="ground read around a core (default 64)"
    )
    p.add_argument("--out", type=Path, required=True, help="the plan's JSON file")
    p.add_argument("--progress", choices=["json", "none"], default="none", help="json: one result line on stdout")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Plan the chips and write the plan; print how many (JSON with ``--progress json``)."""
    cfg = load_config(args.config) if args.config else PipelineConfig()
    plan = plan_chips(inputs_from(args), cfg, args.chip_size, args.margin)
    plan.save(args.out)
    if args.progress == "json":
        print(json.dumps({"type": "result", "chips": len(plan.chips), "plan": str(args.out)}), flush=True)
    else:
        grid = plan.grid
        print(f"{len(plan.chips)} chips over {grid.width} x {grid.height} cells at {grid.resolution:g} m: {args.out}")
    return 0
