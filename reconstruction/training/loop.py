"""Training loop for CityNet: AdamW with a cosine schedule, validation, checkpoints and exact resume.

A run lives in ``TrainConfig.run_dir``: ``last.pt`` (model, optimiser, scheduler, step, RNG
states; written every ``checkpoint_every`` steps and at the end), ``best.pt`` (lowest validation
loss) and ``log.jsonl`` (one JSON record per step). Training batch ``s`` is made of crops
``s * batch_size ... (s + 1) * batch_size - 1`` of a seeded :class:`TileDataset`, so a resumed
run sees exactly the batches an uninterrupted one would, and on the CPU ends with identical weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from reconstruction.errors import ConfigError
from reconstruction.progress import ProgressCallback, silent
from reconstruction.training.checkpoints import restore_checkpoint, save_checkpoint
from reconstruction.training.config import TrainConfig
from reconstruction.training.dataset import TileDataset, collate
from reconstruction.training.losses import MultiTaskLoss
from reconstruction.training.samples import IGNORE, Sample


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        steps: optimiser steps done in total (including those before a resume).
        train_loss: total loss of the last step.
        best_val_loss: lowest validation loss seen (NaN without validation data).
        last_checkpoint: path of ``last.pt``.
        best_checkpoint: path of ``best.pt`` (``None`` without validation data).
        history: the log records of this call, one per step.
    """

    steps: int
    train_loss: float
    best_val_loss: float
    last_checkpoint: Path
    best_checkpoint: Path | None
    history: list[dict[str, float]]


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without CUDA raises ConfigError."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def train(
    cfg: TrainConfig,
    train_samples: list[Sample],
    val_samples: list[Sample],
    on_progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train a network from scratch, or resume the run in ``cfg.run_dir``.

    Args:
        cfg: the run's configuration.
        train_samples: training samples (at least one).
        val_samples: held-out samples for the validation loss and ``best.pt``; may be empty.
        on_progress: ``on_progress("train", fraction, "step i/n loss x")`` after every step; it may
            raise :class:`reconstruction.errors.Cancelled` (the latest checkpoint stays usable).

    Returns:
        A :class:`TrainResult`.

    Raises:
        ConfigError: bad device, or a checkpoint from a different model configuration.
        InputError: no training samples, or an unreadable checkpoint.
    """
    report = on_progress or silent
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = _initial_model(cfg).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _cosine(s, cfg.steps))
    loss_fn = MultiTaskLoss(**asdict(cfg.loss), ignore_index=IGNORE)
    channels = cfg.model.in_channels
    data = TileDataset(
        train_samples,
        cfg.tile,
        cfg.steps * cfg.batch_size,
        seed=cfg.seed,
        in_channels=channels,
        nir_dropout=cfg.data.nir_dropout,
        imaging=cfg.augment,
        resolution_m=cfg.data.resolution,
    )
    val_data = None
    if val_samples:
        val_data = TileDataset(val_samples, cfg.tile, cfg.val_crops, cfg.seed + 1, augment=False, in_channels=channels)

    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    last, best_path, log_path = cfg.run_dir / "last.pt", cfg.run_dir / "best.pt", cfg.run_dir / "log.jsonl"
    start, best = 0, math.inf
    if cfg.resume and last.is_file():
        start, best = restore_checkpoint(last, cfg, model, optimiser, scheduler, device)
        _truncate_log(log_path, start)
    elif log_path.exists():
        log_path.unlink()

    history: list[dict[str, float]] = []
    loss = math.nan
    with log_path.open("a") as log:
        for step in range(start, cfg.steps):
            model.train()
            batch = _to(collate([data[i] for i in range(step * cfg.batch_size, (step + 1) * cfg.batch_size)]), device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                outputs = model(batch["image"])
            terms = loss_fn(outputs, batch["labels"], batch["height"])
            optimiser.zero_grad(set_to_none=True)
            terms["total"].backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            scheduler.step()
            done = step + 1
            loss = float(terms["total"].detach())
            record = {"step": done, "lr": optimiser.param_groups[0]["lr"]}
            record |= {f"train_{k}": float(v.detach()) for k, v in terms.items()}
            if val_data is not None and (done % cfg.val_every == 0 or done == cfg.steps):
                record["val_loss"] = _validate(model, val_data, loss_fn, cfg.batch_size, device)
                if record["val_loss"] < best:
                    best = record["val_loss"]
                    save_checkpoint(best_path, cfg, model, optimiser, scheduler, done, best)
            if done % cfg.checkpoint_every == 0 or done == cfg.steps:
                save_checkpoint(last, cfg, model, optimiser, scheduler, done, best)
            log.write(json.dumps(record) + "\n")
            log.flush()
            history.append(record)
            report("train", done / cfg.steps, f"step {done}/{cfg.steps} loss {loss:.4f}")
    return TrainResult(
        steps=cfg.steps,
        train_loss=loss,
        best_val_loss=best if val_data is not None else math.nan,
        last_checkpoint=last,
        best_checkpoint=best_path if best_path.is_file() else None,
        history=history,
    )


def _initial_model(cfg: TrainConfig) -> nn.Module:
    """Random weights, or those of ``cfg.init_weights`` (which must be built like ``cfg.model``)."""
    if cfg.init_weights is None:
        return cfg.model.build()
    from reconstruction.prediction.weights import load_weights

    model, info = load_weights(cfg.init_weights)
    if info.model != cfg.model:
        raise ConfigError(f"init_weights {cfg.init_weights!r} hold model {info.model}, not {cfg.model}")
    return model.train()


def _cosine(step: int, steps: int) -> float:
    """Learning-rate factor: cosine from 1 to 0.01 over ``steps``."""
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def _validate(
    model: nn.Module, data: TileDataset, loss_fn: MultiTaskLoss, batch_size: int, device: torch.device
) -> float:
    """Mean total loss over the fixed validation crops, in eval mode (training mode restored)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for lo in range(0, len(data), batch_size):
        batch = _to(collate([data[i] for i in range(lo, min(lo + batch_size, len(data)))]), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            outputs = model(batch["image"])
        n = batch["image"].shape[0]
        total += float(loss_fn(outputs, batch["labels"], batch["height"])["total"]) * n
        count += n
    model.train(was_training)
    return total / count


def _truncate_log(path: Path, step: int) -> None:
    """Drop log records after ``step`` (written after the checkpoint a resumed run starts from)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))
