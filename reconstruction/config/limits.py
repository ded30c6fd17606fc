"""Sizes beyond which inputs are refused, each settable from the environment."""

import os
from dataclasses import dataclass, field

from reconstruction.errors import ConfigError


def _env_limit(name: str, default: int) -> int:
    """A size limit from the environment variable ``name`` (digits, ``_`` allowed), else ``default``.

    Raises:
        ConfigError: the variable is set but is not a positive whole number.
    """
    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError(f"{name}={os.environ[name]!r}: give a positive whole number.")
    return int(text)


@dataclass(frozen=True)
class Limits:
    """Sizes beyond which inputs are refused, so that no upload costs more than a deployment allows.

    Each default can be changed for every process (the web app's checks, workers, the CLI) with the
    environment variable named in :data:`LIMIT_SETTINGS`; messages that refuse an input name it.

    Attributes:
        max_raster_pixels: pixels per band of any input raster.
        max_raster_bytes: bytes any input raster unpacks to (width x height x bands x sample size): a
            few kB of DEFLATE can claim gigabytes.
        max_grid_pixels: cells of the working grid (area / resolution^2) one job may process.
        max_lidar_points: points in one LAS/LAZ file.
    """

    max_raster_pixels: int = field(default_factory=lambda: _env_limit("RS3D_MAX_RASTER_PIXELS", 1_600_000_000))
    max_raster_bytes: int = field(default_factory=lambda: _env_limit("RS3D_MAX_RASTER_BYTES", 8 * 1024**3))
    max_grid_pixels: int = field(default_factory=lambda: _env_limit("RS3D_MAX_AREA_CELLS", 100_000_000))
    max_lidar_points: int = field(default_factory=lambda: _env_limit("RS3D_MAX_LIDAR_POINTS", 300_000_000))


#: The environment variable that sets each of :class:`Limits`' fields.
LIMIT_SETTINGS = {
    "max_raster_pixels": "RS3D_MAX_RASTER_PIXELS",
    "max_raster_bytes": "RS3D_MAX_RASTER_BYTES",
    "max_grid_pixels": "RS3D_MAX_AREA_CELLS",
    "max_lidar_points": "RS3D_MAX_LIDAR_POINTS",
}
