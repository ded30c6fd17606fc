"""Read a pnts tileset back into ECEF points, applying the transform chain (for tests)."""

import json
from pathlib import Path

import numpy as np
from py3dtiles.tileset.content import read_binary_tile_content


def read_tileset_points(tileset_json: Path, leaves_only: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Contents of the tileset: {uri: {"xyz": (N, 3) ECEF metres, "classification": (N,), "rgb": (N, 3)}}.

    With ``leaves_only`` only tiles without children are read: for py3dtiles' octree their union is the
    full-resolution cloud (inner tiles hold subsampled copies for distant views).
    """
    root_dir = tileset_json.parent
    tileset = json.loads(tileset_json.read_text())
    out: dict[str, dict[str, np.ndarray]] = {}

    def walk(tile: dict, parent: np.ndarray) -> None:
        matrix = parent @ np.array(tile.get("transform", np.eye(4).T.ravel()), dtype=np.float64).reshape(4, 4).T
        uri = tile.get("content", {}).get("uri")
        if uri and not (leaves_only and tile.get("children")):
            body = read_binary_tile_content(root_dir / uri).body
            ft = body.feature_table
            n = ft.nb_points()
            positions = ft.body.position.reshape(-1, 3).astype(np.float64)
            homogeneous = np.column_stack([positions, np.ones(n)])
            xyz = (matrix @ homogeneous.T).T[:, :3]
            colours = ft.body.color.reshape(-1, 3) if ft.body.color is not None else np.zeros((n, 3), np.uint8)
            classes = np.asarray(body.batch_table.get_binary_property("classification")).reshape(-1)
            out[uri] = {"xyz": xyz, "classification": classes, "rgb": colours}
        for child in tile.get("children", []):
            walk(child, matrix)

    walk(tileset["root"], np.eye(4))
    return out
