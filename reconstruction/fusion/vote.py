"""Weighted vote across views: each view that sees a point votes for the label under it.

A vote weighs ``confidence * max(|cos(ray, normal)|, 0.1) / distance``: a confident label, seen square
on and from near, counts most. The winner is the class with the largest summed weight; its share of
the point's total weight is the fused confidence. A point's class is replaced only when enough views
saw it and the winner holds a clear majority.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

#: Cosine floor: a surface seen edge-on (or with a poor normal estimate) still casts a small vote.
MIN_COSINE = 0.1


@dataclass(frozen=True)
class Vote:
    """The outcome of the vote, per point.

    Attributes:
        winner: (N,) winning class code; the point's current class where no view voted.
        confidence: (N,) winner's share of the weighted vote in [0, 1]; 0 where no view voted.
        views: (N,) number of views that saw the point and had a label for it.
        classification: (N,) the new classes: the winner where it disagrees with a clear majority, else unchanged.
    """

    winner: U8
    confidence: F32
    views: npt.NDArray[np.uint16]
    classification: U8


class VoteTally:
    """Accumulates weighted votes of every view, one column per class code."""

    def __init__(self, n_points: int, codes: tuple[int, ...]) -> None:
        """Empty tallies for ``n_points`` points and the class ``codes`` a label may hold."""
        self.codes = np.asarray(sorted(codes), dtype=np.uint8)
        self._column = np.full(256, -1, dtype=np.int64)
        self._column[self.codes] = np.arange(len(self.codes))
        self.weights = np.zeros((n_points, len(self.codes)), dtype=np.float32)
        self.views = np.zeros(n_points, dtype=np.uint16)

    def add(self, index: I64, labels: U8, weight: F32) -> None:
        """Add one view's votes.

        Args:
            index: (M,) distinct point indices (each point votes at most once per view).
            labels: (M,) class code under each point; codes outside the tally are ignored.
            weight: (M,) weight of each vote.
        """
        column = self._column[labels]
        ok = column >= 0
        self.weights[index[ok], column[ok]] += weight[ok]
        self.views[index[ok]] += 1

    def decide(self, current: U8, majority: float, min_views: int) -> Vote:
        """Winner, fused confidence and the new classes.

        Args:
            current: (N,) the points' current classes.
            majority: Share of the vote the winner needs to replace a disagreeing class.
            min_views: Views that must have seen a point before its class may be replaced.
        """
        total = self.weights.sum(axis=1)
        best = np.argmax(self.weights, axis=1)
        voted = total > 0
        winner = np.where(voted, self.codes[best], current).astype(np.uint8)
        top = np.take_along_axis(self.weights, best[:, None], axis=1)[:, 0]
        confidence = np.zeros(len(total), dtype=np.float32)
        confidence[voted] = top[voted] / total[voted]
        replace = voted & (self.views >= min_views) & (confidence >= majority) & (winner != current)
        return Vote(
            winner=winner,
            confidence=confidence,
            views=self.views,
            classification=np.where(replace, winner, current).astype(np.uint8),
        )


def vote_weights(confidence: F32 | None, rays: F64, distance: F64, normals: F32 | None) -> F32:
    """Weight of each vote: label confidence x |cos(ray, normal)| (floored at MIN_COSINE) / distance.

    Args:
        confidence: (M,) label confidence in [0, 1], or ``None`` for 1.
        rays: (M, 3) unit viewing directions, camera to point.
        distance: (M,) camera-to-point distance, metres.
        normals: (M, 3) unit surface normals, or ``None`` to leave out the angle factor.
    """
    weight = 1.0 / np.maximum(distance, 1e-6)
    if normals is not None:
        cosine = np.abs(np.einsum("ij,ij->i", rays, normals.astype(np.float64)))
        weight *= np.maximum(cosine, MIN_COSINE)
    if confidence is not None:
        weight *= confidence
    return weight.astype(np.float32)
