"""Training configuration: data sources, loss weights and the run's settings, read from TOML.

:func:`load_train_config` reads a file such as ``reconstruction/training/configs/quick.toml``; every
field is checked when the dataclasses are built, and errors name the offending key.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from reconstruction.config import build_dataclass
from reconstruction.errors import ConfigError
from reconstruction.models import ModelConfig


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
        rotations: extra copies of each synthetic training scene turned by a random angle
            (5-85 degrees), so that streets and roofs are not all axis-aligned.
        rotation_seed: seed of those angles.
        nir: render generated towns with a near-infrared band (R, G, B, NIR).
        seasons: every generated town is rendered once per season listed (``"summer"``,
            ``"spring"``, ``"autumn"``, ``"winter"``): same layout, labels and heights, other colours,
            crowns and shadows.
        nir_dropout: for networks with a NIR-available flag (``model.in_channels = 5``), the share of
            training crops whose NIR band is dropped, so the model also learns RGB-only input.
        footprint_areas: ``(orthophoto, footprint file)`` pairs used for training: footprints label
            buildings, every other cell is ignored (see :mod:`reconstruction.training.footprints`).
        open_ground: generated towns also hold car parks with cars, plazas, sports grounds and bare-soil
            fields (``SceneConfig.open_ground``), training and validation towns alike.
        open_ground_uses: which of them (``SceneConfig.open_ground_uses``): ``"parking"``, ``"plaza"``, ``"field"``.
        big_trees: generated towns also hold large old trees and pine stands (``SceneConfig.big_trees``).
        water: generated towns also hold a river and lakes of turbid water (``SceneConfig.water``).
        real_regions: names of real regions (:data:`reconstruction.training.real_regions.REGIONS`: a true
            orthophoto with its LiDAR's heights and classes) used whole for training, as real anchors beside
            the generated towns; the regions not named stay held out.
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
    rotations: int = 0
    rotation_seed: int = 0
    nir: bool = False
    seasons: tuple[str, ...] = ("summer",)
    nir_dropout: float = 0.5
    footprint_areas: tuple[tuple[Path, Path], ...] = ()
    real_regions: tuple[str, ...] = ()
    open_ground: bool = False
    open_ground_uses: tuple[str, ...] = ("parking", "plaza", "field")
    big_trees: bool = False
    water: bool = False

    def __post_init__(self) -> None:
        """Normalise lists to tuples and check ranges.

        Raises:
            ConfigError: overlapping scene seeds or files, or a value out of range.
        """
        for name in ("train_scenes", "val_scenes"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        for name in ("train_lidar", "val_lidar", "block_lidar"):
            object.__setattr__(self, name, tuple(Path(v) for v in getattr(self, name)))
        object.__setattr__(self, "seasons", tuple(self.seasons))
        object.__setattr__(self, "real_regions", tuple(self.real_regions))
        from reconstruction.training.real_regions import REGIONS

        if unknown := set(self.real_regions) - set(REGIONS):
            raise ConfigError(f"data.real_regions: no region {sorted(unknown)}; known: {', '.join(REGIONS)}")
        if any(len(pair) != 2 for pair in self.footprint_areas):
            raise ConfigError("data.footprint_areas must list [orthophoto, footprint file] pairs")
        object.__setattr__(self, "footprint_areas", tuple((Path(o), Path(f)) for o, f in self.footprint_areas))
        from reconstruction.synthetic.config import SEASONS

        if not self.seasons or not set(self.seasons) <= set(SEASONS) or len(set(self.seasons)) != len(self.seasons):
            raise ConfigError(f"data.seasons must list distinct seasons from {SEASONS}, got {self.seasons}")
        object.__setattr__(self, "open_ground_uses", tuple(self.open_ground_uses))
        from reconstruction.synthetic.config import OPEN_USES

        if not self.open_ground_uses or not set(self.open_ground_uses) <= set(OPEN_USES):
            raise ConfigError(f"data.open_ground_uses must list uses from {OPEN_USES}, got {self.open_ground_uses}")
        if not isinstance(self.open_ground, bool):
            raise ConfigError(f"data.open_ground must be true or false, got {self.open_ground!r}")
        for name in ("big_trees", "water"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"data.{name} must be true or false, got {getattr(self, name)!r}")
        if not 0.0 <= self.nir_dropout <= 1.0:
            raise ConfigError(f"data.nir_dropout must be in 0..1, got {self.nir_dropout}")
        if set(self.train_scenes) & set(self.val_scenes):
            raise ConfigError(
                f"data.train_scenes and data.val_scenes share seeds {set(self.train_scenes) & set(self.val_scenes)}"
            )
        if set(self.train_lidar) & set(self.val_lidar):
            raise ConfigError("data.train_lidar and data.val_lidar share files; validation must be held out")
        sources = (self.train_scenes, self.train_lidar, self.block_lidar, self.footprint_areas, self.real_regions)
        if not any(sources):
            raise ConfigError("data has no training source: set train_scenes, train_lidar or block_lidar")
        if not 10.0 < self.scene_size_m <= 2000.0:
            raise ConfigError(f"data.scene_size_m must be in (10, 2000] metres, got {self.scene_size_m}")
        if not 0.05 <= self.resolution <= 5.0:
            raise ConfigError(f"data.resolution must be 0.05..5 metres, got {self.resolution}")
        if not 0 <= self.rotations <= 8:
            raise ConfigError(f"data.rotations must be 0..8, got {self.rotations}")
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
class AugmentConfig:
    """Imaging realism of training crops (:mod:`reconstruction.training.imaging`); every switch off by default.

    Each switched-on change is applied to a crop with probability ``probability``, after the flips,
    rotations and :func:`reconstruction.training.dataset.photometric_jitter`; labels and heights are untouched.

    Attributes:
        resample: show the crop as an orthophoto of a coarser ground sampling brought back to the
            training grid the way an upload is (:func:`reconstruction.training.imaging.resample_gsd`).
        gsd_range_m: ground sampling drawn uniformly from this range, metres (at least ``data.resolution``).
        jpeg: JPEG-encode and decode the crop (at the coarser sampling when ``resample`` also applies).
        jpeg_quality: JPEG quality drawn uniformly from this range (1..95).
        colour: colour cast: per-band gains, a colour temperature shift, gamma and haze
            (:func:`reconstruction.training.imaging.colour_cast`).
        probability: share of crops each switched-on change is applied to.
    """

    resample: bool = False
    gsd_range_m: tuple[float, float] = (0.5, 1.0)
    jpeg: bool = False
    jpeg_quality: tuple[int, int] = (30, 90)
    colour: bool = False
    probability: float = 0.5

    def __post_init__(self) -> None:
        """Normalise ranges to tuples and check them.

        Raises:
            ConfigError: a switch that is not a boolean, or a range or probability out of bounds.
        """
        for name in ("resample", "jpeg", "colour"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"augment.{name} must be true or false, got {getattr(self, name)!r}")
        object.__setattr__(self, "gsd_range_m", tuple(float(v) for v in self.gsd_range_m))
        object.__setattr__(self, "jpeg_quality", tuple(int(v) for v in self.jpeg_quality))
        lo, hi = self.gsd_range_m if len(self.gsd_range_m) == 2 else (0.0, -1.0)
        if not 0.05 <= lo <= hi <= 5.0:
            raise ConfigError(f"augment.gsd_range_m must be [low, high] metres within 0.05..5, got {self.gsd_range_m}")
        qlo, qhi = self.jpeg_quality if len(self.jpeg_quality) == 2 else (0, -1)
        if not 1 <= qlo <= qhi <= 95:
            raise ConfigError(f"augment.jpeg_quality must be [low, high] within 1..95, got {self.jpeg_quality}")
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError(f"augment.probability must be in 0..1, got {self.probability}")

    @property
    def enabled(self) -> bool:
        """Whether any change is switched on."""
        return self.resample or self.jpeg or self.colour


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs.

    Attributes:
        model: network to train.
        data: training and validation sources.
        loss: loss weights.
        augment: imaging realism of training crops (all off by default).
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
        init_weights: start from these weights (a shipped model name or a weights file) instead of
            random ones: fine-tuning. Their model configuration must equal ``model``.
    """

    model: ModelConfig = field(default_factory=lambda: ModelConfig(width=16, depth=3))
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
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
    init_weights: str | None = None

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
        if self.augment.resample and self.augment.gsd_range_m[0] < self.data.resolution:
            raise ConfigError(
                f"augment.gsd_range_m starts at {self.augment.gsd_range_m[0]} m, finer than data.resolution "
                f"{self.data.resolution} m: a crop cannot be made sharper than it was rendered"
            )


def load_train_config(path: Path) -> TrainConfig:
    """Read a TOML file: top-level keys of :class:`TrainConfig`; ``[model]``, ``[data]``, ``[loss]``, ``[augment]``.

    LiDAR and footprint-area paths in ``[data]`` are relative to the config file's folder.

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
        if "footprint_areas" in data:
            data["footprint_areas"] = tuple(tuple(base / p for p in pair) for pair in data["footprint_areas"])
    return build_dataclass(TrainConfig, raw)
