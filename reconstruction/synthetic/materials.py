"""Surface materials: codes, colours, near-infrared, ASPRS labels, texture amplitudes and roof colours."""

import math

import numpy as np

from reconstruction.synthetic.config import (
    F32,
    LABEL_BUILDING,
    LABEL_GROUND,
    LABEL_HIGH_VEGETATION,
    LABEL_ROAD,
    LABEL_WATER,
    U8,
)

#: Surface material codes (finer than the labels); they index the lookup tables below.
GRASS, DRY_GRASS, PAVED, YARD, ROAD, MARKING, WATER = 1, 2, 3, 4, 5, 6, 7
TREE_MID, TREE_DARK, TREE_LIGHT = 8, 9, 10
#: The crown materials a tree is drawn from.
TREE_MATERIALS = (TREE_MID, TREE_DARK, TREE_LIGHT)
PARKING_LINE, GRAVEL = 11, 12
#: Open-ground materials (only drawn with ``SceneConfig.open_ground``): car-park asphalt, plaza paving and
#: its joints, bare soil in two shades (furrows, wet patches), a sports pitch and a running track.
LOT_ASPHALT, PLAZA, PLAZA_JOINT, SOIL, SOIL_DARK, PITCH, TRACK = 13, 14, 15, 16, 17, 18, 19
#: Car glass, then car bodies: (RGB, NIR DN, share of the fleet) for white, silver, grey, black, blue, red,
#: green and beige cars (roughly the European fleet).
CAR_GLASS = 20
_CAR_BODIES: tuple[tuple[tuple[int, int, int], int, float], ...] = (
    ((226, 228, 230), 220, 0.25),
    ((168, 172, 176), 170, 0.18),
    ((104, 106, 110), 104, 0.16),
    ((30, 32, 36), 40, 0.18),
    ((40, 62, 118), 90, 0.09),
    ((160, 32, 30), 150, 0.07),
    ((46, 76, 54), 70, 0.03),
    ((190, 176, 146), 180, 0.04),
)
CAR_MATERIALS = tuple(range(CAR_GLASS + 1, CAR_GLASS + 1 + len(_CAR_BODIES)))
#: How often each of :data:`CAR_MATERIALS` is drawn.
CAR_COLOUR_SHARES = tuple(share for _, _, share in _CAR_BODIES)
#: Big trees (``SceneConfig.big_trees``): large broadleaf crowns in two shades and tall pines.
BIG_BROADLEAF, BIG_BROADLEAF_DARK, PINE = 29, 30, 31
BIG_TREE_MATERIALS = (BIG_BROADLEAF, BIG_BROADLEAF_DARK, PINE)
#: Water of ``SceneConfig.water``: turbid greenish, brownish and dark water, and a stone quay; these codes lie
#: above the roofs (32-247).
WATER_GREEN, WATER_BROWN, WATER_DARK, QUAY = 248, 249, 250, 251
TURBID_WATERS = (WATER_GREEN, WATER_BROWN, WATER_DARK)
_ROOF0 = 32  # first roof material; roofs use codes _ROOF0.._ROOF0 + families * variants

