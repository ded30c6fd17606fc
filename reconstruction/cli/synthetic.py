"""``synthetic``: generate a procedural city (orthophoto, DSM, DTM, labels, LiDAR) to try rs3d without data."""

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("synthetic", help="generate a synthetic city", description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="folder for ortho.tif, dsm.tif, dtm.tif, labels.tif")
    p.add_argument("--size", type=float, default=200.0, help="side of the square area in metres (default 200)")
    p.add_argument("--gsd", type=float, default=0.5, help="DSM pixel size in metres (default 0.5)")
    p.add_argument("--ortho-gsd", type=float, default=0.25, help="orthophoto pixel size in metres (default 0.25)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same city")
    p.add_argument("--nir", action="store_true", help="add a near-infrared 4th band to ortho.tif (R, G, B, NIR)")
    p.add_argument(
        "--season",
        choices=("summer", "spring", "autumn", "winter"),
        default="summer",
        help="leaf and lawn colours, leaf-off trees and sun elevation (default summer)",
    )
    p.add_argument("--footprints", action="store_true", help="also write the building footprints as buildings.gpkg")
    p.add_argument(
        "--lidar",
        type=float,
        metavar="POINTS_PER_M2",
        help="also write the town's airborne LiDAR as lidar.laz: classified, coloured like ortho.tif (RGB, or RGB "
        "+ NIR with --nir), this many returns per m2",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the scene; print the folder."""
    from reconstruction.synthetic import SceneConfig, generate_scene, write_footprints, write_scene
    from reconstruction.synthetic.lidar import LidarColour, write_scene_lidar

    cfg = SceneConfig(
        size_m=args.size, gsd_m=args.gsd, ortho_gsd_m=args.ortho_gsd, seed=args.seed, nir=args.nir, season=args.season
    )
    args.out.mkdir(parents=True, exist_ok=True)
    scene = generate_scene(cfg)
    paths = write_scene(scene, args.out)
    if args.footprints:
        paths["footprints"] = write_footprints(scene, args.out / "buildings.gpkg")
    if args.lidar is not None:
        colour: LidarColour = "rgb+nir" if args.nir else "rgb"
        paths["lidar"] = write_scene_lidar(scene, args.out / "lidar.laz", args.lidar, colour, seed=args.seed)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
