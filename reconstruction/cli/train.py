"""``train``: train CityNet from a TOML config; checkpoints and ``log.jsonl`` go to the run folder."""

import argparse
import dataclasses
from pathlib import Path

from tqdm import tqdm


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser("train", help="train the land-cover and height network", description=__doc__)
    p.add_argument("--config", type=Path, required=True, help="training TOML (see reconstruction/training/configs/)")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt when it exists")
    p.add_argument("--steps", type=int, default=None, help="override the config's total steps")
    p.add_argument("--run-dir", type=Path, default=None, help="override the config's run folder")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="override the config's device")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed (weights, crops, augmentation)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the config and data, train with a progress bar, print the checkpoints."""
    from reconstruction.training.config import load_train_config
    from reconstruction.training.loop import train
    from reconstruction.training.samples import load_data

    cfg = load_train_config(args.config)
    overrides = {"steps": args.steps, "run_dir": args.run_dir, "device": args.device, "seed": args.seed}
    cfg = dataclasses.replace(cfg, resume=args.resume, **{k: v for k, v in overrides.items() if v is not None})
    train_samples, val_samples = load_data(cfg.data)
    with tqdm(total=cfg.steps, unit="step", disable=args.no_progress) as bar:

        def on_progress(stage: str, fraction: float, message: str) -> None:
            bar.n = round(fraction * cfg.steps)
            bar.set_postfix_str(message.split(" ", 2)[-1], refresh=False)
            bar.refresh()

        result = train(cfg, train_samples, val_samples, on_progress)
    print(f"steps: {result.steps}  last train loss: {result.train_loss:.4f}  best val loss: {result.best_val_loss:.4f}")
    print(f"last: {result.last_checkpoint}")
    if result.best_checkpoint is not None:
        print(f"best: {result.best_checkpoint}")
    print(f"log: {cfg.run_dir / 'log.jsonl'}")
    return 0
