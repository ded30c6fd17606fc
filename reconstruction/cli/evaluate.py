"""``evaluate``: score networks and the colour baseline on the same held-out data, in one table.

Each ``--model`` is a shipped model name (``citynet-v1``), a weights file, or a training checkpoint
(``last.pt`` / ``best.pt``); ``--baseline`` adds the non-learning colour-threshold baseline. Data
are real areas (``--area ORTHO LIDAR``: the orthophoto supervised by its classified LiDAR),
classified LiDAR alone (``--lidar``, point colours as the image) and generated towns
(``--synthetic SEED``, optionally with a NIR band and in another season). An orthophoto with four bands
(R, G, B, NIR) is given to NIR-capable models with its NIR band; RGB models ignore it.

``--real`` scores each model instead on every real region the project holds out
(:mod:`reconstruction.training.real_regions`) as an orthophoto-only run would, before and after its trust gate,
against the all-zero height prediction (see docs/models.md, "Trust gate"); a training checkpoint is exported to
a weights file first (ungated: a fresh training has no calibration).
"""

import argparse
import json
from pathlib import Path
from typing import Any

_COLUMNS = (
    ("miou", "mIoU"),
    ("overall_accuracy", "OA"),
    ("miou3", "mIoU-3"),
    ("height_mae_m", "MAE m"),
    ("height_rmse_m", "RMSE m"),
    ("height_ssim", "SSIM"),
    ("building_height_mae_m", "bldg MAE"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("evaluate", help="score models and the baseline on held-out data", description=__doc__)
    p.add_argument("--model", action="append", default=[], help="model name, weights .pt or checkpoint (repeatable)")
    p.add_argument("--checkpoint", action="append", default=[], type=Path, help="same as --model (kept for scripts)")
    p.add_argument("--baseline", action="store_true", help="also score the colour-threshold baseline")
    p.add_argument("--area", nargs=2, action="append", default=[], metavar=("ORTHO", "LIDAR"), help="real area")
    p.add_argument("--lidar", action="append", default=[], type=Path, help="classified LAS/LAZ (colours as image)")
    p.add_argument("--synthetic", action="append", default=[], type=int, metavar="SEED", help="generated town")
    p.add_argument("--nir", action="store_true", help="generated towns with a NIR band (R, G, B, NIR)")
    p.add_argument(
        "--season", choices=("summer", "spring", "autumn", "winter"), default="summer", help="of generated towns"
    )
    p.add_argument("--real", action="store_true", help="the trust-gate table over the project's real regions")
    p.add_argument("--data", nargs="+", default=[], help=argparse.SUPPRESS)  # older spelling: LAZ or synthetic:SEED
    p.add_argument("--epsg", type=int, default=None, help="EPSG of orthophotos without a CRS")
    p.add_argument("--resolution", type=float, default=0.5, help="cell size in metres (default 0.5)")
    p.add_argument("--scene-size", type=float, default=100.0, help="side of generated towns in metres (default 100)")
    p.add_argument("--tile", type=int, default=256, help="inference window in pixels (default 256)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when available)")
    p.add_argument("--report", type=Path, default=None, help="write every score to this JSON file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the data and every model, score them, print the table, write the JSON report."""
    from reconstruction.errors import ConfigError
    from reconstruction.training.evaluation import colour_baseline, evaluate, evaluate_predictor

    models = [*args.model, *map(str, args.checkpoint)]
    if args.real:
        return _real(models or ["citynet-v1"], args.report)
    samples = _samples(args)
    if not models and not args.baseline:
        raise ConfigError("nothing to evaluate: give --model (repeatable) and/or --baseline")
    results: dict[str, dict[str, Any]] = {}
    for name in models:
        results[name] = evaluate(_load(name), samples, tile=args.tile, device=args.device)
    if args.baseline:
        results["colour baseline"] = evaluate_predictor(colour_baseline, samples)
    _print_table(results)
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(results, indent=2) + "\n")
        print(f"report: {args.report}")
    return 0


def _real(models: list[str], report: Path | None) -> int:
    """Score each model on every available real region, ungated and gated; print one row per region."""
    from reconstruction.errors import ConfigError
    from reconstruction.prediction.weights import load_weights
    from reconstruction.training.real_regions import DATA_ROOT, available_regions, load_region
    from reconstruction.training.trust_calibration import score_region

    names = available_regions()
    if not names:
        raise ConfigError(f"no real region found under {DATA_ROOT} (set RS3D_SHARED_DATA)")
    results: dict[str, list[dict[str, Any]]] = {}
    for name in models:
        model, info = load_weights(_as_weights(name))
        tuned = info.trust.tuned_on if info.trust is not None else "no calibration: ungated"
        print(f"{name} (gate tuned on {tuned}); MAE m all-zero / raw / gated; building precision, recall by area")
        results[name] = []
        for region in names:
            s = score_region(model, info, load_region(region))
            raw, gated = s["raw"], s["gated"]
            cells = [s["zero_mae"], raw["mae"], gated["mae"], raw["precision"], gated["precision"], raw["recall"]]
            cells += [gated["recall"], raw["ece"], gated["ece"], s.get("shift_score"), s.get("untrusted_share")]
            print(f"  {region:<16}" + "".join(f"{'-' if v is None else f'{v:.2f}':>7}" for v in cells))
            results[name].append(s)
        print("  columns: zero raw gated | P raw gated | R raw gated | ECE raw calibrated | shift untrusted")
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _as_weights(name: str) -> str:
    """``name`` as given, or for a training checkpoint the weights file exported from it."""
    from reconstruction.errors import InputError
    from reconstruction.prediction.weights import weights_from_checkpoint

    if Path(name).suffix != ".pt" or not Path(name).is_file():
        return name
    try:
        out = weights_from_checkpoint(Path(name))
    except InputError:
        return name  # a weights file (or not a model at all: load_weights says which)
    print(f"{name}: a training checkpoint, exported to {out}")
    return str(out)


def _samples(args: argparse.Namespace) -> list[Any]:
    from reconstruction.errors import ConfigError
    from reconstruction.synthetic import SceneConfig, generate_scene
    from reconstruction.training.lidar import samples_from_area, samples_from_lidar
    from reconstruction.training.samples import samples_from_scene

    seeds, lidar = list(args.synthetic), list(args.lidar)
    for item in args.data:
        if item.startswith("synthetic:"):
            try:
                seeds.append(int(item.split(":", 1)[1]))
            except ValueError as err:
                raise ConfigError(f"--data {item!r}: write generated towns as synthetic:SEED") from err
        else:
            lidar.append(Path(item))
    samples = []
    for ortho, laz in args.area:
        samples += samples_from_area(Path(ortho), Path(laz), args.resolution, args.epsg)
    for path in lidar:
        samples += samples_from_lidar(path, args.resolution)
    for seed in seeds:
        cfg = SceneConfig(
            size_m=args.scene_size,
            gsd_m=args.resolution,
            ortho_gsd_m=args.resolution / 2,
            seed=seed,
            nir=args.nir,
            season=args.season,
        )
        samples += samples_from_scene(generate_scene(cfg))
    if not samples:
        raise ConfigError("no data: give --area ORTHO LIDAR, --lidar FILE and/or --synthetic SEED")
    return samples


def _load(name: str) -> Any:
    """A shipped model by name, a weights file, or a training checkpoint."""
    from reconstruction.errors import InputError
    from reconstruction.prediction.weights import load_weights
    from reconstruction.training.checkpoints import load_checkpoint

    try:
        return load_weights(name)[0]
    except InputError:
        if not Path(name).is_file():
            raise
        return load_checkpoint(Path(name))


def _print_table(results: dict[str, dict[str, Any]]) -> None:
    width = max(12, *(len(n) for n in results)) + 2
    print(f"{'':<{width}}" + "".join(f"{label:>10}" for _, label in _COLUMNS))
    for name, scores in results.items():
        cells = [scores.get(key) for key, _ in _COLUMNS]
        print(f"{name:<{width}}" + "".join(f"{'-' if v is None else f'{v:.3f}':>10}" for v in cells))
    print("\nIoU per class")
    classes = list(next(iter(results.values()))["iou"])
    print(f"{'':<{width}}" + "".join(f"{c[:9]:>10}" for c in classes))
    for name, scores in results.items():
        print(f"{name:<{width}}" + "".join(f"{'-' if v is None else f'{v:.3f}':>10}" for v in scores["iou"].values()))
