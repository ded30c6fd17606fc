"""A run's files (:class:`PipelineInputs`) and loading its options (:class:`PipelineConfig`) from TOML."""

import os
import tomllib
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from reconstruction.config.stages import PipelineConfig
from reconstruction.errors import ConfigError, InputError

#: The height units a user can name for files that state none, or state a wrong one (``--z-unit``), as PROJ
#: spells them: metres, international feet (0.3048 m), US survey feet (1200/3937 m).
Z_UNITS = ("m", "ft", "us-ft")


@dataclass(frozen=True)
class PipelineInputs:
    """The files of one area.

    Attributes:
        ortho: orthophoto (RGB or RGB+NIR): one file, or the tiles a programme ships (read together; they
            may leave gaps, and may be in different CRSs). Empty with ``lidar`` alone (the run makes the
            orthophoto from the points' colours) or with ``stereo`` (the stereo stage makes it). A single path
            is taken as a one-file tuple, None as no file.
        dsm: optional DSM (heights in the unit its CRS states): one file or its tiles, as ``ortho``.
        lidar: LAS/LAZ point clouds of the area: one file, or the tiles a national programme ships (read
            together; they may leave gaps). A single path is taken as a one-file tuple.
        epsg: EPSG code for inputs that carry no CRS.
        footprints: optional building footprints (GeoPackage, GeoJSON, ...) that guide buildings.
        second_image: optional second image of the area (another date, sensor or band set, e.g. a
            false-colour infrared image), registered to the orthophoto before anything else and kept as
            ``rasters/second_image_registered.tif``.
        register_dsm: register the DSM to a DSM rasterised from the LiDAR before it is used; needs ``dsm``
            and ``lidar`` (a DSM does not register reliably against an image: too few common features).
        stereo: 2 or 3 satellite images with RPC camera models; their stereo DSM (and, without
            ``ortho``, their orthoimage) feeds the run. Not together with ``dsm``.
        z_unit: the unit of the heights in the LiDAR and DSM files (one of :data:`Z_UNITS`), for files that
            state none or a wrong one; None reads it from each file's CRS. Heights are converted to metres.
    """

    ortho: tuple[Path, ...] = ()
    dsm: tuple[Path, ...] = ()
    lidar: tuple[Path, ...] = ()
    epsg: int | None = None
    footprints: Path | None = None
    second_image: Path | None = None
    register_dsm: bool = False
    stereo: tuple[Path, ...] = ()
    z_unit: str | None = None

    def __post_init__(self) -> None:
        """Refuse combinations that cannot make an area, saying what to give instead."""
        for name in ("ortho", "dsm", "lidar"):
            value: Any = getattr(self, name)  # a lone path (or None) from a caller with one file
            if not isinstance(value, tuple):
                object.__setattr__(self, name, () if value is None else (Path(value),))
        if not self.has_image and not self.lidar:
            raise ConfigError(
                "An area needs an orthophoto, a LiDAR point cloud (its colours make the orthophoto), or a stereo "
                "pair of images to compute one from."
            )
        if self.second_image is not None and not self.has_image:
            raise ConfigError(
                "A second image is registered to the orthophoto: give the orthophoto (or a stereo pair) too."
            )
        if self.stereo and len(self.stereo) not in (2, 3):
            raise ConfigError(f"A stereo reconstruction needs 2 or 3 images; {len(self.stereo)} were given.")
        if self.stereo and self.dsm:
            raise ConfigError("Give a DSM or a stereo pair, not both: the stereo pair is turned into the DSM.")
        if self.register_dsm and (not self.dsm or not self.lidar):
            raise ConfigError(
                "register_dsm needs a DSM and a LiDAR point cloud: the DSM is aligned to the LiDAR's surface. "
                "A DSM cannot be aligned to an image alone."
            )
        if self.z_unit is not None and self.z_unit not in Z_UNITS:
            raise ConfigError(
                f"'{self.z_unit}' is not a height unit rs3d knows; give one of {', '.join(Z_UNITS)} "
                "(metres, international feet, US survey feet)."
            )

    @property
    def has_image(self) -> bool:
        """Whether an image is given (an orthophoto, or a stereo pair to make one); without, LiDAR makes it."""
        return bool(self.ortho) or bool(self.stereo)

    @property
    def reference(self) -> tuple[Path, ...]:
        """The orthophoto (its files) every other source is aligned to (set once a stereo stage has made one)."""
        if not self.ortho:
            raise ConfigError("No orthophoto yet: the stereo stage makes it from the stereo pair first.")
        return self.ortho

    def to_argv(self) -> list[str]:
        """The command-line options that hand these inputs to ``run``, ``check`` or ``plan``.

        :func:`reconstruction.cli.inputs.inputs_from` parses them back into an equal object: the web app's
        runner and the CLI share this one spelling.
        """
        argv: list[str] = []
        for name, option in FILE_OPTIONS:
            if (value := getattr(self, name)) is not None:
                argv += [option, str(value)]
        if self.epsg is not None:
            argv += ["--epsg", str(self.epsg)]
        if self.register_dsm:
            argv.append("--register-dsm")
        for name, option in SEVERAL_FILE_OPTIONS:
            if paths := getattr(self, name):
                argv += [option, *map(str, paths)]
        if self.z_unit is not None:
            argv += ["--z-unit", self.z_unit]
        return argv

    def to_dict(self, base: Path) -> dict[str, Any]:
        """Plain JSON (a chip plan's ``inputs``): every path relative to ``base``, so a plan can move."""

        def relative(path: Path) -> str:
            return os.path.relpath(Path(path).resolve(), base.resolve())

        files = {name: getattr(self, name) for name, _ in FILE_OPTIONS}
        data: dict[str, Any] = {name: None if path is None else relative(path) for name, path in files.items()}
        data |= {"epsg": self.epsg, "register_dsm": self.register_dsm, "z_unit": self.z_unit}
        return data | {name: [relative(p) for p in getattr(self, name)] for name, _ in SEVERAL_FILE_OPTIONS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Path) -> "PipelineInputs":
        """The inputs :meth:`to_dict` wrote relative to ``base``.

        Raises:
            InputError: a named file no longer exists.
            KeyError, TypeError, ValueError: ``data`` is not what :meth:`to_dict` writes.
        """

        def existing(value: str) -> Path:
            path = Path(os.path.normpath(base / value))  # an absolute value stays as it is
            if not path.is_file():
                raise InputError(f"The saved inputs name {path}, which no longer exists; plan the area again.")
            return path

        def several(value: str | list[str] | None) -> tuple[Path, ...]:
            values = [] if value is None else [value] if isinstance(value, str) else value  # plans of one file
            return tuple(existing(v) for v in values)

        files: dict[str, Any] = {n: None if data.get(n) is None else existing(data[n]) for n, _ in FILE_OPTIONS}
        files |= {name: several(data.get(name)) for name, _ in SEVERAL_FILE_OPTIONS}
        epsg = None if data.get("epsg") is None else int(data["epsg"])
        register_dsm, z_unit = bool(data.get("register_dsm", False)), data.get("z_unit")
        return cls(**files, epsg=epsg, register_dsm=register_dsm, z_unit=z_unit)


#: Each one-file field of :class:`PipelineInputs` and its command-line option.
FILE_OPTIONS = (
    ("footprints", "--footprints"),
    ("second_image", "--second-image"),
)
#: Each field of :class:`PipelineInputs` that holds several files, and its option (followed by the paths).
SEVERAL_FILE_OPTIONS = (("ortho", "--ortho"), ("dsm", "--dsm"), ("lidar", "--lidar"), ("stereo", "--stereo"))


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
