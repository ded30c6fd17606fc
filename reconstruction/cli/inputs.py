"""The input-file arguments shared by the subcommands that read an area (run, check, plan).

They are :meth:`PipelineInputs.to_argv`'s spelling: the web app's runner builds its command lines with it,
and :func:`inputs_from` turns them back into the same :class:`PipelineInputs`.
"""

import argparse
from pathlib import Path
from typing import Any

from reconstruction.config import Z_UNITS, PipelineInputs
from reconstruction.config.run import FILE_OPTIONS, SEVERAL_FILE_OPTIONS
from reconstruction.errors import ConfigError


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --ortho, --dsm, --lidar, --epsg, --z-unit, --footprints, --second-image, --register-dsm and --stereo."""
    parser.add_argument(
        "--ortho",
        type=Path,
        nargs="+",
        metavar="IMAGE",
        default=[],
        help="orthophoto (RGB or RGB+NIR): GeoTIFF/COG, JPEG 2000, or JPEG/PNG with its world file (.jgw, .pgw, "
        ".wld; with a .prj or --epsg) or GDAL .aux.xml beside it under the same name; one file, or the tiles of "
        "the area (several paths; gaps allowed, other CRSs reprojected); optional with --stereo or --lidar",
    )
    parser.add_argument(
        "--dsm",
        type=Path,
        nargs="+",
        metavar="DSM",
        default=[],
        help="digital surface model GeoTIFF (heights in the unit its CRS states): one file, or its tiles",
    )
    parser.add_argument(
        "--lidar",
        type=Path,
        nargs="+",
        metavar="LAS",
        default=[],
        help="LiDAR point cloud (LAS/LAZ/COPC): one file, or the tiles of the area (several paths; gaps allowed)",
    )
    parser.add_argument("--epsg", type=int, help="EPSG code for input files that carry no CRS")
    parser.add_argument(
        "--z-unit",
        choices=Z_UNITS,
        help="unit of the LiDAR's and DSM's heights when the files state none or a wrong one: m, ft "
        "(international feet) or us-ft (US survey feet); by default read from each file's CRS",
    )
    parser.add_argument(
        "--footprints", type=Path, help="building footprints you already have (GeoPackage, GeoJSON, ...)"
    )
    parser.add_argument(
        "--second-image",
        type=Path,
        help="a second image of the area (another date or sensor, e.g. NIR-R-G), registered to the orthophoto",
    )
    parser.add_argument(
        "--register-dsm",
        action="store_true",
        help="register the DSM to the LiDAR's surface before using it (needs --dsm and --lidar)",
    )
    parser.add_argument(
        "--stereo",
        type=Path,
        nargs="+",
        metavar="IMAGE",
        default=[],
        help="2 or 3 satellite images with RPCs (GeoTIFF/NITF): their stereo DSM (and orthoimage) feed the run",
    )


def inputs_from(args: argparse.Namespace) -> PipelineInputs:
    """The parsed input files, each checked to be a plain local file.

    Raises:
        InputError: a named file does not exist, or is a GDAL virtual path, URL or connection string
            (:func:`reconstruction.io.user_files.user_path`).
        ConfigError: options that do not go together.
    """
    from reconstruction.io.user_files import user_path

    files: dict[str, Any] = {name: getattr(args, name) for name, _ in FILE_OPTIONS}
    for name, option in FILE_OPTIONS:
        if (path := files[name]) is not None:
            user_path(path, f"file given to {option}, '{path}',")
    for name, option in SEVERAL_FILE_OPTIONS:
        for path in getattr(args, name):
            user_path(path, f"file given to {option}, '{path}',")
    if args.register_dsm and not args.dsm:
        raise ConfigError("--register-dsm needs --dsm (the DSM to register).")
    if not args.ortho and not args.stereo and not args.lidar:
        raise ConfigError(
            "Give --ortho (an orthophoto), --lidar (a LiDAR file: its colours make the orthophoto), or --stereo "
            "with 2 or 3 images to make one from."
        )
    files |= {name: tuple(getattr(args, name)) for name, _ in SEVERAL_FILE_OPTIONS}
    return PipelineInputs(**files, epsg=args.epsg, register_dsm=args.register_dsm, z_unit=args.z_unit)
