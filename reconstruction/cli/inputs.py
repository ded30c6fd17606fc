"""The input-file arguments shared by the subcommands that read an area (run, check)."""

import argparse
from pathlib import Path

from reconstruction.config import PipelineInputs
from reconstruction.errors import ConfigError


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --ortho, --dsm, --lidar, --epsg and --footprints."""
    parser.add_argument("--ortho", type=Path, required=True, help="orthophoto GeoTIFF (RGB or RGB+NIR)")
    parser.add_argument("--dsm", type=Path, help="digital surface model GeoTIFF (metres)")
    parser.add_argument("--lidar", type=Path, help="LiDAR point cloud (LAS/LAZ)")
    parser.add_argument("--epsg", type=int, help="EPSG code for input files that carry no CRS")
    parser.add_argument(
        "--footprints", type=Path, help="building footprints you already have (GeoPackage, GeoJSON, ...)"
    )


def inputs_from(args: argparse.Namespace) -> PipelineInputs:
    """The parsed input files, each checked to exist.

    Raises:
        ConfigError: a named file does not exist.
    """
    for name in ("ortho", "dsm", "lidar", "footprints"):
        path = getattr(args, name)
        if path is not None and not path.is_file():
            raise ConfigError(f"--{name} {path}: no such file.")
    return PipelineInputs(ortho=args.ortho, dsm=args.dsm, lidar=args.lidar, epsg=args.epsg, footprints=args.footprints)
