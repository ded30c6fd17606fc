"""Deterministic procedural town: orthophoto (RGB, optionally NIR; four seasons), DSM, DTM, labels and footprints."""

from reconstruction.synthetic.city import (
    SceneConfig,
    SyntheticScene,
    generate_scene,
    write_scene,
)
from reconstruction.synthetic.vectors import write_footprints

__all__ = ["SceneConfig", "SyntheticScene", "generate_scene", "write_footprints", "write_scene"]
