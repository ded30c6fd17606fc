"""Deterministic procedural town: orthophoto (RGB, optionally NIR; four seasons), DSM, DTM, labels and footprints.

Registration inputs of known truth (warped copies, off-nadir views) are in
:mod:`reconstruction.synthetic.registration`, imported on its own.
"""

from reconstruction.synthetic.city import (
    SceneConfig,
    SyntheticScene,
    generate_scene,
    write_scene,
)
from reconstruction.synthetic.vectors import write_footprints

__all__ = ["SceneConfig", "SyntheticScene", "generate_scene", "write_footprints", "write_scene"]
