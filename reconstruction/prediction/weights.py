"""Shipped and fine-tuned network weights: export a training checkpoint small, load it by name or path.

A weights file is a ``torch.save`` dict, smaller than a training checkpoint: no optimiser state,
parameters in float16 (half the bytes; the loss of precision changes predictions by far less than
their error), plus what a user must know to trust it: ``name``, ``version``, the model config, the
ground sampling distance it was trained at, its classes, and a ``card`` (data, split, hardware,
training time, metrics) that :mod:`reconstruction.cli` prints and docs/models.md quotes.

Shipped weights live in ``reconstruction/prediction/weights/<name>.pt``; ``load_weights("citynet-v1")``
finds them there, and any other argument is read as a path (a fine-tuned model of an area).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reconstruction.errors import InputError
from reconstruction.models import CLASSES, ModelConfig

#: Folder of the weights that ship with rs3d.
WEIGHTS_DIR = Path(__file__).with_name("weights")

#: The model an orthophoto-only area uses unless the user picks another.
DEFAULT_MODEL = "citynet-v1"

_FORMAT = "rs3d-weights-1"


@dataclass(frozen=True)
class WeightsInfo:
    """What a weights file says about itself.

    Attributes:
        name: model name, e.g. ``"citynet-v1"``.
        version: version string; a fine-tuned model gets its own.
        model: the network's configuration.
        gsd_m: ground sampling distance of the training samples, metres; images are resampled to it.
        classes: names of the class channels, in order.
        card: free-form facts for the model card (data, split, hardware, time, metrics).
        trust: the :class:`reconstruction.prediction.trust.TrustCalibration` saved beside the weights
            (``<name>.trust.npz``), or None: the model's predictions are then shown ungated.
    """

    name: str
    version: str
    model: ModelConfig
    gsd_m: float
    classes: tuple[str, ...]
    card: dict[str, Any] = field(default_factory=dict)
    trust: Any = None

    @property
    def label(self) -> str:
        """``name`` and ``version`` for logs and manifests."""
        return f"{self.name} {self.version}"


def available_models() -> list[str]:
    """Names of the weights shipped with rs3d."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def export_weights(
    checkpoint: Path, out: Path, name: str, version: str, gsd_m: float, card: dict[str, Any] | None = None
) -> Path:
    """Write a training checkpoint's network as a small weights file (float16, no optimiser).

    Raises:
        InputError: the checkpoint is unreadable.
    """
    from reconstruction.training.checkpoints import read_checkpoint

    state = read_checkpoint(Path(checkpoint))
    payload = {
        "format": _FORMAT,
        "name": name,
        "version": version,
        "model_config": state["model_config"],
        "gsd_m": float(gsd_m),
        "classes": [c.name for c in CLASSES],
        "card": card or {},
        "state_dict": {k: (v.half() if v.is_floating_point() else v) for k, v in state["model"].items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, out)
    return out


def weights_from_checkpoint(checkpoint: Path) -> Path:
    """Export a training checkpoint beside itself (``<stem>.weights.pt``), named after its run folder.

    The grid is the one the checkpoint records (0.5 m, v1's, for checkpoints written before they recorded it).
    A weights file has no calibration yet, so a reconstruction with it runs ungated.

    Raises:
        InputError: ``checkpoint`` is not an rs3d training checkpoint.
    """
    from reconstruction.training.checkpoints import read_checkpoint

    state = read_checkpoint(Path(checkpoint))
    out = checkpoint.with_name(f"{checkpoint.stem}.weights.pt")
    name = checkpoint.resolve().parent.name
    return export_weights(checkpoint, out, name, f"step {state['step']}", float(state.get("resolution_m", 0.5)))


def load_weights(name_or_path: str | Path, device: str | None = None) -> tuple[nn.Module, WeightsInfo]:
    """Build the network of a weights file, in eval mode, float32.

    Args:
        name_or_path: a name from :func:`available_models`, or the path of a weights file.
        device: where to put the network; default CPU.

    Raises:
        InputError: no such model, or the file is not an rs3d weights file.
    """
    path = Path(name_or_path)
    if path.suffix != ".pt":
        path = WEIGHTS_DIR / f"{name_or_path}.pt"
        if not path.is_file():
            raise InputError(
                f"no model named {name_or_path!r}; shipped models: {', '.join(available_models()) or 'none'}"
            )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as err:
        raise InputError(f"cannot read model weights {path}: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise InputError(f"{path} is not an rs3d weights file ({_FORMAT}); export one with export_weights")
    config = ModelConfig(**payload["model_config"])
    model = config.build()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    info = WeightsInfo(
        name=payload["name"],
        version=payload["version"],
        model=config,
        gsd_m=float(payload["gsd_m"]),
        classes=tuple(payload["classes"]),
        card=dict(payload["card"]),
        trust=_trust(path),
    )
    return model.to(device or "cpu").eval(), info


def _trust(weights: Path) -> Any:
    """The trust calibration beside a weights file, or None."""
    from reconstruction.prediction.trust import TrustCalibration, calibration_path

    path = calibration_path(weights)
    if not path.is_file():
        return None
    try:
        return TrustCalibration.load(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"cannot read the trust calibration {path}: {err}") from err


def describe(info: WeightsInfo) -> dict[str, Any]:
    """A JSON-ready description (for manifests and the API)."""
    return {"name": info.name, "version": info.version, "gsd_m": info.gsd_m, "model": asdict(info.model)}
