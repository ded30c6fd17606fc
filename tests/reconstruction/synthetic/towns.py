"""Helpers the generator's tests share: a scene's digest and a town's plan with its materials."""

import hashlib

import numpy as np

from reconstruction.synthetic import SceneConfig, SyntheticScene
from reconstruction.synthetic.layout import plan_layout
from reconstruction.synthetic.model import Layout
from reconstruction.synthetic.raster import Canvas, render_surface


def scene_digest(scene: SyntheticScene) -> str:
    """SHA-256 of the orthophoto, DSM, DTM and labels: equal digests, byte-identical towns."""
    h = hashlib.sha256()
    for array in (scene.ortho, scene.dsm, scene.dtm, scene.labels):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def plan_and_materials(cfg: SceneConfig) -> tuple[Layout, np.ndarray]:
    """The town's plan (drawn from the same generator as ``generate_scene``) and its materials on the DSM grid."""
    lay = plan_layout(cfg, np.random.default_rng(cfg.seed).spawn(2)[0])
    mat, _, _ = render_surface(lay, Canvas(cfg.size_m, cfg.dsm_shape[0]), levels=False)
    return lay, mat