# material: (RGB, ASPRS label, low-frequency texture amplitude, fine texture amplitude)
_MATERIALS: dict[int, tuple[tuple[int, int, int], int, float, float]] = {
    GRASS: ((92, 110, 62), LABEL_GROUND, 0.07, 0.08),
    DRY_GRASS: ((126, 124, 84), LABEL_GROUND, 0.09, 0.10),
    PAVED: ((166, 162, 154), LABEL_GROUND, 0.05, 0.05),
    YARD: ((108, 107, 104), LABEL_GROUND, 0.07, 0.05),
    ROAD: ((78, 78, 80), LABEL_ROAD, 0.05, 0.04),
    MARKING: ((226, 226, 216), LABEL_ROAD, 0.03, 0.04),
    WATER: ((40, 66, 92), LABEL_WATER, 0.05, 0.02),
    TREE_MID: ((50, 80, 40), LABEL_HIGH_VEGETATION, 0.08, 0.30),
    TREE_DARK: ((34, 56, 35), LABEL_HIGH_VEGETATION, 0.08, 0.30),
    TREE_LIGHT: ((72, 96, 46), LABEL_HIGH_VEGETATION, 0.08, 0.30),
    PARKING_LINE: ((214, 214, 206), LABEL_GROUND, 0.03, 0.04),
    GRAVEL: ((170, 160, 140), LABEL_GROUND, 0.08, 0.12),
    LOT_ASPHALT: ((86, 86, 88), LABEL_GROUND, 0.08, 0.05),
    PLAZA: ((182, 172, 156), LABEL_GROUND, 0.06, 0.06),
    PLAZA_JOINT: ((138, 132, 122), LABEL_GROUND, 0.04, 0.04),
    SOIL: ((138, 112, 84), LABEL_GROUND, 0.14, 0.10),
    SOIL_DARK: ((106, 86, 66), LABEL_GROUND, 0.14, 0.10),
    PITCH: ((70, 124, 52), LABEL_GROUND, 0.05, 0.04),
    TRACK: ((164, 84, 62), LABEL_GROUND, 0.03, 0.03),
    BIG_BROADLEAF: ((58, 82, 42), LABEL_HIGH_VEGETATION, 0.08, 0.34),
    BIG_BROADLEAF_DARK: ((40, 62, 36), LABEL_HIGH_VEGETATION, 0.08, 0.34),
    PINE: ((44, 60, 42), LABEL_HIGH_VEGETATION, 0.06, 0.40),
    # real rivers and ponds seen from above: dark, turbid, greenish or brownish, with slow plumes of silt
    WATER_GREEN: ((46, 62, 50), LABEL_WATER, 0.12, 0.03),
    WATER_BROWN: ((70, 66, 50), LABEL_WATER, 0.12, 0.03),
    WATER_DARK: ((30, 38, 40), LABEL_WATER, 0.10, 0.03),
    QUAY: ((150, 142, 128), LABEL_GROUND, 0.07, 0.08),
    # cars stand on the ground: no class of their own among the network's six, so they are labelled as the
    # paving they hide (real LiDAR puts them in class 1, which training ignores), 1-1.5 m above it
    CAR_GLASS: ((40, 46, 54), LABEL_GROUND, 0.02, 0.04),
    **{code: (rgb, LABEL_GROUND, 0.02, 0.03) for code, (rgb, _, _) in zip(CAR_MATERIALS, _CAR_BODIES, strict=True)},
}
# material: near-infrared reflectance as an 8-bit DN, as a colour-infrared (NIR, R, G) flight records it:
# healthy leaves reflect strongly (chlorophyll absorbs red, cell structure scatters NIR), dry grass less,
# water almost nothing, asphalt and dark roofs little, concrete and light membranes about as much as in
# the visible.
_NIR: dict[int, int] = {
    GRASS: 196,
    DRY_GRASS: 138,
    PAVED: 158,
    YARD: 104,
    ROAD: 70,
    MARKING: 214,
    WATER: 14,
    TREE_MID: 186,
    TREE_DARK: 160,
    TREE_LIGHT: 204,
    PARKING_LINE: 204,
    GRAVEL: 166,
    LOT_ASPHALT: 74,
    PLAZA: 178,
    PLAZA_JOINT: 140,
    SOIL: 150,
    SOIL_DARK: 118,
    PITCH: 200,
    TRACK: 150,
    CAR_GLASS: 40,
    BIG_BROADLEAF: 196,
    BIG_BROADLEAF_DARK: 170,
    PINE: 150,
    WATER_GREEN: 22,
    WATER_BROWN: 30,
    WATER_DARK: 12,
    QUAY: 150,
    **{code: nir for code, (_, nir, _) in zip(CAR_MATERIALS, _CAR_BODIES, strict=True)},
}
#: Colour drift with low-frequency noise (dry and lush patches): RGB DN per unit noise,
#: scaled per material by ``HUE``.
HUE_RGB = (6.0, 3.0, -2.0)
_HUE_DRIFT = {
    BIG_BROADLEAF: 0.6,
    WATER_GREEN: 0.5,
    WATER_BROWN: 0.5,
    GRASS: 1.0,
    DRY_GRASS: 0.8,
    TREE_MID: 0.6,
    TREE_LIGHT: 0.6,
    SOIL: 0.8,
    SOIL_DARK: 0.8,
    PITCH: 0.4,
}

