"""Training loop for CityNet: config, data loading, AdamW + cosine steps, checkpoints, resume and evaluation.

A run lives in ``TrainConfig.run_dir``: ``last.pt`` (model, optimiser, scheduler, step, RNG
states; written every ``checkpoint_every`` steps and at the end), ``best.pt`` (lowest validation
loss) and ``log.jsonl`` (one JSON record per step). Training batch ``s`` is made of crops
``s * batch_size ... (s + 1) * batch_size - 1`` of a seeded :class:`TileDataset`, so a resumed
run sees exactly the batches an uninterrupted one would, and on the CPU ends with identical weights.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from reconstruction.errors import ConfigError, InputError
from reconstruction.models import ModelConfig
from reconstruction.progress import ProgressCallback, silent
from reconstruction.training.dataset import TileDataset, collate
from reconstruction.training.losses import MultiTaskLoss
from reconstruction.training.samples import IGNORE, Sample, samples_from_lidar, samples_from_scene, split_blocks

_CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class DataConfig:
    """Where training and validation samples come from; regions never overlap between the two.

    Attributes:
        train_scenes: seeds of synthetic training scenes.
        val_scenes: seeds of synthetic validation scenes (must differ from ``train_scenes``).
        scene_size_m: side of each synthetic scene, metres.
        train_lidar: classified LAS/LAZ files used whole for training.
        val_lidar: classified LAS/LAZ files used whole for validation.
        block_lidar: files split into a western training block and an eastern validation block.
        block_val_fraction: share of each ``block_lidar`` file's columns given to validation.
        block_gap: columns dropped between the two blocks.
        resolution: cell size of every sample, metres.
    """

    train_scenes: tuple[int, ...] = (1, 2, 3)
    val_scenes: tuple[int, ...] = (100,)
    scene_size_m: float = 100.0
    train_lidar: tuple[Path, ...] = ()
    val_lidar: tuple[Path, ...] = ()
    block_lidar: tuple[Path, ...] = ()
    block_val_fraction: float = 0.25
    block_gap: int = 16
    resolution: float = 0.5

    def __post_init__(self) -> None:
        """Normalise lists to tuples and check ranges.

        Raises:
            ConfigError: overlapping scene seeds or files, or a value out of range.
        """
        for name in ("train_scenes", "val_scenes"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        for name in ("train_lidar", "val_lidar", "block_lidar"):
            object.__setattr__(self, name, tuple(Path(v) for v in getattr(self, name)))
        if set(self.train_scenes) & set(self.val_scenes):
            raise ConfigError(
                f"data.train_scenes and data.val_scenes share seeds {set(self.train_scenes) & set(self.val_scenes)}"
            )
        if set(self.train_lidar) & set(self.val_lidar):
            raise ConfigError("data.train_lidar and data.val_lidar share files; validation must be held out")
        if not self.train_scenes and not self.train_lidar and not self.block_lidar:
            raise ConfigError("data has no training source: set train_scenes, train_lidar or block_lidar")
        if not 10.0 < self.scene_size_m <= 2000.0:
            raise ConfigError(f"data.scene_size_m must be in (10, 2000] metres, got {self.scene_size_m}")
        if not 0.05 <= self.resolution <= 5.0:
            raise ConfigError(f"data.resolution must be 0.05..5 metres, got {self.resolution}")
        if not 0 < self.block_val_fraction < 1 or self.block_gap < 0:
            raise ConfigError("data.block_val_fraction must be in (0, 1) and data.block_gap >= 0")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the loss terms (see :class:`MultiTaskLoss`); 0 switches a term off."""

    ce: float = 1.0
    dice: float = 1.0
    nll: float = 0.1
    l1: float = 0.1

    def __post_init__(self) -> None:
        """Check the weights.

        Raises:
            ConfigError: a negative weight, or all weights zero.
        """
        values = asdict(self).values()
        if any(v < 0 for v in values) or not any(v > 0 for v in values):
            raise ConfigError(f"loss weights must be >= 0 and not all zero, got {asdict(self)}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs.

    Attributes:
        model: network to train.
        data: training and validation sources.
        loss: loss weights.
        tile: crop side in pixels, a multiple of ``2 ** model.depth``.
        batch_size: crops per step.
        steps: optimiser steps in the whole run.
        lr: peak learning rate of AdamW; it decays to 1 % along a cosine over ``steps``.
        weight_decay: AdamW weight decay.
        seed: seed of the weights, crops and augmentation.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        num_threads: CPU threads for torch; 0 leaves torch's default.
        run_dir: folder for checkpoints and the log (relative paths are relative to the working directory).
        checkpoint_every: steps between ``last.pt`` checkpoints.
        val_every: steps between validation passes.
        val_crops: fixed validation crops (no augmentation) per pass.
        resume: continue from ``run_dir/last.pt`` when it exists.
    """

    model: ModelConfig = field(default_factory=lambda: ModelConfig(width=16, depth=3))
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    tile: int = 64
    batch_size: int = 4
    steps: int = 200
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_threads: int = 0
    run_dir: Path = Path("var/runs/train")
    checkpoint_every: int = 50
    val_every: int = 50
    val_crops: int = 16
    resume: bool = False

    def __post_init__(self) -> None:
        """Check every field.

        Raises:
            ConfigError: a value out of range; the message names the field.
        """
        object.__setattr__(self, "run_dir", Path(self.run_dir))
        m = 2**self.model.depth
        if self.tile < m or self.tile % m:
            raise ConfigError(f"tile must be a positive multiple of 2**model.depth = {m}, got {self.tile}")
        for name in ("batch_size", "steps", "checkpoint_every", "val_every", "val_crops"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError(f"lr must be > 0 and weight_decay >= 0, got {self.lr} and {self.weight_decay}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if self.num_threads < 0 or self.seed < 0:
            raise ConfigError("num_threads and seed must be >= 0")


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


def load_train_config(path: Path) -> TrainConfig:
    """Read a TOML file with top-level keys of :class:`TrainConfig` and ``[model]``, ``[data]``, ``[loss]`` tables.

    LiDAR paths in ``[data]`` are relative to the config file's folder.

    Raises:
        ConfigError: unreadable file, unknown key, or a value out of range.
    """
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read training config '{path}': {err}") from err
    data = raw.get("data")
    if isinstance(data, dict):
        base = Path(path).parent
        for key in ("train_lidar", "val_lidar", "block_lidar"):
            if key in data:
                data[key] = tuple(base / p for p in data[key])
    return _build(TrainConfig, raw, "")


def _build(cls: type, data: dict[str, Any], where: str) -> Any:  # noqa: ANN401 - an instance of cls
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)} in [{where or 'top level'}] of the training config")
    defaults = cls()
    kwargs = {
        k: _build(type(getattr(defaults, k)), v, k) if is_dataclass(getattr(defaults, k)) and isinstance(v, dict) else v
        for k, v in data.items()
    }
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"bad value in [{where or 'top level'}] of the training config: {err}") from err


def load_data(cfg: DataConfig) -> tuple[list[Sample], list[Sample]]:
    """Build the training and validation samples a :class:`DataConfig` names.

    Returns:
        ``(train, val)`` samples; no region appears in both.

    Raises:
        InputError: a LiDAR file is unreadable or unclassified.
    """
    from reconstruction.synthetic import SceneConfig, generate_scene

    def scenes(seeds: tuple[int, ...]) -> list[Sample]:
        out: list[Sample] = []
        for seed in seeds:
            scene_cfg = SceneConfig(
                size_m=cfg.scene_size_m, gsd_m=cfg.resolution, ortho_gsd_m=cfg.resolution / 2, seed=seed
            )
            out += samples_from_scene(generate_scene(scene_cfg))
        return out

    train, val = scenes(cfg.train_scenes), scenes(cfg.val_scenes)
    for path in cfg.train_lidar:
        train += samples_from_lidar(path, cfg.resolution)
    for path in cfg.val_lidar:
        val += samples_from_lidar(path, cfg.resolution)
    for path in cfg.block_lidar:
        for sample in samples_from_lidar(path, cfg.resolution):
            west, east = split_blocks(sample, cfg.block_val_fraction, cfg.block_gap)
            train.append(west)
            val.append(east)
    return train, val


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
    model = cfg.model.build().to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _cosine(s, cfg.steps))
    loss_fn = MultiTaskLoss(**asdict(cfg.loss), ignore_index=IGNORE)
    data = TileDataset(train_samples, cfg.tile, cfg.steps * cfg.batch_size, seed=cfg.seed)
    val_data = TileDataset(val_samples, cfg.tile, cfg.val_crops, cfg.seed + 1, augment=False) if val_samples else None

    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    last, best_path, log_path = cfg.run_dir / "last.pt", cfg.run_dir / "best.pt", cfg.run_dir / "log.jsonl"
    start, best = 0, math.inf
    if cfg.resume and last.is_file():
        start, best = _restore(last, cfg, model, optimiser, scheduler, device)
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
                    _save(best_path, cfg, model, optimiser, scheduler, done, best)
            if done % cfg.checkpoint_every == 0 or done == cfg.steps:
                _save(last, cfg, model, optimiser, scheduler, done, best)
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


def _save(
    path: Path,
    cfg: TrainConfig,
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    best: float,
) -> None:
    """Write a checkpoint atomically (temporary file, then rename)."""
    state = {
        "format": _CHECKPOINT_FORMAT,
        "model_config": asdict(cfg.model),
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "best_val_loss": best,
        "rng_cpu": torch.get_rng_state(),
        "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _read(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError) as err:
        raise InputError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not an rs3d training checkpoint (format {_CHECKPOINT_FORMAT})")
    return state


def _restore(
    path: Path,
    cfg: TrainConfig,
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
) -> tuple[int, float]:
    """Load a checkpoint into the run's objects; return ``(step, best_val_loss)``."""
    state = _read(path, device)
    if state["model_config"] != asdict(cfg.model):
        raise ConfigError(
            f"{path} was trained with model {state['model_config']}, not {asdict(cfg.model)}; "
            "use another run_dir or drop --resume"
        )
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_cpu"].cpu())
    if state["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
    return int(state["step"]), float(state["best_val_loss"])


def _truncate_log(path: Path, step: int) -> None:
    """Drop log records after ``step`` (written after the checkpoint a resumed run starts from)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))


def load_checkpoint(path: Path, device: str | None = None) -> nn.Module:
    """Rebuild the network saved in a checkpoint, in eval mode.

    Args:
        path: a ``last.pt`` or ``best.pt`` written by :func:`train`.
        device: where to put the network; default CPU.

    Raises:
        InputError: the file is missing or not a training checkpoint.
    """
    state = _read(Path(path), "cpu")
    model = ModelConfig(**state["model_config"]).build()
    model.load_state_dict(state["model"])
    return model.to(device or "cpu").eval()


def evaluate(model: nn.Module, samples: list[Sample], tile: int = 256, device: str | None = None) -> dict[str, Any]:
    """Score a network on held-out samples, predicting each whole sample with tiled inference.

    Args:
        model: a network returning ``{"logits", "height", "height_logvar"}``.
        samples: held-out samples (labels 255 and NaN heights are left out of the scores).
        tile: inference window in pixels.
        device: see :func:`reconstruction.training.tiling.predict_tiled`.

    Returns:
        ``"iou"``: ``{class name: IoU or None when the class is absent from labels and predictions}``,
        ``"miou"`` (mean over the classes that have an IoU), ``"overall_accuracy"``,
        ``"height_mae_m"``, ``"height_rmse_m"`` (metres, over known heights), ``"labelled_pixels"``,
        ``"height_pixels"``, ``"regions"``.
    """
    from reconstruction.models import CLASSES
    from reconstruction.training.tiling import predict_tiled

    confusion: np.ndarray | None = None
    abs_err, sq_err, n_height = 0.0, 0.0, 0
    for sample in samples:
        pred = predict_tiled(model, sample.image, tile=tile, overlap=min(64, tile // 4), device=device)
        k = pred["probabilities"].shape[0]
        if confusion is None:
            confusion = np.zeros((k, k), dtype=np.int64)
        classes = pred["probabilities"].argmax(axis=0)
        valid = sample.labels != IGNORE
        confusion += np.bincount(sample.labels[valid] * k + classes[valid], minlength=k * k).reshape(k, k)
        known = np.isfinite(sample.height)
        err = pred["height"][known].astype(np.float64) - sample.height[known]
        abs_err, sq_err, n_height = abs_err + np.abs(err).sum(), sq_err + (err**2).sum(), n_height + err.size
    if confusion is None:
        raise InputError("evaluate needs at least one sample")
    names = [c.name for c in CLASSES] if confusion.shape[0] == len(CLASSES) else [str(i) for i in range(len(confusion))]
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - tp
    iou = {name: (float(tp[i] / union[i]) if union[i] else None) for i, name in enumerate(names)}
    present = [v for v in iou.values() if v is not None]
    labelled = int(confusion.sum())
    return {
        "iou": iou,
        "miou": float(np.mean(present)) if present else None,
        "overall_accuracy": float(tp.sum() / labelled) if labelled else None,
        "height_mae_m": float(abs_err / n_height) if n_height else None,
        "height_rmse_m": float(math.sqrt(sq_err / n_height)) if n_height else None,
        "labelled_pixels": labelled,
        "height_pixels": n_height,
        "regions": [s.region for s in samples],
    }


__all__ = [
    "DataConfig",
    "LossConfig",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "load_checkpoint",
    "load_data",
    "load_train_config",
    "resolve_device",
    "train",
]
