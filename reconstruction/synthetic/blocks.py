"""Fill one street block with a land use: houses, apartments, halls, a park or a car park.

With open ground (``SceneConfig.open_ground``) also car parks with cars, plazas and fields, planned by
:mod:`reconstruction.synthetic.open_ground`; both place things through :mod:`~reconstruction.synthetic.block_frame`.
"""

import math

import numpy as np

from reconstruction.synthetic.block_frame import extent, to_global
from reconstruction.synthetic.materials import (
    DRY_GRASS,
    GRAVEL,
    PARKING_LINE,
    PAVED,
    YARD,
    roof_material,
)
from reconstruction.synthetic.model import Block, Building, Layout, Part, Pond, Rect
from reconstruction.synthetic.open_ground import plan_car_park, plan_field, plan_plaza

_BLOCK_KINDS = ("houses", "apartments", "industrial", "park", "parking")
_BLOCK_PROBS = (0.5, 0.22, 0.08, 0.12, 0.08)
# With open ground (SceneConfig.open_ground) about half the blocks are open land: car parks with cars,
# plazas and sports grounds, bare or sown fields.
_OPEN_KINDS = (*_BLOCK_KINDS, "plaza", "field")
_OPEN_PROBS = (0.3, 0.12, 0.06, 0.07, 0.21, 0.12, 0.12)
_OPEN_NARROW = ("park", "plaza", "field")  # land uses that fit a block narrower than 20 m
_OPEN_SMALL = (*_OPEN_NARROW, "parking")  # and those that fit one narrower than 34 m (one double row of stalls)


def _open_probabilities(uses: tuple[str, ...]) -> list[float]:
    """Chances of :data:`_OPEN_KINDS` with only ``uses`` open; car parks without cars keep their old share."""
    probs = dict(zip(_OPEN_KINDS, _OPEN_PROBS, strict=True))
    if "parking" not in uses:
        probs["parking"] = _BLOCK_PROBS[_BLOCK_KINDS.index("parking")]
    for kind in ("plaza", "field"):
        if kind not in uses:
            probs[kind] = 0.0
    total = sum(probs.values())
    return [probs[kind] / total for kind in _OPEN_KINDS]


def plan_block(lay: Layout, blk: Block, rng: np.random.Generator, open_uses: tuple[str, ...] = ()) -> None:
    """Pick a land use for the block, fill it, then plant its street trees.

    ``open_uses`` (some of ``config.OPEN_USES``) adds plazas and sports grounds, fields, or car parks with cars
    (see ``SceneConfig.open_ground``); without them the random draws are exactly those of the original towns.
    """
    short = min(blk.u1 - blk.u0, blk.v1 - blk.v0)
    if open_uses:
        kind = _OPEN_KINDS[int(rng.choice(len(_OPEN_KINDS), p=_open_probabilities(open_uses)))]
        if short < 20 and kind not in _OPEN_NARROW:
            kind = "park"
        elif short < 34 and kind not in _OPEN_SMALL:
            kind = "houses"
    else:
        kind = _BLOCK_KINDS[int(rng.choice(len(_BLOCK_KINDS), p=_BLOCK_PROBS))]
        if short < 20:
            kind = "park"
        elif short < 34 and kind != "park":
            kind = "houses"
    planners = {
        "houses": _plan_houses,
        "apartments": _plan_apartments,
        "industrial": _plan_industrial,
        "park": _plan_park,
        "parking": plan_car_park if "parking" in open_uses else _plan_parking,
        "plaza": plan_plaza,
        "field": plan_field,
    }
    planners[kind](lay, blk, rng)
    _plan_street_trees(lay, blk, rng)


def _part(rect: Rect, eave: float, pitch_deg: float, ridge_along_u: bool) -> Part:
    """Building part; gable rise from the pitch and the span across the ridge."""
    span = (rect[3] - rect[2]) if ridge_along_u else (rect[1] - rect[0])
    rise = math.tan(math.radians(pitch_deg)) * span / 2 if pitch_deg > 0 else 0.0
    return Part(rect, float(eave), float(rise), ridge_along_u)


