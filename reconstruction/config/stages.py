"""The options of each stage, one frozen dataclass per stage, and :class:`PipelineConfig` holding them all."""

import math
import os
from dataclasses import dataclass, field
from typing import Literal

from reconstruction.config.limits import Limits
from reconstruction.errors import ConfigError


@dataclass(frozen=True)
class GroundConfig:
    """Parameters of the morphological ground filter.

    Attributes:
        slope: largest terrain slope (rise over run) still treated as ground.
        max_window_m: radius of the largest opening window in metres; objects narrower than about
            twice this are removed from the ground (set it to half the width of the largest building).
        elevation_threshold_m: cells within this height of the provisional terrain are ground.
        slope_scalar: extra tolerance per unit of local terrain slope.
    """

    slope: float = 0.15
    max_window_m: float = 32.0
    elevation_threshold_m: float = 0.5
    slope_scalar: float = 1.25

    def __post_init__(self) -> None:
        """Check ranges."""
        if not 0 < self.slope < 5:
            raise ConfigError(f"ground slope must be in (0, 5), got {self.slope}")
        if not 0 < self.max_window_m <= 500:
            raise ConfigError(f"ground max_window_m must be in (0, 500], got {self.max_window_m}")
        if self.elevation_threshold_m <= 0:
            raise ConfigError("ground elevation_threshold_m must be positive")


