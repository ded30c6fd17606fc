import numpy as np

from reconstruction.config import RulesConfig
from reconstruction.objects import classify_by_rules
from reconstruction.objects.rules import vegetation_index


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_rules_find_buildings_and_trees_of_the_synthetic_city(small_scene):
    ndsm = small_scene.dsm - small_scene.dtm
    image = _downsample(small_scene.ortho.astype(np.float32), small_scene.dsm.shape)
    labels = classify_by_rules(ndsm.astype(np.float32), image, 0.5, RulesConfig())
    assert _iou(labels == 6, small_scene.labels == 6) > 0.75
    assert _iou(labels == 5, small_scene.labels == 5) > 0.5


def _downsample(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    factor = image.shape[1] // shape[0]
    return image.reshape(image.shape[0], shape[0], factor, shape[1], factor).mean(axis=(2, 4))


def test_vegetation_index_uses_nir_when_there_is_one():
    green_leaf = np.array([[[40.0]], [[60.0]], [[30.0]], [[200.0]]], np.float32)
    assert vegetation_index(green_leaf)[0, 0] > 0.6  # NDVI
    assert vegetation_index(green_leaf[:3])[0, 0] > 0.1  # excess green
