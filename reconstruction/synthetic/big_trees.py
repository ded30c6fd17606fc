"""Large old trees and tree groups (``SceneConfig.big_trees``): broadleaf giants and stands of tall pines.

The original towns plant crowns 3-10 m across and 5-20 m tall, shrunk to fit between buildings, roads and water;
on a real held-out aerial tall trees came out at about 1.9 m (issue 17). These are the trees they lack: broadleaf
crowns 10-20 m across, 15-28 m tall, in parks, gardens and along streets (overhanging the road, as old street trees
do), and groups of pines 18-30 m tall with small high crowns, as in the NEON Florida region. They are drawn with
lumpy crowns (:func:`reconstruction.synthetic.raster._draw_trees`) and cast long shadows on the ground and on
the roofs below their crowns; they are labelled tree at their true height (docs/models.md, "Big trees and water").
"""

import math

import numpy as np
from scipy import ndimage

from reconstruction.synthetic.config import F64, LABEL_BUILDING, LABEL_WATER
from reconstruction.synthetic.materials import BIG_BROADLEAF, BIG_BROADLEAF_DARK, GRASS, LABEL, PINE
from reconstruction.synthetic.model import Layout
from reconstruction.synthetic.raster import Canvas, draw_layout

_GROUPS_PER_HECTARE = 4.0  # tree groups per 10,000 m² of town
_PINE_SHARE = 0.4  # share of the groups that are pine stands
_MIN_RADIUS_M = 3.0  # a big tree with less room than this is not planted


def plan_big_trees(lay: Layout, rng: np.random.Generator) -> None:
    """Add groups of big trees to ``lay.trees`` (after the ordinary trees), removing small trees under them."""
    anchors = _anchors(lay, rng, int(rng.poisson(_GROUPS_PER_HECTARE * lay.size**2 / 10_000)))
    rows: list[tuple[float, float, float, float, float]] = []
    for u, v in anchors:
        pine = rng.random() < _PINE_SHARE
        count = int(rng.integers(3, 8)) if pine else int(rng.integers(1, 4))
        for i in range(count):
            if pine:
                radius, height, material = float(rng.uniform(3.0, 6.0)), float(rng.uniform(18.0, 30.0)), PINE
            else:
                radius, height = float(rng.uniform(5.0, 10.0)), float(rng.uniform(15.0, 28.0))
                material = BIG_BROADLEAF if rng.random() < 0.6 else BIG_BROADLEAF_DARK
            angle, reach = float(rng.uniform(0, 2 * np.pi)), (1.4 * radius * i**0.5 if i else 0.0)
            rows.append((u + reach * math.cos(angle), v + reach * math.sin(angle), height, radius, float(material)))
    if not rows:
        return
    big = np.asarray(rows, dtype=np.float64)
    inside = (big[:, 0] >= 0) & (big[:, 0] < lay.size) & (big[:, 1] >= 0) & (big[:, 1] < lay.size)
    big = big[inside]
    big[:, 3] = np.minimum(big[:, 3], _room(lay, big[:, 0], big[:, 1]))
    big = big[big[:, 3] >= _MIN_RADIUS_M]
    if not len(big):
        return
    small = lay.trees
    gap = np.hypot(small[:, None, 0] - big[None, :, 0], small[:, None, 1] - big[None, :, 1])
    shaded = (gap < 0.8 * big[None, :, 3]).any(axis=1) if len(small) else np.zeros(0, bool)
    lay.trees = np.concatenate([small[~shaded], big])


def _anchors(lay: Layout, rng: np.random.Generator, count: int) -> list[tuple[float, float]]:
    """Where the groups stand: half along the street-tree verges, half in the tree zones (by area and density)."""
    zones = [(rect, density) for rect, density in lay.tree_zones if rect[1] > rect[0] and rect[3] > rect[2]]
    weights = np.array([(r[1] - r[0]) * (r[3] - r[2]) * d for r, d in zones], dtype=np.float64)
    out: list[tuple[float, float]] = []
    for _ in range(count):
        if lay.street_trees and (rng.random() < 0.5 or not zones):
            u, v = lay.street_trees[int(rng.integers(len(lay.street_trees)))]
            out.append((float(u), float(v)))
        elif zones:
            (u0, u1, v0, v1), _ = zones[int(rng.choice(len(zones), p=weights / weights.sum()))]
            out.append((float(rng.uniform(u0, u1)), float(rng.uniform(v0, v1))))
    return out


def _room(lay: Layout, u: F64, v: F64) -> F64:
    """Free distance (metres) from each point to buildings and water: big crowns may overhang streets."""
    n = max(16, math.ceil(lay.size / 0.5))
    canvas = Canvas(lay.size, n)
    mat = np.full((n, n), GRASS, np.uint8)
    draw_layout(lay, canvas, mat, None, None)
    blocked = np.isin(LABEL[mat], (LABEL_BUILDING, LABEL_WATER))
    if not blocked.any():
        return np.full(len(u), np.inf)
    dist = ndimage.distance_transform_edt(~blocked) * canvas.res
    cols = np.clip((u / canvas.res).astype(np.intp), 0, n - 1)
    rows = np.clip(((lay.size - v) / canvas.res).astype(np.intp), 0, n - 1)
    return dist[rows, cols] - 2.2 * canvas.res
