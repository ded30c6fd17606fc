"""A mapped object as plain data: kind, outline in the working CRS, attributes."""

from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Feature:
    """A mapped object: its kind, its outline in the working CRS and its attributes."""

    kind: str
    geometry: BaseGeometry
    attributes: dict[str, Any] = field(default_factory=dict)