@dataclass(frozen=True)
class RulesConfig:
    """Thresholds of the rule-based classifier.

    Attributes:
        above_ground_m: nDSM above which a cell is an object (building or tree), metres.
        ndvi_min: NDVI above which a cell is vegetation (when a NIR band exists).
        excess_green_min: normalised excess-green (2G-R-B)/(R+G+B) above which a cell is vegetation.
        min_building_m2: above-ground patches smaller than this are left unclassified, not buildings.
        neighbours: LiDAR returns whose shape describes a return's neighbourhood, when the file has no building
            class and roofs are told from crowns by shape (:mod:`reconstruction.pointcloud.roofs`).
        roof_flatness_max: a return's neighbourhood is roof-like below this plane residual over spread.
        roof_echo_max: ... and when at most this share of its neighbours came from pulses with several returns.
        building_echo_max: a building patch found by shape whose returns echoed several times more often than
            this (mean over its cells) is a crown.
    """

    above_ground_m: float = 2.0
    ndvi_min: float = 0.2
    excess_green_min: float = 0.05
    min_building_m2: float = 8.0
    neighbours: int = 12
    roof_flatness_max: float = 0.2
    roof_echo_max: float = 0.7
    building_echo_max: float = 0.3

    def __post_init__(self) -> None:
        """Check ranges."""
        if self.above_ground_m <= 0:
            raise ConfigError("rules above_ground_m must be positive")
        if self.min_building_m2 < 0:
            raise ConfigError("rules min_building_m2 must not be negative")
        if self.neighbours < 3:
            raise ConfigError(f"rules neighbours must be at least 3 (a plane), got {self.neighbours}")
        for name in ("roof_flatness_max", "roof_echo_max", "building_echo_max"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"rules {name} must be in (0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class TinConfig:
    """Parameters of the terrain TIN.

    Attributes:
        max_error_m: largest vertical distance in metres between the TIN and any DTM cell centre it covers.
        max_points: safety cap on the number of vertices; refinement stops there and the report says so.
    """

    max_error_m: float = 0.25
    max_points: int = 2_000_000

    def __post_init__(self) -> None:
        """Check ranges."""
        if not self.max_error_m > 0:
            raise ConfigError(f"tin max_error_m must be a positive number of metres, got {self.max_error_m}")
        if self.max_points < 4:
            raise ConfigError(f"tin max_points must be at least 4 (the grid corners), got {self.max_points}")


@dataclass(frozen=True)
class BuildingConfig:
    """Options of :func:`extract_buildings`.

    Attributes:
        min_area_m2: Smaller buildings are dropped, square metres.
        simplify_m: Outline simplification tolerance, metres; None: one grid cell.
        height_jump_m: A footprint is split into parts where the nDSM steps by more than this, metres.
        min_part_area_m2: Smaller parts merge into a neighbour and smaller courtyards are filled, square metres.
        storey_height_m: Height of one storey for the ``floors`` attribute, metres.

    Raises:
        ConfigError: A value is negative, zero where it must be positive, or not finite.
    """

    min_area_m2: float = 20.0
    simplify_m: float | None = None
    height_jump_m: float = 3.0
    min_part_area_m2: float = 15.0
    storey_height_m: float = 3.0

    def __post_init__(self) -> None:
        """Check every value; raise ConfigError naming the field."""
        for name in ("min_area_m2", "simplify_m", "height_jump_m", "min_part_area_m2", "storey_height_m"):
            value, strict = getattr(self, name), name in ("height_jump_m", "storey_height_m")
            if value is None and name == "simplify_m":
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not number or value < 0 or (strict and value == 0):
                bound = "> 0" if strict else ">= 0"
                raise ConfigError(f"BuildingConfig.{name} must be a finite number {bound} (metres), got {value!r}")


def check_outlier_options(k: int, std_ratio: float) -> None:
    """Raise ConfigError unless k >= 1 neighbours and std_ratio > 0 standard deviations."""
    if k < 1:
        raise ConfigError(f"k (neighbours for the outlier test) must be at least 1, not {k}")
    if not std_ratio > 0:
        raise ConfigError(f"std_ratio must be a positive number of standard deviations, not {std_ratio}")


@dataclass(frozen=True)
class FilterConfig:
    """Options for :func:`clean_point_cloud`.

    Attributes:
        voxel_m: voxel edge in metres, or None for no downsampling. Each occupied voxel keeps the one
            point nearest its centroid, so positions stay real measurements and colours/classes follow.
        k: neighbours in the outlier statistic.
        std_ratio: how far out a point must lie to be cut. The global threshold on the per-point mean
            neighbour distance is its median plus 3 x ``std_ratio`` robust standard deviations (1.4826 x the
            median absolute deviation), re-estimated on the kept points until nothing more is cut, so that the
            noise cannot raise its own threshold; each point's own threshold then follows its neighbours' values
            within 0.8-1.5 x that one, so sparse real surfaces beside dense ones are kept (see
            :func:`reconstruction.pointcloud.outliers.outlier_mask`).
        second_round: run the outlier test a second time on the points kept. It finds noise that hid behind
            noise (Montpellier LiDAR at 18.7 % injected noise: 2.4 % left after one round, 2.0 % after two)
            at the price of real points (precision 0.993 -> 0.9905 there, and down by 0.4-2.4 points on the
            neighbouring tiles); off by default, since a real point lost costs users more than a noisy one left.
        on_dsm_points: also clean clouds made from a DSM grid (one point per cell). Off by default: a
            gridded DSM has no scattered returns, and the test then removes real building and tree edges
            (443 of Montpellier's 9,993 cells, 4.4 %, measured with the former global mean + 2σ rule); LiDAR
            and other scattered clouds are always cleaned.
    """

    voxel_m: float | None = None
    k: int = 8
    std_ratio: float = 2.0
    second_round: bool = False
    on_dsm_points: bool = False

    def __post_init__(self) -> None:
        """Reject values that cannot work.

        Raises:
            ConfigError: voxel_m is not positive, k is below 1 or std_ratio is not positive.
        """
        if self.voxel_m is not None and not self.voxel_m > 0:
            raise ConfigError(
                f"voxel_m must be a positive size in metres (or None for no downsampling), not {self.voxel_m}"
            )
        check_outlier_options(self.k, self.std_ratio)


@dataclass(frozen=True)
class TreeConfig:
    """Options of :func:`detect_trees`.

    Attributes:
        min_height_m: Lowest tree top and lowest crown cell above ground, metres.
        min_crown_m: Smallest crown diameter kept, metres.
        smoothing_m: Gaussian sigma applied to the nDSM before peak finding, metres; 0 disables it.

    Raises:
        ConfigError: A value is not a finite number, negative, or zero where it must be positive.
    """

    min_height_m: float = 2.0
    min_crown_m: float = 1.5
    smoothing_m: float = 0.5

    def __post_init__(self) -> None:
        """Check every value; raise ConfigError naming the field."""
        for name in ("min_height_m", "min_crown_m", "smoothing_m"):
            value, strict = getattr(self, name), name == "min_height_m"
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not number or value < 0 or (strict and value == 0):
                bound = "> 0" if strict else ">= 0"
                raise ConfigError(f"TreeConfig.{name} must be a finite number {bound} (metres), got {value!r}")


@dataclass(frozen=True)
class FeatureConfig:
    """Which low-vegetation patches become mapped features (buildings and trees have their own configs).

    Attributes:
        min_low_vegetation_m2: smallest low-vegetation (lawn, shrub) patch kept, square metres.
    """

    min_low_vegetation_m2: float = 10.0


@dataclass(frozen=True)
class OutputConfig:
    """What the run writes besides the mandatory outputs.

    Attributes:
        overlay_max_px: longest side of the single orthophoto image (``imagery/ortho.png``), pixels: a
            preview, and the viewer's fallback for versions without the XYZ tile pyramid it drapes now.
        tile_jobs: processes used to write 3D Tiles.
    """

    overlay_max_px: int = 1024
    tile_jobs: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))

    def __post_init__(self) -> None:
        """Check ranges."""
        if not 64 <= self.overlay_max_px <= 16384:
            raise ConfigError("output overlay_max_px must be in 64..16384")