# Roof colour families (RGB); each gets _ROOF_VARIANTS shades.
_ROOF_FAMILIES: dict[str, tuple[int, int, int]] = {
    "red_tiles": (150, 80, 64),
    "brown_tiles": (118, 80, 66),
    "orange_tiles": (164, 100, 76),
    "slate": (72, 74, 80),
    "concrete": (150, 148, 142),
    "gravel": (136, 130, 116),
    "bitumen": (62, 62, 66),
    "metal": (172, 180, 186),
    "membrane": (206, 206, 200),
}
_ROOF_VARIANTS = 24
# Near-infrared of each roof family (8-bit DN): clay tiles reflect more NIR than red, slate and
# bitumen stay dark, metal and membranes bright.
_ROOF_NIR: dict[str, int] = {
    "red_tiles": 128,
    "brown_tiles": 104,
    "orange_tiles": 140,
    "slate": 62,
    "concrete": 146,
    "gravel": 130,
    "bitumen": 56,
    "metal": 168,
    "membrane": 198,
}
# (building kind, roof): ((family, probability), ...)
_ROOF_CHOICES: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("house", "gable"): (
        ("red_tiles", 0.4),
        ("brown_tiles", 0.2),
        ("orange_tiles", 0.15),
        ("slate", 0.25),
    ),
    ("house", "flat"): (("slate", 0.3), ("concrete", 0.3), ("gravel", 0.2), ("bitumen", 0.2)),
    ("apartment", "gable"): (("red_tiles", 0.4), ("brown_tiles", 0.3), ("slate", 0.3)),
    ("apartment", "flat"): (
        ("concrete", 0.3),
        ("gravel", 0.3),
        ("bitumen", 0.2),
        ("membrane", 0.2),
    ),
    ("hall", "flat"): (("metal", 0.4), ("membrane", 0.3), ("concrete", 0.15), ("gravel", 0.15)),
}


def roof_material(kind: str, roof: str, rng: np.random.Generator) -> int:
    """Roof colour (material code) drawn from the families that suit the building."""
    choices = _ROOF_CHOICES[(kind, roof)]
    pick = int(rng.choice(len(choices), p=[p for _, p in choices]))
    family = list(_ROOF_FAMILIES).index(choices[pick][0])
    return _ROOF0 + family * _ROOF_VARIANTS + int(rng.integers(_ROOF_VARIANTS))


def _build_tables() -> tuple[F32, U8, F32, F32, F32, F32]:
    """Per-material lookup tables: RGB, label, texture amplitudes, colour drift, near-infrared."""
    rgb = np.zeros((256, 3), np.float32)
    nir = np.zeros(256, np.float32)
    label = np.full(256, LABEL_GROUND, np.uint8)
    amp_low = np.zeros(256, np.float32)
    amp_fine = np.zeros(256, np.float32)
    hue = np.zeros(256, np.float32)
    for code, (colour, lab, low, fine) in _MATERIALS.items():
        rgb[code], label[code], amp_low[code], amp_fine[code] = colour, lab, low, fine
    for code, drift in _HUE_DRIFT.items():
        hue[code] = drift
    for code, infrared in _NIR.items():
        nir[code] = infrared
    for family, (name, colour) in enumerate(_ROOF_FAMILIES.items()):
        for k in range(_ROOF_VARIANTS):
            code = _ROOF0 + family * _ROOF_VARIANTS + k
            scale = 0.84 + 0.32 * k / (_ROOF_VARIANTS - 1)
            tint = 0.06 * math.sin(2.4 * k + family)
            rgb[code] = np.clip(np.array(colour) * scale * (1 + tint, 1, 1 - tint), 0, 255)
            nir[code] = min(255.0, _ROOF_NIR[name] * scale)
            label[code], amp_low[code], amp_fine[code] = LABEL_BUILDING, 0.03, 0.05
    return rgb, label, amp_low, amp_fine, hue, nir


#: Lookup tables indexed by material code (256 rows): RGB colour ``(256, 3)``, ASPRS
#: label, low-frequency and fine texture amplitudes, colour drift weight, and near-infrared
#: reflectance (8-bit DN) of the summer look.
RGB, LABEL, AMP_LOW, AMP_FINE, HUE, NIR = _build_tables()
#: 1.0 for roof materials, 0.0 otherwise.
IS_ROOF = (LABEL == LABEL_BUILDING).astype(np.float32)
#: 1.0 for materials that cast ray-marched shadows: roofs and cars.
CASTS_SHADOW = IS_ROOF.copy()
CASTS_SHADOW[[CAR_GLASS, *CAR_MATERIALS]] = 1.0
#: Materials that keep trees out: buildings, roads, water and cars.
BLOCKS_TREES = np.isin(LABEL, (LABEL_BUILDING, LABEL_ROAD, LABEL_WATER))
BLOCKS_TREES[[CAR_GLASS, *CAR_MATERIALS]] = True
#: Materials a crown may be drawn over (ground only; code 0 is unused).
TREE_OK = ~BLOCKS_TREES
TREE_OK[0] = False
