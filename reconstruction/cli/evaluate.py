"""``evaluate``: score a checkpoint on held-out data (IoU per class, mIoU, accuracy, height MAE/RMSE)."""

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("evaluate", help="score a trained checkpoint on held-out data", description=__doc__)
    p.add_argument("--checkpoint", type=Path, required=True, help="last.pt or best.pt from `train`")
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        help="classified LAS/LAZ files and/or synthetic scenes written as synthetic:SEED",
    )
    p.add_argument("--resolution", type=float, default=0.5, help="cell size in metres (default 0.5)")
    p.add_argument("--scene-size", type=float, default=100.0, help="side of synthetic scenes in metres (default 100)")
    p.add_argument("--tile", type=int, default=256, help="inference window in pixels (default 256)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when available)")
    p.add_argument("--report", type=Path, default=None, help="write the metrics to this JSON file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the checkpoint and data, evaluate, print a table, write the JSON report."""
    from reconstruction.errors import ConfigError
    from reconstruction.synthetic import SceneConfig, generate_scene
    from reconstruction.training.loop import evaluate, load_checkpoint
    from reconstruction.training.samples import samples_from_lidar, samples_from_scene

    samples = []
    for item in args.data:
        if item.startswith("synthetic:"):
            try:
                seed = int(item.split(":", 1)[1])
            except ValueError as err:
                raise ConfigError(f"--data {item!r}: write synthetic scenes as synthetic:SEED") from err
            cfg = SceneConfig(size_m=args.scene_size, gsd_m=args.resolution, ortho_gsd_m=args.resolution / 2, seed=seed)
            samples += samples_from_scene(generate_scene(cfg))
        else:
            samples += samples_from_lidar(Path(item), args.resolution)
    model = load_checkpoint(args.checkpoint)
    metrics = evaluate(model, samples, tile=args.tile, device=args.device)
    metrics["checkpoint"] = str(args.checkpoint)
    print(f"{'class':<16}{'IoU':>8}")
    for name, iou in metrics["iou"].items():
        print(f"{name:<16}{'-' if iou is None else f'{iou:.3f}':>8}")
    for key in ("miou", "overall_accuracy", "height_mae_m", "height_rmse_m"):
        value = metrics[key]
        print(f"{key:<16}{'-' if value is None else f'{value:.3f}':>8}")
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(metrics, indent=2) + "\n")
        print(f"report: {args.report}")
    return 0
