"""Configuration of a reconstruction run: frozen dataclasses, one per stage, loadable from TOML.

- :class:`PipelineInputs` -- the files of one area (:mod:`.run`), :data:`Z_UNITS` the height units it may name;
  :class:`PipelineConfig` -- every option of a run.
- :func:`load_config` -- a TOML file whose tables mirror :class:`PipelineConfig`; :func:`build_dataclass` -- the same
  for any nested config dataclass.
- :class:`GroundConfig`, :class:`TinConfig`, :class:`RulesConfig`, :class:`BuildingConfig`, :class:`TreeConfig`,
  :class:`FilterConfig`, :class:`FeatureConfig`, :class:`OutputConfig`, :class:`PredictionConfig`,
  :class:`RegistrationConfig` -- one per stage (:mod:`.stages`); :func:`check_outlier_options`.
- :class:`Limits`, :data:`LIMIT_SETTINGS` -- sizes beyond which inputs are refused (:mod:`.limits`).

This package imports nothing heavy, so the web app can use it without numpy or GDAL.
"""

from reconstruction.config.limits import LIMIT_SETTINGS, Limits
from reconstruction.config.run import Z_UNITS, PipelineInputs, build_dataclass, load_config
from reconstruction.config.stages import (
    BuildingConfig,
    FeatureConfig,
    FilterConfig,
    GroundConfig,
    OutputConfig,
    PipelineConfig,
    PredictionConfig,
    RegistrationConfig,
    RulesConfig,
    TinConfig,
    TreeConfig,
    check_outlier_options,
)

__all__ = [
    "LIMIT_SETTINGS",
    "Z_UNITS",
    "BuildingConfig",
    "FeatureConfig",
    "FilterConfig",
    "GroundConfig",
    "Limits",
    "OutputConfig",
    "PipelineConfig",
    "PipelineInputs",
    "PredictionConfig",
    "RegistrationConfig",
    "RulesConfig",
    "TinConfig",
    "TreeConfig",
    "build_dataclass",
    "check_outlier_options",
    "load_config",
]
