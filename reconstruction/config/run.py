"""A run's files (:class:`PipelineInputs`) and loading its options (:class:`PipelineConfig`) from TOML."""

import tomllib
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from reconstruction.config.stages import PipelineConfig
from reconstruction.errors import ConfigError


@dataclass(frozen=True)
class PipelineInputs:
    """The files of one area.

    Attributes:
        ortho: orthophoto GeoTIFF (RGB or RGB+NIR).
        dsm: optional DSM GeoTIFF (metres).
        lidar: optional LAS/LAZ point cloud.
        epsg: EPSG code for inputs that carry no CRS.
        footprints: optional building footprints (GeoPackage, GeoJSON, ...) that guide buildings.
        second_image: optional second image of the area (another date, sensor or band set, e.g. a
            false-colour infrared image), registered to the orthophoto before anything else and kept as
            ``rasters/second_image_registered.tif``.
        register_dsm: register the DSM to a DSM rasterised from the LiDAR before it is used; needs ``dsm``
            and ``lidar`` (a DSM does not register reliably against an image: too few common features).
        stereo: 2 or 3 satellite images with RPC camera models; their stereo DSM (and, without
            ``ortho``, their orthoimage) feeds the run. Not together with ``dsm``.
    """

    ortho: Path | None = None
    dsm: Path | None = None
    lidar: Path | None = None
    epsg: int | None = None
    footprints: Path | None = None
    second_image: Path | None = None
    register_dsm: bool = False
    stereo: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        """Refuse combinations that cannot make an area, saying what to give instead."""
        if self.ortho is None and not self.stereo:
            raise ConfigError("An area needs an orthophoto, or a stereo pair of images to compute one from.")
        if self.stereo and len(self.stereo) not in (2, 3):
            raise ConfigError(f"A stereo reconstruction needs 2 or 3 images; {len(self.stereo)} were given.")
        if self.stereo and self.dsm is not None:
            raise ConfigError("Give a DSM or a stereo pair, not both: the stereo pair is turned into the DSM.")
        if self.register_dsm and (self.dsm is None or self.lidar is None):
            raise ConfigError(
                "register_dsm needs a DSM and a LiDAR point cloud: the DSM is aligned to the LiDAR's surface. "
                "A DSM cannot be aligned to an image alone."
            )

    @property
    def reference(self) -> Path:
        """The orthophoto every other source is aligned to (set once a stereo stage has made one)."""
        if self.ortho is None:
            raise ConfigError("No orthophoto yet: the stereo stage makes it from the stereo pair first.")
        return self.ortho


def load_config(path: Path) -> PipelineConfig:
    """Read a TOML file whose tables mirror :class:`PipelineConfig` (``[ground]``, ``[rules]``, ...).

    Raises:
        ConfigError: unreadable file, unknown key, or a value out of range.
    """
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"Cannot read config file '{path}': {err}") from err
    return build_dataclass(PipelineConfig, data)


def build_dataclass(cls: type, data: dict[str, Any], where: str = "") -> Any:  # noqa: ANN401 - an instance of cls
    """Build a (nested) config dataclass from parsed TOML; tables become nested dataclasses.

    Raises:
        ConfigError: an unknown key or a bad value; the message names the table.
    """
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"Unknown config key(s) {sorted(unknown)} in [{where or 'top level'}]")
    defaults = cls()
    kwargs = {
        name: build_dataclass(type(getattr(defaults, name)), value, name)
        if is_dataclass(getattr(defaults, name)) and isinstance(value, dict)
        else value
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"Bad config in [{where or 'top level'}]: {err}") from err