def _add_building(lay: Layout, parts: list[Part], roof: str, kind: str, rng: np.random.Generator) -> bool:
    """Append a building whose parts all lie inside the scene; False if it does not fit."""
    for u0, u1, v0, v1 in (p.rect for p in parts):
        if min(u0, v0) < 0.5 or max(u1, v1) > lay.size - 0.5:
            return False
    material = roof_material(kind, roof, rng)
    lay.buildings.append(Building(tuple(parts), material, roof, kind))
    return True


def _plan_houses(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """Detached houses on lots along the long sides of the block."""
    sides: tuple[str, ...] = ("S", "N") if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else ("W", "E")
    frontage, depth = extent(blk, sides[0])
    if depth >= 44:
        rows, lot_depth = sides, depth / 2
    else:
        has_road = blk.roads["SNWE".index(sides[0])] is not None
        rows, lot_depth = (sides[0] if has_road else sides[1],), depth
    for side in rows:
        s = float(rng.uniform(0, 4))
        while frontage - s >= 12:
            lot_w = min(float(rng.uniform(13, 22)), frontage - s)
            _plan_lot(lay, blk, side, (s, s + lot_w), lot_depth, rng)
            s += lot_w


def _plan_lot(
    lay: Layout,
    blk: Block,
    side: str,
    span: tuple[float, float],
    lot_depth: float,
    rng: np.random.Generator,
) -> None:
    """One house (sometimes L-shaped) set back from the street, drive and back garden."""
    s_lo, s_hi = span
    lot_w = s_hi - s_lo
    setback = float(rng.uniform(3, 7))
    max_depth = min(15.0, lot_depth - setback - 4)
    if lot_w < 11 or max_depth < 8:
        lay.tree_zones.append((to_global(blk, side, s_lo, s_hi, 0, lot_depth), 1 / 150))
        return
    w = float(rng.uniform(8, min(15.0, lot_w - 3)))
    d = float(rng.uniform(8, max_depth))
    s0 = s_lo + float(rng.uniform(1.5, lot_w - w - 1.5))
    rects = [(s0, s0 + w, setback, setback + d)]
    back = setback + d
    if rng.random() < 0.3 and lot_depth - back >= 9:
        w2 = float(rng.uniform(4, 0.6 * w))
        d2 = float(rng.uniform(4, min(8.0, lot_depth - back - 5)))
        ws = s0 if rng.random() < 0.5 else s0 + w - w2
        rects.append((ws, ws + w2, back - 0.5, back + d2))
        back += d2
    _add_house(lay, blk, side, rects, rng)
    _plan_driveway(lay, blk, side, (s_lo, s0, s0 + w, s_hi), setback, rng)
    garden = to_global(blk, side, s_lo + 0.5, s_hi - 0.5, back + 1.5, lot_depth - 0.5)
    lay.tree_zones.append((garden, 1 / 110))


def _add_house(
    lay: Layout,
    blk: Block,
    side: str,
    rects: list[tuple[float, float, float, float]],
    rng: np.random.Generator,
) -> None:
    """House from side-frame rectangles; a wing's ridge follows its long axis."""
    gable = rng.random() < 0.7
    eave = float(rng.uniform(3, 7) if gable else rng.uniform(3, 9))
    pitch = float(rng.uniform(25, 45)) if gable else 0.0
    main_along_s = rng.random() < 0.75
    parts = []
    for i, (s0, s1, t0, t1) in enumerate(rects):
        along_s = main_along_s if i == 0 else (s1 - s0) > (t1 - t0)
        rect = to_global(blk, side, s0, s1, t0, t1)
        parts.append(_part(rect, eave, pitch, along_s == (side in "SN")))
    _add_building(lay, parts, "gable" if gable else "flat", "house", rng)


def _plan_driveway(
    lay: Layout,
    blk: Block,
    side: str,
    edges: tuple[float, float, float, float],
    setback: float,
    rng: np.random.Generator,
) -> None:
    """Paved or gravel drive from the street past the house, in the wider side gap."""
    s_lo, h0, h1, s_hi = edges
    if rng.random() > 0.7:
        return
    if h0 - s_lo >= s_hi - h1:
        lo, hi = max(s_lo + 0.3, h0 - 3.5), h0 - 0.5
    else:
        lo, hi = h1 + 0.5, min(s_hi - 0.3, h1 + 3.5)
    if hi - lo < 2.5:
        return
    material = PAVED if rng.random() < 0.6 else GRAVEL
    lay.ground.append((to_global(blk, side, lo, hi, 0.0, setback + 6), material))


def _plan_bars(
    lay: Layout,
    blk: Block,
    side: str,
    s_range: tuple[float, float],
    form: tuple[float, float, float, bool],
    rng: np.random.Generator,
) -> None:
    """Apartment bars along one side; ``form`` = setback, depth, height, gable."""
    setback, depth, height, gable = form
    s = s_range[0] + float(rng.uniform(0, 3))
    while s_range[1] - s >= 20:
        length = min(float(rng.uniform(20, 60)), s_range[1] - s)
        rect = to_global(blk, side, s, s + length, setback, setback + depth)
        eave = height + float(rng.uniform(-2, 2))
        pitch = float(rng.uniform(20, 32)) if gable else 0.0
        part = _part(rect, eave, pitch, side in "SN")
        _add_building(lay, [part], "gable" if gable else "flat", "apartment", rng)
        s += length + float(rng.uniform(6, 16))


def _plan_apartments(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """Perimeter block of apartment bars around a wooded courtyard."""
    setback, depth = float(rng.uniform(2, 5)), float(rng.uniform(10, 16))
    form = (setback, depth, float(rng.uniform(14, 28)), bool(rng.random() < 0.25))
    sides = "SNWE" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "WESN"
    frontage, across = extent(blk, sides[0])
    need = 2 * (setback + depth) + 12
    if across < need:
        _plan_bars(lay, blk, sides[0], (0.0, frontage), form, rng)
        yard = to_global(blk, sides[0], 1.0, frontage - 1, setback + depth + 3, across - 1)
        lay.tree_zones.append((yard, 1 / 90))
        return
    _plan_bars(lay, blk, sides[0], (0.0, frontage), form, rng)
    _plan_bars(lay, blk, sides[1], (0.0, frontage), form, rng)
    if frontage >= need:
        inner = (setback + depth + 8, across - setback - depth - 8)
        _plan_bars(lay, blk, sides[2], inner, form, rng)
        _plan_bars(lay, blk, sides[3], inner, form, rng)
    ring = setback + depth + 3
    court = (blk.u0 + ring, blk.u1 - ring, blk.v0 + ring, blk.v1 - ring)
    if court[1] - court[0] > 6 and court[3] - court[2] > 6:
        lay.tree_zones.append((court, 1 / 90))
        cu, cv = (court[0] + court[1]) / 2, (court[2] + court[3]) / 2
        lay.ground.append(((court[0], court[1], cv - 1.5, cv + 1.5), PAVED))
        lay.ground.append(((cu - 1.5, cu + 1.5, court[2], court[3]), PAVED))


def _plan_industrial(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """One to three large flat-roofed halls on a paved yard."""
    lay.ground.append(((blk.u0 + 1.5, blk.u1 - 1.5, blk.v0 + 1.5, blk.v1 - 1.5), YARD))
    side = "S" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "W"
    frontage, across = extent(blk, side)
    count = int(rng.integers(1, max(1, min(3, int(frontage // 45))) + 1))
    segment = (frontage - 3) / count
    for i in range(count):
        length = min(float(rng.uniform(0.55, 0.85)) * segment, 90.0)
        width = min(float(rng.uniform(0.5, 0.8)) * across, 50.0, across - 10)
        if length < 20 or width < 15:
            continue
        s0 = 1.5 + i * segment + float(rng.uniform(0, segment - length))
        t0 = float(rng.uniform(4, across - width - 4))
        rect = to_global(blk, side, s0, s0 + length, t0, t0 + width)
        eave = float(rng.uniform(6, 14))
        _add_building(lay, [_part(rect, eave, 0.0, True)], "flat", "hall", rng)


def _plan_park(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """Wooded park with crossing paths and sometimes a pond."""
    width, height = blk.u1 - blk.u0, blk.v1 - blk.v0
    cu, cv = (blk.u0 + blk.u1) / 2, (blk.v0 + blk.v1) / 2
    path = float(rng.uniform(2, 3))
    if rng.random() < 0.3:
        patch = (cu - width / 4, cu + width / 4, cv - height / 4, cv + height / 4)
        lay.ground.append((patch, DRY_GRASS))
    if min(width, height) >= 30:
        lay.ground.append(((blk.u0, blk.u1, cv - path / 2, cv + path / 2), GRAVEL))
        lay.ground.append(((cu - path / 2, cu + path / 2, blk.v0, blk.v1), GRAVEL))
    if min(width, height) >= 45 and rng.random() < 0.5:
        qu = (width - path) / 2
        qv = (height - path) / 2
        pu = cu + (1 if rng.random() < 0.5 else -1) * (path + qu) / 2
        pv = cv + (1 if rng.random() < 0.5 else -1) * (path + qv) / 2
        ru, rv = float(rng.uniform(0.3, 0.42)) * qu, float(rng.uniform(0.3, 0.42)) * qv
        uu, vv = np.meshgrid(np.linspace(pu - ru, pu + ru, 7), np.linspace(pv - rv, pv + rv, 7))
        level = float(lay.terrain(uu, vv).min()) - 0.5
        lay.ponds.append(Pond(pu, pv, ru, rv, level))
    lay.tree_zones.append(((blk.u0, blk.u1, blk.v0, blk.v1), 1 / 60))


def _plan_parking(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """Car park with painted stalls and tree-lined grass edges."""
    side = "S" if blk.u1 - blk.u0 >= blk.v1 - blk.v0 else "W"
    frontage, across = extent(blk, side)
    lay.ground.append((to_global(blk, side, 3.0, frontage - 3, 3.0, across - 3), YARD))
    t = 4.0
    while across - 3 - t >= 16:
        for row in (t, t + 11):
            for s in np.arange(4.0, frontage - 4, 2.5).tolist():
                line = to_global(blk, side, s - 0.15, s + 0.15, row, row + 5)
                lay.ground.append((line, PARKING_LINE))
        t += 17.0
    for edge in "SNWE":
        length, _ = extent(blk, edge)
        lay.tree_zones.append((to_global(blk, edge, 0.0, length, 0.0, 2.5), 1 / 30))
    if rng.random() < 0.5:
        lay.ground.append((to_global(blk, side, 3.0, frontage - 3, 3.0, 4.0), PAVED))


def _plan_street_trees(lay: Layout, blk: Block, rng: np.random.Generator) -> None:
    """Regularly spaced trees in the grass verges that border the block."""
    for side, road in zip("SNWE", blk.roads, strict=True):
        if road is None or road.verge <= 0:
            continue
        frontage, _ = extent(blk, side)
        spacing = float(rng.uniform(8, 12))
        for s in np.arange(float(rng.uniform(3, 7)), frontage - 3, spacing).tolist():
            u0, _, v0, _ = to_global(blk, side, s, s, -road.verge / 2, -road.verge / 2)
            lay.street_trees.append((u0, v0))
