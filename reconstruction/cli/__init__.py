"""Command-line wiring: one module per subcommand, each with ``add_parser`` and ``run``."""

import argparse
import json
import logging
import sys

from reconstruction.cli import check as check_cmd
from reconstruction.cli import evaluate as evaluate_cmd
from reconstruction.cli import finetune as finetune_cmd
from reconstruction.cli import fuse as fuse_cmd
from reconstruction.cli import merge as merge_cmd
from reconstruction.cli import plan as plan_cmd
from reconstruction.cli import run as run_cmd
from reconstruction.cli import synthetic as synthetic_cmd
from reconstruction.cli import train as train_cmd
from reconstruction.errors import RS3DError
from reconstruction.io.gdal_cache import bound_block_cache

_COMMANDS = (run_cmd, plan_cmd, merge_cmd, check_cmd, synthetic_cmd, train_cmd, evaluate_cmd, finetune_cmd, fuse_cmd)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the subcommand, turn our errors into a message and exit status 2."""
    parser = argparse.ArgumentParser(
        prog="python -m reconstruction", description="rs3d: semantic 3D cities from remote-sensing imagery."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS:
        command.add_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    bound_block_cache()  # before any raster is read: GDAL sizes its cache once
    try:
        return int(args.handler(args))
    except RS3DError as err:
        if getattr(args, "progress", None) == "json":
            print(json.dumps({"type": "error", "error": type(err).__name__, "message": str(err)}), flush=True)
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
