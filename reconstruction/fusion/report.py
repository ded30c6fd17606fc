"""What semantic fusion did: points seen, classes changed, how far the views agreed with the cloud."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ViewReport:
    """One view's share of the work.

    Attributes:
        name: The view's name.
        in_view: Points in front of the camera that project inside its image.
        visible: Those that pass the depth test.
        voted: Visible points whose pixel holds a label (not nodata).
    """

    name: str
    in_view: int
    visible: int
    voted: int


@dataclass(frozen=True)
class FusionReport:
    """Summary of :func:`reconstruction.fusion.fuse_labels`.

    Attributes:
        points: Points in the cloud.
        seen: Points with a vote from at least one view.
        changed: Points whose class was replaced.
        agreement: Share of the seen points whose input class already was the vote's winner.
        mean_views: Mean number of voting views per seen point.
        splat_radius_m: Splat radius used by the depth test, metres.
        views: One :class:`ViewReport` per view, in input order.
        warnings: Sentences about views that saw nothing.
    """

    points: int
    seen: int
    changed: int
    agreement: float
    mean_views: float
    splat_radius_m: float
    views: tuple[ViewReport, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        return asdict(self)
