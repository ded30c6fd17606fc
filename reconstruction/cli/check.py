"""``check``: validate input files and their overlap without reconstructing (seconds, not minutes)."""

import argparse
import json
import sys
from pathlib import Path

from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("check", help="validate input files", description=__doc__)
    p.add_argument("--ortho", type=Path, required=True, help="orthophoto GeoTIFF")
    p.add_argument("--dsm", type=Path, help="DSM GeoTIFF")
    p.add_argument("--lidar", type=Path, help="LAS/LAZ point cloud")
    p.add_argument("--epsg", type=int, help="EPSG code for files that carry no CRS")
    p.add_argument(
        "--json",
        dest="progress",
        action="store_const",
        const="json",
        default="text",
        help="print one JSON object (for a supervising process)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print warnings (or {"type": "ok", "warnings": [...]}); errors go through the CLI's handler."""
    from reconstruction.pipeline import check_inputs

    for name in ("ortho", "dsm", "lidar"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            raise ConfigError(f"--{name} {path}: no such file.")
    inputs = PipelineInputs(ortho=args.ortho, dsm=args.dsm, lidar=args.lidar, epsg=args.epsg)
    warnings = check_inputs(inputs, PipelineConfig())
    if args.progress == "json":
        print(json.dumps({"type": "ok", "warnings": warnings}))
    else:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print("inputs are valid")
    return 0
