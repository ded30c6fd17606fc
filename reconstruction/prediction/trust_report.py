"""What the trust gate did to an area, and the area's figures from its chips' (no torch: a chip merge reads it).

:func:`reconstruction.prediction.trust.gate` makes a :class:`TrustReport` per run; a chipped run's merge combines
the chips' with :func:`merge_reports`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The report's figures in square metres: a chipped area's are its chips' summed.
_AREA_KEYS = ("untrusted_m2", "covered_m2", "removed_building_m2", "kept_building_m2")


@dataclass(frozen=True)
class TrustReport:
    """What the gate did to one area, for the warnings and the manifest.

    Attributes:
        shift_score: median feature distance of the area over that of the training towns (1: like them).
        untrusted_share: share of the covered area left as ground with no extrusion, 0..1.
        untrusted_m2: that area in square metres.
        covered_m2: the area the network predicted (the share's whole), square metres.
        removed_building_m2: predicted building area the gate removed.
        kept_building_m2: predicted building area it kept.
        max_distance: the trust threshold on the feature distance.
        tuned_on: the real region that fixed the threshold.
    """

    shift_score: float
    untrusted_share: float
    untrusted_m2: float
    covered_m2: float
    removed_building_m2: float
    kept_building_m2: float
    max_distance: float
    tuned_on: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded."""
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def warning(self, label: str) -> str:
        """The sentence the user reads on the job page."""
        score = f"distribution-shift score {self.shift_score:.2f}; 1 is like them"
        if self.untrusted_m2 == 0:
            return (
                f"Trust gate of {label}: the whole area looks enough like the generated towns the model learned "
                f"from ({score}) to show its prediction everywhere; {self.kept_building_m2:,.0f} m² of buildings kept."
            )
        return (
            f"Trust gate of {label}: {self.untrusted_share:.0%} of the area ({self.untrusted_m2:,.0f} m²) looks unlike "
            f"the generated towns the model learned from ({score}) and was left as ground with no buildings; "
            f"{self.removed_building_m2:,.0f} m² of predicted buildings were removed there and "
            f"{self.kept_building_m2:,.0f} m² kept. Add a DSM or LiDAR for that part."
        )


def merge_reports(reports: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One area's gate figures from its chips' (:meth:`TrustReport.to_dict`), for a chipped run's manifest.

    Areas are summed. Chips overlap by their margins, so the sums count those strips twice: the share left as
    ground is the ratio of two such sums, which weighs every chip by its window as the chips themselves did.
    The median distance of the whole area is not in the chips' figures: its shift score is the chips' scores'
    median weighted by their area, and ``worst_chip_shift_score`` names how unlike the towns the least familiar
    chip looked (the number that decides whether a planner should add a DSM there). Chips run without a gate
    (their heights measured) are left out; None if none had one.
    """
    present = [r for r in reports if r and r.get("shift_score") is not None]
    if not present:
        return None
    covered = np.array([r.get("covered_m2") or 0.0 for r in present], np.float64)
    weights = covered if covered.sum() > 0 else np.ones(len(present))
    scores = np.array([r["shift_score"] for r in present], np.float64)
    order = np.argsort(scores)
    cumulative = np.cumsum(weights[order])
    median = float(scores[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    total = {key: float(sum(r.get(key) or 0.0 for r in present)) for key in _AREA_KEYS}
    merged = TrustReport(
        shift_score=median,
        untrusted_share=total["untrusted_m2"] / total["covered_m2"] if total["covered_m2"] else 0.0,
        max_distance=present[0]["max_distance"],
        tuned_on=present[0]["tuned_on"],
        **total,
    ).to_dict()
    return {**merged, "worst_chip_shift_score": round(float(scores.max()), 3), "chips": len(present)}
