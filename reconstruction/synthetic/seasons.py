"""Seasons of the generated towns: leaf and lawn colours, near-infrared, leaf-off crowns and sun elevation.

``summer`` is the look the generator always had (its tables are the untouched ones in
:mod:`reconstruction.synthetic.materials`); the other seasons recolour vegetation, thin the crowns
and lower the sun, so a network trained on all four does not learn that trees are always green and
shadows always short.
"""

from dataclasses import dataclass

import numpy as np

from reconstruction.synthetic.config import F32, SEASONS, SUN_ELEVATION_DEG
from reconstruction.synthetic.materials import (
    BIG_BROADLEAF,
    BIG_BROADLEAF_DARK,
    DRY_GRASS,
    GRASS,
    NIR,
    RGB,
    TREE_DARK,
    TREE_LIGHT,
    TREE_MATERIALS,
    TREE_MID,
)

__all__ = ["SEASONS", "Season", "is_tree", "leaf_gaps", "season"]


@dataclass(frozen=True)
class Season:
    """How one season looks from above.

    Attributes:
        name: the season.
        sun_elevation_deg: sun elevation at the time of the flight (lower: longer shadows).
        leaf_cover: share of a crown's pixels that show leaves (or branches); the rest show the
            ground under the tree. 1 for a full summer crown.
        rgb: ``(256, 3)`` material colours for this season.
        nir: ``(256,)`` material near-infrared reflectance (8-bit DN) for this season.
    """

    name: str
    sun_elevation_deg: float
    leaf_cover: float
    rgb: F32
    nir: F32


# RGB and NIR (DN) of vegetation by season; materials not listed keep their summer values. Autumn
# leaves turn red-brown but still scatter NIR (NDVI about 0.1-0.2); bare winter branches and dormant
# lawns reflect NIR about as much as red (NDVI near 0-0.1).
_TREES: dict[str, dict[int, tuple[tuple[int, int, int], int]]] = {
    "spring": {
        TREE_MID: ((78, 112, 48), 205),
        TREE_DARK: ((58, 90, 42), 185),
        TREE_LIGHT: ((108, 132, 58), 215),
    },
    "autumn": {
        TREE_MID: ((142, 96, 42), 178),
        TREE_DARK: ((96, 72, 44), 148),
        TREE_LIGHT: ((176, 140, 58), 196),
    },
    "winter": {
        TREE_MID: ((96, 86, 76), 100),
        TREE_DARK: ((78, 70, 64), 82),
        TREE_LIGHT: ((112, 102, 90), 114),
    },
}
# Big broadleaf crowns (SceneConfig.big_trees) turn as the small ones do.
for _season in _TREES.values():
    _season[BIG_BROADLEAF], _season[BIG_BROADLEAF_DARK] = _season[TREE_MID], _season[TREE_DARK]
_LAWNS: dict[str, dict[int, tuple[tuple[int, int, int], int]]] = {
    "spring": {GRASS: ((88, 122, 58), 200), DRY_GRASS: ((110, 124, 76), 160)},
    "autumn": {GRASS: ((124, 118, 78), 156), DRY_GRASS: ((150, 134, 92), 128)},
    "winter": {GRASS: ((104, 108, 80), 128), DRY_GRASS: ((132, 124, 98), 118)},
}
_SUN = {"summer": SUN_ELEVATION_DEG, "spring": 42.0, "autumn": 30.0, "winter": 18.0}
_LEAF_COVER = {"summer": 1.0, "spring": 0.9, "autumn": 0.75, "winter": 0.35}


def season(name: str) -> Season:
    """The look of ``name`` (one of :data:`SEASONS`)."""
    rgb, nir = RGB.copy(), NIR.copy()
    for table in (_TREES, _LAWNS):
        for code, (colour, infrared) in table.get(name, {}).items():
            rgb[code], nir[code] = colour, infrared
    return Season(name, _SUN[name], _LEAF_COVER[name], rgb, nir)


def leaf_gaps(crowns: np.ndarray, cover: float, rng: np.random.Generator) -> np.ndarray:
    """Crown pixels where the ground shows through (leaf-off branches), a ``cover``-dependent share.

    Gaps are drawn in 2 x 2 pixel clusters so they read as holes between branches rather than noise.

    Args:
        crowns: ``(H, W)`` bool, pixels covered by a crown.
        cover: share of crown pixels that keep their leaves or branches, 0..1.
        rng: the scene's season generator.

    Returns:
        ``(H, W)`` bool mask inside ``crowns``.
    """
    if cover >= 1.0:
        return np.zeros_like(crowns)
    h, w = crowns.shape
    coarse = rng.random(((h + 1) // 2, (w + 1) // 2), dtype=np.float32)
    holes = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[:h, :w] >= cover
    return holes & crowns


def is_tree(mat: np.ndarray) -> np.ndarray:
    """Pixels whose material is a tree crown."""
    return np.isin(mat, (*TREE_MATERIALS, BIG_BROADLEAF, BIG_BROADLEAF_DARK))  # pines keep their needles
