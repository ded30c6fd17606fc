"""Deterministic procedural town: orthophoto, DSM, DTM and labels to try rs3d without data."""

from reconstruction.synthetic.city import (
    SceneConfig,
    SyntheticScene,
    generate_scene,
    write_scene,
)

__all__ = ["SceneConfig", "SyntheticScene", "generate_scene", "write_scene"]
