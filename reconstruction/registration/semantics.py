"""The semantic consistency constraint: class maps of both sources, class agreement, boundary weights.

Class maps (ASPRS codes, 0 unknown) come from:

- an image: the shipped segmentation model (CityNet, RGB input). A false-colour infrared image
  (NIR, R, G; recognised because its first band correlates poorly with the other two, which
  correlate well) is shown to the model as pseudo-RGB (R, G, 0.9 G): on the Montpellier pair this
  agrees with the RGB image's classes on 92 % of cells (buildings IoU 0.97), whereas the raw bands
  agree on 39 %. Without the model (missing weights) the colour rules of the evaluation baseline are
  used (vegetation only).
- a DSM: height rules. The ground is the DSM opened by a 24 m wide window (computed at 2 m cells);
  cells 2.5 m or more above it are buildings when their surface is smooth (mean absolute Laplacian of
  the heights under 0.5 m per cell) and high vegetation otherwise; the rest is ground (a DSM cannot
  tell roads from other ground).

Classes are compared coarsely (roads with ground, all vegetation together), because the model confuses
roads and paved ground and a DSM cannot tell them apart. A match keeps when the classes found within
``boundary_m`` of its two keypoints share one (a feature on a roof edge sees roof and ground on both
sides), or when either side is unknown.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from reconstruction.registration.matching import Matches
from reconstruction.registration.sources import Source

GROUND, LOW_VEGETATION, HIGH_VEGETATION, BUILDING, WATER, ROAD = 2, 3, 5, 6, 9, 11
#: Coarse groups compared by the constraint, one bit each.
_GROUPS = ((GROUND, ROAD), (LOW_VEGETATION, 4, HIGH_VEGETATION), (BUILDING,), (WATER,))


@dataclass(frozen=True)
class ClassMap:
    """Land cover of one source on its matching grid.

    Attributes:
        codes: ``(H, W)`` uint8 ASPRS codes, 0 unknown.
        source: how the classes were obtained, for the report.
    """

    codes: npt.NDArray[np.uint8]
    source: str


def class_map(source: Source, resolution: float) -> ClassMap:
    """Classes for a source: the model for images, height rules for DSMs (see the module docstring)."""
    if source.kind == "dsm":
        return ClassMap(_dsm_classes(source.values[0], resolution), "height rules")
    rgb, arrangement = _as_rgb(source)
    try:
        return ClassMap(_model_classes(rgb, source.valid, resolution), f"citynet-v1 on {arrangement}")
    except Exception as err:  # noqa: BLE001 - any model failure falls back to colour rules, said in the report
        return ClassMap(_colour_classes(rgb, source.valid), f"colour rules ({type(err).__name__} from the model)")


def class_agreement(
    reference: ClassMap, moving: ClassMap, matches: Matches, radius_cells: int
) -> npt.NDArray[np.bool_]:
    """``(N,)`` True where the classes near the two keypoints of a match share a coarse group."""
    ref_bits = _group_bits(reference.codes, radius_cells)
    mov_bits = _group_bits(moving.codes, radius_cells)
    a = _sample(ref_bits, matches.reference_px)
    b = _sample(mov_bits, matches.moving_px)
    return np.asarray(((a & b) != 0) | (a == 0) | (b == 0), dtype=bool)


def boundary_weights(
    reference: ClassMap, moving: ClassMap, matches: Matches, radius_cells: int, weight: float
) -> npt.NDArray[np.float64]:
    """``(N,)`` ``weight`` for matches near a building or road boundary in either class map, else 1."""
    near_ref = _sample(_near_boundary(reference.codes, radius_cells), matches.reference_px)
    near_mov = _sample(_near_boundary(moving.codes, radius_cells), matches.moving_px)
    return np.where((near_ref | near_mov) > 0, weight, 1.0)


def _as_rgb(source: Source) -> tuple[npt.NDArray[np.uint8], str]:
    """8-bit natural-colour bands for the model, and what they were made from."""
    bands = [_to_uint8(band, source.valid) for band in source.values[:3]]
    valid = source.valid
    if _looks_false_colour(source.values[:3], valid):
        red, green = bands[1], bands[2]
        return np.stack([red, green, (green * 0.9).astype(np.uint8)]), "pseudo-RGB (R, G, 0.9 G) of NIR-R-G bands"
    return np.stack(bands), "RGB bands"


def _looks_false_colour(bands: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]) -> bool:
    """NIR-R-G: band 1 (NIR) correlates poorly with bands 2-3 (R, G), which correlate well (RGB: all do)."""
    if not valid.any():
        return False
    step = max(1, int(np.sqrt(valid.sum() / 200_000)))
    v = bands[:, ::step, ::step][:, valid[::step, ::step]]
    c = np.corrcoef(v)
    return bool(c[0, 1] < 0.8 and c[0, 2] < 0.8 and c[1, 2] > 0.85)


def _to_uint8(band: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    values = band[valid]
    if values.size and values.max() > 255:  # 16 bit: stretch 2nd-98th percentiles like io.to_rgb8
        low, high = np.percentile(values, [2, 98])
        band = (band - low) / max(float(high - low), 1e-6) * 255
    return np.nan_to_num(np.clip(band, 0, 255)).astype(np.uint8)


def _model_classes(
    rgb: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_], resolution: float
) -> npt.NDArray[np.uint8]:
    """The model's classes (raises when the weights are missing or the cells are outside 0.1-2 m)."""
    from reconstruction.prediction.predict import predict_area

    model, info = _model()
    prediction = predict_area(model, info, rgb, resolution, valid, None)
    return np.asarray(prediction.asprs, dtype=np.uint8)


