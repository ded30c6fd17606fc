"""Fine-tune a model on one area that has both an orthophoto and classified LiDAR ("train on this area").

The LiDAR labels the area's own photo (:func:`samples_from_area`); the area is split into a western
training block and an eastern held-out block (:func:`split_blocks`, with a gap so no training crop
touches a held-out pixel); the base model is trained further on the west, and both the base and
the fine-tuned model are scored on the east, so the user sees whether fine-tuning helped before
choosing the new model for other areas of the region that only have imagery.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconstruction.progress import ProgressCallback, silent


@dataclass(frozen=True)
class FinetuneResult:
    """The new weights and the held-out scores before and after."""

    weights: Path
    before: dict[str, Any]
    after: dict[str, Any]


def finetune_on_area(
    ortho: Path,
    lidar: Path,
    out: Path,
    base: str = "citynet-v1",
    steps: int = 300,
    version: str | None = None,
    epsg: int | None = None,
    run_dir: Path | None = None,
    on_progress: ProgressCallback = silent,
) -> FinetuneResult:
    """Fine-tune ``base`` on an area and write the new weights to ``out``.

    Args:
        ortho: the area's orthophoto.
        lidar: its classified LAS/LAZ.
        out: where the new weights file goes.
        base: shipped model name or weights file to start from.
        steps: optimiser steps.
        version: version string of the new model (default ``<base version>+<lidar file stem>``).
        epsg: CRS of an orthophoto without one.
        run_dir: folder for checkpoints and the log (default next to ``out``).
        on_progress: receives ``("finetune", fraction, message)``.

    Raises:
        InputError: unreadable or non-overlapping inputs, or an area too small to split.
        ConfigError: bad ``steps``.
    """
    import tempfile

    from reconstruction.errors import ConfigError
    from reconstruction.prediction.weights import export_weights, load_weights
    from reconstruction.training.checkpoints import load_checkpoint
    from reconstruction.training.config import TrainConfig
    from reconstruction.training.evaluation import evaluate
    from reconstruction.training.lidar import samples_from_area
    from reconstruction.training.loop import train
    from reconstruction.training.samples import split_blocks

    if not 1 <= steps <= 100_000:
        raise ConfigError(f"steps must be 1..100000, got {steps}")
    base_model, info = load_weights(base)
    (sample,) = samples_from_area(ortho, lidar, info.gsd_m, epsg)
    west, east = split_blocks(sample, val_fraction=0.3, gap=16)
    tile = min(64, *west.labels.shape)
    tile -= tile % 2**info.model.depth
    if tile < 2**info.model.depth:
        raise ConfigError(f"the area is too small to fine-tune on ({sample.labels.shape} cells)")
    with tempfile.TemporaryDirectory() as scratch:
        cfg = TrainConfig(
            model=info.model,
            tile=tile,
            batch_size=8,
            steps=steps,
            lr=5e-4,
            run_dir=run_dir or Path(scratch),
            checkpoint_every=max(1, steps // 4),
            val_every=max(1, steps // 4),
            val_crops=8,
            init_weights=str(base),
        )

        def report(_stage: str, fraction: float, message: str) -> None:
            on_progress("finetune", fraction, message)

        result = train(cfg, [west], [east], report)
        before = evaluate(base_model, [east], tile=256)
        after = evaluate(load_checkpoint(result.last_checkpoint), [east], tile=256)
        card = {
            "base": info.label,
            "data": f"orthophoto {Path(ortho).name} labelled by LiDAR {Path(lidar).name}",
            "split": f"west {west.labels.shape[1]} columns train, east {east.labels.shape[1]} held out, 16-column gap",
            "steps": steps,
            "held_out_before": before,
            "held_out_after": after,
        }
        new_version = version or f"{info.version}+{Path(lidar).stem}"
        weights = export_weights(result.last_checkpoint, out, info.name, new_version, info.gsd_m, card)
    return FinetuneResult(weights, before, after)
