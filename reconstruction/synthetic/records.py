"""Building and tree records of the layout, in CRS coordinates, for ``SyntheticScene``."""

from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from reconstruction.synthetic.model import Layout


def building_records(lay: Layout, x0: float, y0: float) -> list[dict]:
    """Building dicts in CRS coordinates (footprint = union of the parts)."""
    records = []
    for i, building in enumerate(lay.buildings, start=1):
        boxes = [box(x0 + u0, y0 + v0, x0 + u1, y0 + v1) for u0, u1, v0, v1 in (p.rect for p in building.parts)]
        footprint = boxes[0] if len(boxes) == 1 else unary_union(boxes)
        if not isinstance(footprint, Polygon):
            footprint = footprint.convex_hull
        records.append(
            {
                "id": i,
                "footprint": orient(footprint),
                "height_m": float(building.parts[0].eave),
                "roof": building.roof,
                "ridge_height_m": float(max(p.eave + p.rise for p in building.parts)),
                "kind": building.kind,
            }
        )
    return records


def tree_records(lay: Layout, x0: float, y0: float) -> list[dict]:
    """Tree dicts in CRS coordinates."""
    return [
        {
            "x": float(x0 + u),
            "y": float(y0 + v),
            "height_m": float(height),
            "crown_diameter_m": float(2 * radius),
        }
        for u, v, height, radius, _ in lay.trees
    ]