@cache
def _model() -> tuple[Any, Any]:
    """The shipped network, loaded once per process (both sources and every later registration reuse it)."""
    from reconstruction.prediction.weights import load_weights

    return load_weights("citynet-v1", "cpu")


def _colour_classes(rgb: npt.NDArray[np.uint8], valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Excess green above 0.05 is vegetation; everything else unknown (colour alone says little more)."""
    r, g, b = (c.astype(np.float32) / 255 for c in rgb)
    codes = np.zeros(r.shape, dtype=np.uint8)
    codes[(2 * g - r - b) > 0.05] = HIGH_VEGETATION
    codes[~valid] = 0
    return codes


def _dsm_classes(dsm: npt.NDArray[np.float32], resolution: float) -> npt.NDArray[np.uint8]:
    valid = np.isfinite(dsm)
    codes = np.zeros(dsm.shape, dtype=np.uint8)
    if not valid.any():
        return codes
    filled = np.where(valid, dsm, np.nanmin(dsm)).astype(np.float32)
    factor = max(1, round(2.0 / resolution))
    coarse = cv2.resize(filled, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
    window = max(3, round(24.0 / (resolution * factor)) | 1)
    ground = ndimage.grey_opening(coarse, size=(window, window))
    ground = ndimage.uniform_filter(ground, size=3)
    ground = cv2.resize(ground, (dsm.shape[1], dsm.shape[0]), interpolation=cv2.INTER_LINEAR)
    above = (filled - ground) >= 2.5
    rough = ndimage.uniform_filter(np.abs(ndimage.laplace(filled)), size=3) > 0.5
    codes[:] = GROUND
    codes[above & ~rough] = BUILDING
    codes[above & rough] = HIGH_VEGETATION
    codes[~valid] = 0
    return codes


def _group_bits(codes: npt.NDArray[np.uint8], radius: int) -> npt.NDArray[np.uint8]:
    """One bit per coarse group present within ``radius`` cells."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    bits = np.zeros(codes.shape, dtype=np.uint8)
    for i, group in enumerate(_GROUPS):
        present = np.isin(codes, group).astype(np.uint8)
        bits |= np.left_shift(np.asarray(cv2.dilate(present, kernel), dtype=np.uint8), i).astype(np.uint8)
    return bits


def _near_boundary(codes: npt.NDArray[np.uint8], radius: int) -> npt.NDArray[np.uint8]:
    """1 within ``radius`` cells of a building or road outline."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    near = np.zeros(codes.shape, dtype=np.uint8)
    for code in (BUILDING, ROAD):
        mask = (codes == code).astype(np.uint8)
        edge = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        near |= np.asarray(cv2.dilate(edge, kernel), dtype=np.uint8)
    return near


def _sample(raster: npt.NDArray[np.uint8], px: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """Value of the cell under each (column, row) point (OpenCV: cell centres at whole numbers)."""
    rows = np.clip(np.rint(px[:, 1]).astype(int), 0, raster.shape[0] - 1)
    cols = np.clip(np.rint(px[:, 0]).astype(int), 0, raster.shape[1] - 1)
    return np.asarray(raster[rows, cols], dtype=np.uint8)
