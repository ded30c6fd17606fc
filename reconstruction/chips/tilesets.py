"""One tileset per layer for the whole area: a root whose children are the chips' tilesets (external).

3D Tiles lets a tile's content be another tileset.json: each chip keeps its own tileset (its ENU root
transform, its levels of detail) and the root only knows each chip's bounding region and geometric
error, so a viewer loads the chips it looks at and nothing else. Regions are in WGS 84 radians, which
needs no transform at the root.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

_ECEF_TO_GEODETIC = Transformer.from_crs(4978, 4979, always_xy=True)


def write_root_tileset(children: Sequence[Path], out: Path) -> Path:
    """Write ``out`` (a tileset.json) referencing the tilesets ``children`` by relative URI.

    The root is an empty tile refined by ADD: every chip's tileset adds its part of the area.
    """
    tiles: list[dict[str, Any]] = []
    regions = []
    for child in children:
        tileset = json.loads(child.read_text())
        region = _region(tileset["root"])
        regions.append(region)
        tiles.append(
            {
                "boundingVolume": {"region": region},
                "geometricError": float(tileset["geometricError"]),
                "content": {"uri": child.relative_to(out.parent).as_posix()},
            }
        )
    box = np.array(regions)
    union = [*box[:, :2].min(axis=0), *box[:, 2:4].max(axis=0), box[:, 4].min(), box[:, 5].max()]
    error = max(float(t["geometricError"]) for t in tiles)
    document = {
        "asset": {"version": "1.1", "generator": "rs3d"},
        "geometricError": error,
        "root": {
            "boundingVolume": {"region": [float(v) for v in union]},
            "geometricError": error,
            "refine": "ADD",
            "children": tiles,
        },
    }
    out.write_text(json.dumps(document, indent=1))
    return out


def _region(root: dict[str, Any]) -> list[float]:
    """The WGS 84 region (radians, metres) around a root tile's bounding volume, placed by its transform."""
    volume = root["boundingVolume"]
    if "region" in volume:
        return [float(v) for v in volume["region"]]
    if "box" in volume:
        box = np.asarray(volume["box"], dtype=np.float64)
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)
        corners = box[:3] + signs @ box[3:].reshape(3, 3)
    elif "sphere" in volume:
        cx, cy, cz, r = volume["sphere"]
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)
        corners = np.array([cx, cy, cz]) + r * signs
    else:
        raise ValueError(f"Unknown bounding volume {sorted(volume)}.")
    matrix = np.asarray(root.get("transform", np.eye(4).T.ravel()), dtype=np.float64).reshape(4, 4).T
    ecef = (matrix @ np.column_stack([corners, np.ones(len(corners))]).T).T[:, :3]
    lon, lat, height = _ECEF_TO_GEODETIC.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    lon, lat = np.radians(lon), np.radians(lat)
    return [
        float(lon.min()),
        float(lat.min()),
        float(lon.max()),
        float(lat.max()),
        float(height.min()),
        float(height.max()),
    ]
