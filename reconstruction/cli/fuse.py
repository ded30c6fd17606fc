"""``fuse``: label a point cloud from labelled perspective images (drone, oblique) through their cameras.

Each point is projected into every view; a z-buffer splatted from the cloud keeps only the points a
view really sees, the views vote (label confidence x viewing-angle cosine / distance) and points whose
class disagrees with a clear majority are reclassified. ``views.json`` lists the label images and their
cameras (format in ``reconstruction/fusion/views.py`` and ``camera.py``; cameras in the cloud's CRS).
The output keeps every attribute of the input and adds ``fusion_confidence`` and ``fusion_views``.
"""

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("fuse", help="fuse 2D labels of perspective views onto a point cloud", description=__doc__)
    p.add_argument("--cloud", type=Path, required=True, help="input LAS/LAZ point cloud")
    p.add_argument("--views", type=Path, required=True, help="views.json: label images and their cameras")
    p.add_argument("--out", type=Path, required=True, help="output LAS/LAZ (LAZ when the name ends in .laz)")
    p.add_argument("--splat-radius", type=float, default=None, help="splat radius in metres (default: from spacing)")
    p.add_argument("--depth-tolerance", type=float, default=0.01, help="relative depth tolerance (default 0.01)")
    p.add_argument("--majority", type=float, default=0.6, help="vote share needed to reclassify (default 0.6)")
    p.add_argument("--min-views", type=int, default=1, help="views that must see a point to reclassify it")
    p.add_argument("--normals", choices=("pca", "none"), default="pca", help="weigh votes by viewing angle")
    p.add_argument("--classes", default=None, help="comma-separated label codes allowed (default: rs3d's ASPRS set)")
    p.add_argument("--report", type=Path, default=None, help="write the fusion report to this JSON file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Read the cloud and views, fuse, write the cloud and print a short summary."""
    from reconstruction.errors import ConfigError
    from reconstruction.fusion import FusionConfig, fuse_labels, read_las_cloud, read_views, write_fused_las
    from reconstruction.fusion.config import DEFAULT_CLASSES

    if args.out.suffix.lower() not in (".las", ".laz"):
        raise ConfigError(f"--out must end in .las or .laz, not '{args.out.name}'")
    if args.out.resolve() == args.cloud.resolve():
        raise ConfigError("--out must differ from --cloud: the input is never overwritten")
    cfg = FusionConfig(
        splat_radius_m=args.splat_radius,
        depth_tolerance=args.depth_tolerance,
        majority=args.majority,
        min_views=args.min_views,
        normals=args.normals,
        classes=DEFAULT_CLASSES if args.classes is None else _codes(args.classes),
    )
    views = read_views(args.views)
    cloud, las = read_las_cloud(args.cloud)
    result = fuse_labels(cloud, views, cfg)
    write_fused_las(las, result, args.out)
    r = result.report
    print(f"points {r.points:,}  seen {r.seen:,} ({r.seen / r.points:.1%})  changed {r.changed:,}")
    print(f"agreement {r.agreement:.1%}  mean views per seen point {r.mean_views:.2f}  splat {r.splat_radius_m:.3f} m")
    for view in r.views:
        print(f"  {view.name}: {view.in_view:,} in view, {view.visible:,} visible, {view.voted:,} voted")
    for warning in r.warnings:
        print(f"warning: {warning}")
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(r.to_dict(), indent=2) + "\n")
    print(args.out)
    return 0


def _codes(text: str) -> tuple[int, ...]:
    from reconstruction.errors import ConfigError

    try:
        return tuple(int(c) for c in text.split(",") if c.strip())
    except ValueError as err:
        raise ConfigError(f"--classes must be comma-separated integers such as 2,5,6, not {text!r}") from err
