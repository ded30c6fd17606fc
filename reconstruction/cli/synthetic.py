"""``synthetic``: generate a procedural city (orthophoto, DSM, DTM, labels) to try rs3d without data."""

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
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the scene; print the folder."""
    from reconstruction.synthetic import SceneConfig, generate_scene, write_scene

    cfg = SceneConfig(size_m=args.size, gsd_m=args.gsd, ortho_gsd_m=args.ortho_gsd, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = write_scene(generate_scene(cfg), args.out)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