@dataclass(frozen=True)
class PredictionConfig:
    """The network that predicts land cover and heights when an area has only an orthophoto.

    Attributes:
        model: a shipped model name (see ``reconstruction.prediction.weights.available_models``) or
            the path of a weights file (e.g. a model fine-tuned on a LiDAR area of the same region).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        refine_ground: in areas with a DSM or LiDAR, let the model turn ground cells into road or water
            (heights cannot tell those apart; colour and shape can).
        min_confidence: the model's least class probability for such a change, 0..1.
    """

    model: str = "citynet-v1"
    device: str = "auto"
    refine_ground: bool = True
    min_confidence: float = 0.5

    def __post_init__(self) -> None:
        """Check the device name."""
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"prediction device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"prediction min_confidence must be in 0..1, got {self.min_confidence}")
        if not self.model.strip():
            raise ConfigError("prediction model must name a shipped model or a weights file")


@dataclass(frozen=True)
class RegistrationConfig:
    """How a second image or a DSM is co-registered to the reference (see :mod:`reconstruction.registration`).

    Attributes:
        detector: keypoint detector and descriptor: ``"sift"`` (default: most accurate across bands),
            ``"orb"`` (faster, binary) or ``"akaze"`` (only where OpenCV was built with it).
        model: geometric model: ``"affine"`` (6 parameters: shift, rotation, scale, shear) or
            ``"projective"`` (8 parameters: also a tilted view of a flat scene).
        semantic: drop matches whose land-cover classes disagree between the two sources, and weigh
            matches near building and road boundaries more in the robust estimation.
        ratio: Lowe's ratio test: a match is kept when its descriptor distance is below this share of
            the second-best one.
        threshold_px: RANSAC inlier threshold, pixels of the matching grid.
        max_features: keypoints kept per source (the strongest).
        max_match_pixels: the matching grid is coarsened until it has at most this many cells.
        min_inliers: fewer inliers than this and the registration is refused.
        boundary_m: a match this close (metres) to a building or road boundary weighs ``boundary_weight``.
        boundary_weight: weight of such a match; every other match weighs 1.
        iterations: RANSAC hypotheses drawn.
    """

    detector: Literal["sift", "orb", "akaze"] = "sift"
    model: Literal["affine", "projective"] = "affine"
    semantic: bool = True
    ratio: float = 0.8
    threshold_px: float = 2.0
    max_features: int = 8000
    max_match_pixels: int = 6_000_000
    min_inliers: int = 12
    boundary_m: float = 1.0
    boundary_weight: float = 3.0
    iterations: int = 2000

    def __post_init__(self) -> None:
        """Check names and ranges."""
        if self.detector not in ("sift", "orb", "akaze"):
            raise ConfigError(f"registration detector must be 'sift', 'orb' or 'akaze', got {self.detector!r}")
        if self.model not in ("affine", "projective"):
            raise ConfigError(f"registration model must be 'affine' or 'projective', got {self.model!r}")
        if not 0 < self.ratio <= 1:
            raise ConfigError(f"registration ratio must be in (0, 1], got {self.ratio}")
        if not self.threshold_px > 0:
            raise ConfigError(f"registration threshold_px must be positive, got {self.threshold_px}")
        if self.max_features < 100 or self.max_match_pixels < 10_000 or self.iterations < 10:
            raise ConfigError("registration max_features >= 100, max_match_pixels >= 10000, iterations >= 10")
        if self.min_inliers < 4:
            raise ConfigError(f"registration min_inliers must be at least 4, got {self.min_inliers}")
        if self.boundary_m < 0 or self.boundary_weight < 1:
            raise ConfigError("registration boundary_m must be >= 0 and boundary_weight >= 1")


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that tunes a run; the defaults work for 0.1-2 m urban data.

    Attributes:
        resolution_m: working grid cell size in metres; None takes the DSM's, 0.5 m for LiDAR, and
            for an orthophoto alone its own pixel size but at least 0.5 m (the model's training GSD).
    """

    resolution_m: float | None = None
    ground: GroundConfig = field(default_factory=GroundConfig)
    tin: TinConfig = field(default_factory=TinConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    buildings: BuildingConfig = field(default_factory=BuildingConfig)
    trees: TreeConfig = field(default_factory=TreeConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    limits: Limits = field(default_factory=Limits)
    prediction: PredictionConfig = field(default_factory=PredictionConfig)
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)

    def __post_init__(self) -> None:
        """Check ranges."""
        if self.resolution_m is not None and not 0.05 <= self.resolution_m <= 10:
            raise ConfigError(f"resolution_m must be between 0.05 and 10 metres, got {self.resolution_m}")
