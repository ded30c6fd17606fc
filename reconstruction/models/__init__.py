"""Networks (``nn.Module`` only): no file access, no training loops, no tiling.

- :class:`CityNet` -- multi-task U-Net: land-cover logits, height above ground, height log-variance.
- :data:`CLASSES`, :class:`LandCoverClass` -- CityNet's output classes with their ASPRS codes.
- :class:`ResidualBlock`, :class:`AttentionGate`, :class:`MultiScaleResidualFusion` -- building blocks.
- :func:`get_model`, :func:`list_models`, :data:`MODELS` -- networks by name.
- :class:`ModelConfig` -- which network to build and its size.

Names are loaded on first access: ``ModelConfig``, ``get_model`` and ``list_models`` do not import
torch until a network is built; the rest do.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconstruction.models.blocks import AttentionGate, MultiScaleResidualFusion, ResidualBlock
    from reconstruction.models.multitask import CLASSES, CityNet, LandCoverClass
    from reconstruction.models.registry import MODELS, ModelConfig, get_model, list_models

_WHERE = {
    "AttentionGate": "blocks",
    "MultiScaleResidualFusion": "blocks",
    "ResidualBlock": "blocks",
    "CLASSES": "multitask",
    "CityNet": "multitask",
    "LandCoverClass": "multitask",
    "MODELS": "registry",
    "ModelConfig": "registry",
    "get_model": "registry",
    "list_models": "registry",
}

__all__ = [
    "CLASSES",
    "MODELS",
    "AttentionGate",
    "CityNet",
    "LandCoverClass",
    "ModelConfig",
    "MultiScaleResidualFusion",
    "ResidualBlock",
    "get_model",
    "list_models",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use."""
    if name in _WHERE:
        return getattr(import_module(f"reconstruction.models.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'reconstruction.models' has no attribute {name!r}")
