"""Network names mapped to constructors, and the model config; importing this module does not load torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from reconstruction.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

#: Names accepted by :func:`get_model` and :class:`ModelConfig`.
ModelName = Literal["citynet"]


def _citynet(**kwargs: Any) -> nn.Module:
    """Build :class:`~reconstruction.models.multitask.CityNet` (torch is imported here, on first use)."""
    from reconstruction.models.multitask import CityNet

    return CityNet(**kwargs)


#: Constructors by name; each takes the network's keyword arguments and returns a new ``nn.Module``.
MODELS: dict[str, Callable[..., nn.Module]] = {"citynet": _citynet}


def list_models() -> list[str]:
    """Names of the registered networks, sorted."""
    return sorted(MODELS)


def get_model(name: ModelName, **kwargs: Any) -> nn.Module:
    """Build a registered network with random weights.

    Args:
        name: a name from :func:`list_models`.
        **kwargs: the network's constructor arguments (for ``"citynet"``: ``in_channels``,
            ``n_classes``, ``width``, ``depth``).

    Returns:
        The new module, in training mode, on the CPU.

    Raises:
        ConfigError: the name is unknown, or an argument is out of range.
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    try:
        return MODELS[name](**kwargs)
    except TypeError as err:
        raise ConfigError(f"model {name!r} got an unknown or missing argument: {err}") from err


@dataclass(frozen=True)
class ModelConfig:
    """Which network to build and its size.

    Attributes:
        name: registered network name (see :func:`list_models`).
        in_channels: input bands: 3 (R, G, B), 4 (R, G, B, NIR) or 5 (R, G, B, NIR and a flag that is
            1 where the orthophoto has a NIR band, 0 where it has not and NIR is 0: one network for
            both kinds of orthophoto; see ``reconstruction.training.bands``).
        n_classes: land-cover classes predicted (6 matches ``multitask.CLASSES``).
        width: channels at full resolution, a multiple of 4 between 4 and 256.
        depth: number of stride-2 stages, 1 to 6; input sides must be multiples of ``2**depth``.
        skips: ``"attention"`` (CityNet), ``"concat"`` (plain U-Net skips) or ``"none"`` (encoder-decoder
            without skips); the last two are the ablation baselines.
    """

    name: ModelName = "citynet"
    in_channels: int = 3
    n_classes: int = 6
    width: int = 32
    depth: int = 4
    skips: Literal["attention", "concat", "none"] = "attention"

    def __post_init__(self) -> None:
        """Check every field.

        Raises:
            ConfigError: a field is out of range; the message names it and the valid values.
        """
        if self.name not in get_args(ModelName):
            raise ConfigError(f"model.name {self.name!r} is unknown; choose one of: {', '.join(list_models())}")
        if self.in_channels not in (3, 4, 5):
            raise ConfigError(
                f"model.in_channels must be 3 (RGB), 4 (RGB + NIR) or 5 (RGB + NIR + NIR flag), got {self.in_channels}"
            )
        if self.n_classes < 2:
            raise ConfigError(f"model.n_classes must be at least 2, got {self.n_classes}")
        if not 4 <= self.width <= 256 or self.width % 4:
            raise ConfigError(f"model.width must be a multiple of 4 between 4 and 256, got {self.width}")
        if not 1 <= self.depth <= 6:
            raise ConfigError(f"model.depth must be between 1 and 6, got {self.depth}")
        if self.skips not in ("attention", "concat", "none"):
            raise ConfigError(f"model.skips must be 'attention', 'concat' or 'none', got {self.skips!r}")

    def build(self) -> nn.Module:
        """Build the configured network with random weights (see :func:`get_model`)."""
        return get_model(
            self.name,
            in_channels=self.in_channels,
            n_classes=self.n_classes,
            width=self.width,
            depth=self.depth,
            skips=self.skips,
        )
