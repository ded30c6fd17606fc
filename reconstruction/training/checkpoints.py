"""Checkpoints: atomic writes, format checks, resuming a run, and loading a trained network.

A checkpoint is a ``torch.save`` dict: ``format``, ``model_config`` (a :class:`ModelConfig` as a
dict), ``resolution_m``, ``seed`` (the run's: its crops are drawn from it), ``model``, ``optimiser``,
``scheduler``, ``step``, ``best_val_loss`` and the RNG states.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reconstruction.errors import ConfigError, InputError
from reconstruction.models import ModelConfig
from reconstruction.training.config import TrainConfig

CHECKPOINT_FORMAT = 1


def save_checkpoint(
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
        "format": CHECKPOINT_FORMAT,
        "model_config": asdict(cfg.model),
        "resolution_m": cfg.data.resolution,  # the grid it learnt on: what export_weights records as gsd_m
        "seed": cfg.seed,
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


def read_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint dict (tensors only: ``weights_only``), checking its format.

    Raises:
        InputError: the file is unreadable or not an rs3d training checkpoint.
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError) as err:
        raise InputError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not an rs3d training checkpoint (format {CHECKPOINT_FORMAT})")
    return state


def restore_checkpoint(
    path: Path,
    cfg: TrainConfig,
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
) -> tuple[int, float]:
    """Load a checkpoint into the run's objects; return ``(step, best_val_loss)``."""
    state = read_checkpoint(path, device)
    if state["model_config"] != asdict(cfg.model):
        raise ConfigError(
            f"{path} was trained with model {state['model_config']}, not {asdict(cfg.model)}; "
            "use another run_dir or drop --resume"
        )
    if state.get("seed", cfg.seed) != cfg.seed:  # checkpoints before the seed was recorded: trusted as before
        raise ConfigError(
            f"{path} was trained with seed {state['seed']}, not {cfg.seed}: a resumed run must draw the same crops; "
            "use another run_dir or the same seed"
        )
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_cpu"].cpu())
    if state["rng_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
    return int(state["step"]), float(state["best_val_loss"])


def load_checkpoint(path: Path, device: str | None = None) -> nn.Module:
    """Rebuild the network saved in a checkpoint, in eval mode.

    Args:
        path: a ``last.pt`` or ``best.pt`` written by :func:`train`.
        device: where to put the network; default CPU.

    Raises:
        InputError: the file is missing or not a training checkpoint.
    """
    state = read_checkpoint(Path(path), "cpu")
    model = ModelConfig(**state["model_config"]).build()
    model.load_state_dict(state["model"])
    return model.to(device or "cpu").eval()
