"""Rivers and lakes with real-looking water (``SceneConfig.water``).

The original towns hold a river in about a third of them (only where a street row 45 m deep has roads on both
sides, so rarely in a 100 m town) and ponds in some parks, all of one clean blue. On a real held-out aerial the
river came out mostly as "ground" (issue 17). With this option most towns get a river that crosses them whatever
the streets (10-50 m wide, meandering, with a stone quay or a grassy, wooded bank; the north-south streets that
cross it are bridges) and some a lake, all in dark, turbid, greenish or brownish water with slow plumes of silt
and sun glints (:func:`reconstruction.synthetic.ortho._glint`). Buildings, cars and east-west streets in the way
are removed. Water is labelled water at 0 m above its surface (docs/models.md, "Big trees and water").
"""

from dataclasses import replace

import numpy as np

from reconstruction.synthetic.materials import GRASS, QUAY, TURBID_WATERS
from reconstruction.synthetic.model import Layout, Pond, Rect, River

_RIVER_CHANCE = 0.8
_LAKE_CHANCE = 0.5


def plan_water(lay: Layout, rng: np.random.Generator) -> None:
    """Add a river and a lake to the planned town, clear what stands in them, and recolour all its water."""
    size = lay.size
    if rng.random() < _RIVER_CHANCE:
        half = float(rng.uniform(5.0, max(6.0, min(30.0, 0.2 * size))))
        amp = float(rng.uniform(2.0, max(3.0, min(20.0, 0.1 * size))))
        wavelength, phase = float(rng.uniform(120.0, 450.0)), float(rng.uniform(0, 2 * np.pi))
        quay = rng.random() < 0.5
        bank = float(rng.uniform(2.0, 5.0)) if quay else float(rng.uniform(3.0, 8.0))
        v_mid = float(rng.uniform(0.25, 0.75) * size)
        river = River(v_mid, amp, wavelength, phase, half, _water(rng), bank, QUAY if quay else GRASS)
        lay.rivers.append(river)
        _clear(lay, lambda r: _near_river(river, r, half + bank + 1.0))
        if not quay:
            reach = amp + half + bank
            lay.tree_zones.append(((0.0, size, v_mid - reach, v_mid + reach), 1 / 90))
    if rng.random() < _LAKE_CHANCE:
        ru, rv = (float(x) for x in rng.uniform(8.0, max(9.0, min(30.0, 0.2 * size)), 2))
        cu, cv = (float(x) for x in rng.uniform(0.15 * size, 0.85 * size, 2))
        uu, vv = np.meshgrid(np.linspace(cu - ru, cu + ru, 9), np.linspace(cv - rv, cv + rv, 9))
        lake = Pond(cu, cv, ru, rv, float(lay.terrain(uu, vv).min()) - 0.5, _water(rng))
        lay.ponds.append(lake)
        _clear(lay, lambda r: _near_pond(lake, r, 2.0))
        lay.tree_zones.append(((cu - ru - 6, cu + ru + 6, cv - rv - 6, cv + rv + 6), 1 / 120))
    lay.ponds[:] = [replace(p, material=_water(rng)) if p.material not in TURBID_WATERS else p for p in lay.ponds]
    lay.rivers[:] = [replace(r, material=_water(rng)) if r.material not in TURBID_WATERS else r for r in lay.rivers]


def _water(rng: np.random.Generator) -> int:
    """One of the turbid waters: greenish, brownish or dark."""
    return int(TURBID_WATERS[int(rng.choice(3, p=(0.45, 0.3, 0.25)))])


def _clear(lay: Layout, hit: object) -> None:
    """Remove buildings, cars and east-west streets for which ``hit(rect)`` is true."""
    assert callable(hit)
    lay.buildings[:] = [b for b in lay.buildings if not any(hit(p.rect) for p in b.parts)]
    lay.cars[:] = [c for c in lay.cars if not hit(c.rect)]
    lay.roads[:] = [
        r
        for r in lay.roads
        if r.vertical or not hit((0.0, lay.size, r.centre - r.half_corridor, r.centre + r.half_corridor))
    ]
    lay.street_trees[:] = [(u, v) for u, v in lay.street_trees if not hit((u - 1, u + 1, v - 1, v + 1))]


def _near_river(river: River, rect: Rect, reach: float) -> bool:
    """Whether ``rect`` comes within ``reach`` metres (across the flow) of the river's centre line."""
    u0, u1, v0, v1 = rect
    u = np.linspace(max(u0, -1.0), u1, max(2, int((u1 - u0) / 2) + 2))
    centre = river.v_mid + river.amp * np.sin(2 * np.pi * u / river.wavelength + river.phase)
    return bool(((centre + reach > v0) & (centre - reach < v1)).any())


def _near_pond(pond: Pond, rect: Rect, margin: float) -> bool:
    """Whether ``rect`` comes within ``margin`` metres of the elliptical pond."""
    u0, u1, v0, v1 = rect
    du = max(u0 - pond.cu, 0.0, pond.cu - u1) / (pond.ru + margin)
    dv = max(v0 - pond.cv, 0.0, pond.cv - v1) / (pond.rv + margin)
    return du * du + dv * dv < 1.0
