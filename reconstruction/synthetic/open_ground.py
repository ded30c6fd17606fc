"""Open land for a street block (``SceneConfig.open_ground``): car parks with cars, plazas and sports grounds, fields.

Real held-out imagery failed on what the original towns lack: car parks and bare ground came out as 7-8 m
phantom buildings. Cars have no class among the six: they are labelled ground, the paving they hide, at their
true height (docs/models.md, "Open ground").
"""

import numpy as np

from reconstruction.synthetic.block_frame import extent, to_global
from reconstruction.synthetic.materials import (
    CAR_COLOUR_SHARES,
    CAR_MATERIALS,
    DRY_GRASS,
    GRASS,
    LOT_ASPHALT,
    PARKING_LINE,
    PITCH,
    PLAZA,
    PLAZA_JOINT,
    SOIL,
    SOIL_DARK,
    TRACK,
    YARD,
)
from reconstruction.synthetic.model import Block, Car, Layout


def plan_car_park(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """Car park of asphalt: double rows of painted stalls across the block, a share of them holding a car."""
    side = "S" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "W"
    frontage, across = extent(blk, side)
    surface = LOT_ASPHALT if rng.random() < 0.7 else YARD
    lay.ground.append((to_global(blk, side, 2.0, frontage - 2, 2.0, across - 2), surface))
    occupancy = float(rng.uniform(0.35, 0.95))
    stall_w = float(rng.uniform(2.4, 2.7))
    t = 3.0
    while across - 2 - t >= 16:
        for row in (t, t + 11.0):
            for s in np.arange(3.0, frontage - 3 - stall_w, stall_w).tolist():
                for line in (s, s + stall_w):
                    lay.ground.append((to_global(blk, side, line - 0.08, line + 0.08, row, row + 5), PARKING_LINE))
                if rng.random() < occupancy:
                    _park_car(lay, blk, side, (s, s + stall_w), (row, row + 5.0), rng)
        t += 17.0
    for edge in "SNWE":
        length, _ = extent(blk, edge)
        lay.tree_zones.append((to_global(blk, edge, 0.0, length, 0.0, 1.8), 1 / 40))


def _park_car(
    lay: Layout,
    blk: Block,
    side: str,
    stall_s: tuple[float, float],
    stall_t: tuple[float, float],
    rng: np.random.Generator,
) -> None:
    """One car in a stall (its length across the frontage, as stalls run), a little off-centre."""
    width, length = float(rng.uniform(1.7, 1.95)), float(rng.uniform(3.8, 4.8))
    cs = (stall_s[0] + stall_s[1]) / 2 + float(rng.uniform(-0.2, 0.2))
    ct = stall_t[0] + float(rng.uniform(0.1, stall_t[1] - stall_t[0] - length - 0.1)) + length / 2
    rect = to_global(blk, side, cs - width / 2, cs + width / 2, ct - length / 2, ct + length / 2)
    material = CAR_MATERIALS[int(rng.choice(len(CAR_MATERIALS), p=CAR_COLOUR_SHARES))]
    lay.cars.append(Car(rect, float(rng.uniform(1.35, 1.65)), int(material), side not in "SN"))


def plan_plaza(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """A paved square with a grid of joints and a few trees, or a sports ground (pitch, track, lines)."""
    u0, u1, v0, v1 = blk.u0 + 1.0, blk.u1 - 1.0, blk.v0 + 1.0, blk.v1 - 1.0
    if rng.random() < 0.4 and min(u1 - u0, v1 - v0) >= 40:
        lay.ground.append(((u0, u1, v0, v1), TRACK))
        pitch = (u0 + 6.0, u1 - 6.0, v0 + 6.0, v1 - 6.0)
        lay.ground.append((pitch, PITCH))
        pu0, pu1, pv0, pv1 = pitch
        for rect in (
            (pu0, pu1, pv0, pv0 + 0.15),
            (pu0, pu1, pv1 - 0.15, pv1),
            (pu0, pu0 + 0.15, pv0, pv1),
            (pu1 - 0.15, pu1, pv0, pv1),
        ):
            lay.ground.append((rect, PARKING_LINE))
        mid = (pu0 + pu1) / 2 if pu1 - pu0 >= pv1 - pv0 else (pv0 + pv1) / 2
        line = (mid - 0.08, mid + 0.08, pv0, pv1) if pu1 - pu0 >= pv1 - pv0 else (pu0, pu1, mid - 0.08, mid + 0.08)
        lay.ground.append((line, PARKING_LINE))
        return
    lay.ground.append(((u0, u1, v0, v1), PLAZA))
    step = float(rng.uniform(3.0, 8.0))
    for u in np.arange(u0 + step, u1, step).tolist():
        lay.ground.append(((u - 0.12, u + 0.12, v0, v1), PLAZA_JOINT))
    for v in np.arange(v0 + step, v1, step).tolist():
        lay.ground.append(((u0, u1, v - 0.12, v + 0.12), PLAZA_JOINT))
    lay.tree_zones.append(((u0, u1, v0, v1), 1 / 400))


def plan_field(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """A field of bare soil in tractor-wide stripes (or sown, green or dry), with a hedgerow on one side."""
    u0, u1, v0, v1 = blk.u0, blk.u1, blk.v0, blk.v1
    pick = rng.random()
    light, dark = (SOIL, SOIL_DARK) if pick < 0.65 else (DRY_GRASS, SOIL) if pick < 0.85 else (GRASS, DRY_GRASS)
    lay.ground.append(((u0, u1, v0, v1), light))
    stripe = float(rng.uniform(1.5, 4.0))
    along_u = rng.random() < 0.5
    lo, hi = (v0, v1) if along_u else (u0, u1)
    for a in np.arange(lo, hi, 2 * stripe).tolist():
        lay.ground.append(((u0, u1, a, a + stripe) if along_u else (a, a + stripe, v0, v1), dark))
    edge = "SNWE"[int(rng.integers(4))]
    length, _ = extent(blk, edge)
    lay.tree_zones.append((to_global(blk, edge, 0.0, length, 0.0, 4.0), 1 / 25))
