"""``check``: validate input files and their overlap without reconstructing (seconds, not minutes)."""

import argparse
import json
import sys

from reconstruction.cli.inputs import add_input_arguments, inputs_from
from reconstruction.config import PipelineConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("check", help="validate input files", description=__doc__)
    add_input_arguments(p)
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

    warnings = check_inputs(inputs_from(args), PipelineConfig())
    if args.progress == "json":
        print(json.dumps({"type": "ok", "warnings": warnings}))
    else:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print("inputs are valid")
    return 0
