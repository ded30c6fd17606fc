"""Footprint scores: predicted building outlines against reference ones (e.g. BGT/BAG), by area and per building.

Area scores treat each side as one merged surface; per-building scores pair predictions with references one
to one (greedy, highest IoU first). Pure functions on shapely geometries in one metric CRS.
"""

from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

Footprint: TypeAlias = Polygon | MultiPolygon
Geoms: TypeAlias = npt.NDArray[np.object_]  # shapely geometries or None

#: A reference building counts only when more than this share of its area lies inside the clip.
MIN_INSIDE_SHARE = 0.5


@dataclass(frozen=True)
class FootprintScores:
    """Scores of predicted footprints against reference footprints.

    Attributes:
        n_reference: Reference buildings scored (those mostly inside the clip).
        n_predicted: Predicted buildings scored (non-empty inside the clip, not mostly on an ignored reference).
        overall_iou: Area of (all predictions ∩ all references) / area of their union; 0 when both are empty.
        completeness: Share of the reference area covered by predictions (area recall); 1 with no reference.
        correctness: Share of the predicted area inside references (area precision); 1 with no prediction.
        matched: (prediction index, reference index, IoU) of the one-to-one matches, indices into the
            caller's lists, best IoU first.
        instance_recall: Matched references / scored references; 1 with no reference.
        instance_precision: Matched predictions / scored predictions; 1 with no prediction.
        median_iou: Median IoU of the matches; NaN without any match.
    """

    n_reference: int
    n_predicted: int
    overall_iou: float
    completeness: float
    correctness: float
    matched: list[tuple[int, int, float]] = field(default_factory=list)
    instance_recall: float = 1.0
    instance_precision: float = 1.0
    median_iou: float = float("nan")

    def to_dict(self) -> dict[str, float | int | list[list[float]]]:
        """The scores as plain JSON-able values (``matched`` as [pred, ref, iou] lists)."""
        return {
            "n_reference": self.n_reference,
            "n_predicted": self.n_predicted,
            "overall_iou": self.overall_iou,
            "completeness": self.completeness,
            "correctness": self.correctness,
            "matched": [[float(p), float(r), iou] for p, r, iou in self.matched],
            "instance_recall": self.instance_recall,
            "instance_precision": self.instance_precision,
            "median_iou": self.median_iou,
        }


def footprint_scores(
    predicted: list[Footprint],
    reference: list[Footprint],
    clip: Polygon | None = None,
    match_iou: float = 0.5,
) -> FootprintScores:
    """Score predicted building footprints against reference footprints.

    With a ``clip`` (the extent of the data the predictions came from), only reference buildings with more
    than half their area inside it are scored, and every geometry is cut to it. The clipped parts of the
    other references are a "don't care" zone: predicted area on them is left out of the area scores, and a
    prediction lying mostly on them is not scored (a building cut by the tile edge is neither missed nor a
    false alarm).

    Args:
        predicted: Predicted footprints (invalid ones are repaired with ``make_valid``).
        reference: Reference footprints, same CRS.
        clip: Area of interest; None scores everything.
        match_iou: A prediction and a reference match when their IoU is at least this (0 < match_iou <= 1;
            above 0.5 a match is necessarily unique, below it the greedy pairing keeps it one to one).

    Returns:
        The scores; indices in ``matched`` refer to the input lists.

    Raises:
        ValueError: ``match_iou`` is not in (0, 1].
    """
    if not 0.0 < match_iou <= 1.0:
        raise ValueError(f"match_iou must be in (0, 1], got {match_iou!r}")
    preds = _polygonal(predicted)
    refs = _polygonal(reference)
    ignored: BaseGeometry = Polygon()
    if clip is not None:
        ref_area = shapely.area(refs)
        refs = shapely.intersection(refs, clip)
        keep_ref = shapely.area(refs) > MIN_INSIDE_SHARE * ref_area
        ignored = shapely.union_all(refs[~keep_ref])
        refs[~keep_ref] = None
        preds = shapely.intersection(preds, clip)
        pred_area = shapely.area(preds)
        on_ignored = shapely.area(shapely.intersection(preds, ignored)) > MIN_INSIDE_SHARE * pred_area
        preds[on_ignored] = None
    ref_index = _present(refs)
    pred_index = _present(preds)

    ref_union = shapely.union_all(refs[ref_index])
    pred_union = shapely.difference(shapely.union_all(preds[pred_index]), ignored)
    inter = float(shapely.intersection(pred_union, ref_union).area)
    union = float(shapely.union(pred_union, ref_union).area)
    ref_total, pred_total = float(ref_union.area), float(pred_union.area)

    matched = _greedy_matches(preds, refs, pred_index, ref_index, match_iou)
    ious = [iou for _, _, iou in matched]
    return FootprintScores(
        n_reference=len(ref_index),
        n_predicted=len(pred_index),
        overall_iou=inter / union if union > 0 else 0.0,
        completeness=inter / ref_total if ref_total > 0 else 1.0,
        correctness=inter / pred_total if pred_total > 0 else 1.0,
        matched=matched,
        instance_recall=len(matched) / len(ref_index) if len(ref_index) else 1.0,
        instance_precision=len(matched) / len(pred_index) if len(pred_index) else 1.0,
        median_iou=float(np.median(ious)) if ious else float("nan"),
    )


def _polygonal(geoms: list[Footprint]) -> Geoms:
    """Object array of valid polygonal geometries (None for empty or non-areal input)."""
    array = np.empty(len(geoms), dtype=object)
    array[:] = list(geoms)
    array = shapely.make_valid(array)
    # make_valid may return collections with stray lines: keep only the areal part.
    areal = shapely.get_type_id(array) == 7
    if areal.any():
        array[areal] = [
            shapely.union_all([g for g in shapely.get_parts(geom) if isinstance(g, Polygon | MultiPolygon)])
            for geom in array[areal]
        ]
    array[~(shapely.area(array) > 0)] = None
    return array


def _present(geoms: Geoms) -> npt.NDArray[np.intp]:
    """Indices of the non-missing, non-empty geometries."""
    return np.flatnonzero(shapely.area(geoms) > 0)  # area of None is NaN


def _greedy_matches(
    preds: Geoms, refs: Geoms, pred_index: npt.NDArray[np.intp], ref_index: npt.NDArray[np.intp], match_iou: float
) -> list[tuple[int, int, float]]:
    """One-to-one pairs (pred, ref, IoU) with IoU >= match_iou, taken best first."""
    if not len(pred_index) or not len(ref_index):
        return []
    tree = shapely.STRtree(refs[ref_index])
    p_local, r_local = tree.query(preds[pred_index], predicate="intersects")
    p, r = pred_index[p_local], ref_index[r_local]
    inter = shapely.area(shapely.intersection(preds[p], refs[r]))
    union = shapely.area(preds[p]) + shapely.area(refs[r]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    good = iou >= match_iou
    p, r, iou = p[good], r[good], iou[good]
    order = np.lexsort((r, p, -iou))  # best IoU first, ties in input order
    used_p: set[int] = set()
    used_r: set[int] = set()
    matched: list[tuple[int, int, float]] = []
    for k in order:
        pi, ri = int(p[k]), int(r[k])
        if pi in used_p or ri in used_r:
            continue
        used_p.add(pi)
        used_r.add(ri)
        matched.append((pi, ri, float(iou[k])))
    return matched
