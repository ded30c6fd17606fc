"""Read tilesets back for tests: glb or pnts points in ECEF, glb tiles in their frames, gltf-validator reports."""

import json
from pathlib import Path

import numpy as np


def read_tileset_points(tileset_json: Path, leaves_only: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Contents of a point tileset (glb point tiles, or pnts): {uri: {"xyz": (N, 3) ECEF metres,
    "classification": (N,), "rgb": (N, 3), "feature_ids": (N,) or None, "properties": {name: per-row values},
    "tile": the tile's JSON}}.

    With ``leaves_only`` only the tiles drawn at full detail are read, whose union is the full-resolution
    cloud: the leaves, and tiles refined by ADD (their points stay drawn under their children's), but not
    REPLACE parents (their points are subsampled copies for distant views).
    """
    root_dir = tileset_json.parent
    tileset = json.loads(tileset_json.read_text())
    out: dict[str, dict[str, np.ndarray]] = {}

    def walk(tile: dict, parent: np.ndarray) -> None:
        matrix = parent @ np.array(tile.get("transform", np.eye(4).T.ravel()), dtype=np.float64).reshape(4, 4).T
        uri = tile.get("content", {}).get("uri")
        if uri and not (leaves_only and tile.get("children") and tile.get("refine") == "REPLACE"):
            local, rgb, feature_ids, properties = _read_points(root_dir / uri)
            n = len(local)
            xyz = (matrix @ np.column_stack([local, np.ones(n)]).T).T[:, :3]
            rows = feature_ids if feature_ids is not None else np.arange(n)
            out[uri] = {
                "xyz": xyz,
                "classification": properties["classification"][rows],
                "rgb": rgb if rgb is not None else np.zeros((n, 3), np.uint8),
                "feature_ids": feature_ids,
                "properties": properties,
                "tile": tile,
            }
        for child in tile.get("children", []):
            walk(child, matrix)

    walk(tileset["root"], np.eye(4))
    return out


def _read_points(path: Path) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, dict[str, np.ndarray]]:
    """(N, 3) positions in the tile's frame (Z up), colours, each point's feature id (row), property columns."""
    from reconstruction.tiles3d.content.glb import Glb
    from reconstruction.tiles3d.content.pnts import Pnts

    data = path.read_bytes()
    if data[:4] == b"glTF":
        glb = Glb.from_bytes(data)
        points = glb.points()
        yup = points.xyz()
        local = (Y_UP_TO_Z_UP[:3, :3] @ yup.T).T
        features = glb.gltf.meshes[0].primitives[0].extensions["EXT_mesh_features"]["featureIds"][0]
        # implicit ids (no attribute): point i is feature i
        ids = np.arange(len(local)) if "attribute" not in features else None
        return local, points.colors, ids, glb.property_table().columns
    pnts = Pnts.from_bytes(data)
    positions = pnts.positions.astype(np.float64)
    if pnts.rtc_center is not None:
        positions += pnts.rtc_center
    return positions, pnts.rgb, pnts.batch_ids, pnts.properties


GLTF_VALIDATOR = Path(__file__).resolve().parents[3] / "frontend" / "node_modules" / "gltf-validator"
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
_VALIDATE_JS = """
const fs = require('fs');
const validator = require(process.argv[1]);
(async () => {
  const out = {};
  for (const f of process.argv.slice(2)) {
    const bytes = new Uint8Array(fs.readFileSync(f));
    const r = await validator.validateBytes(bytes, {uri: f, format: 'glb', maxIssues: 0, writeTimestamp: false});
    out[f] = r.issues.messages.map((m) => ({severity: m.severity, code: m.code, pointer: m.pointer}));
  }
  console.log(JSON.stringify(out));
})();
"""


def read_glb_tiles(tileset_path: Path) -> list[dict]:
    """Every tile with its box, the matrix of its frame (tile transforms) and its glb in that frame.

    Each entry: {"tile", "matrix", "ancestors"} and, for tiles with content, {"glb", "mesh", "frame_xyz"
    (positions in the tile's frame, Z up), "ecef"}.
    """
    from reconstruction.tiles3d.content.glb import Glb

    tileset = json.loads(tileset_path.read_text())
    out: list[dict] = []

    def walk(tile: dict, parent: np.ndarray, ancestors: list[dict]) -> None:
        matrix = parent @ np.array(tile.get("transform", np.eye(4).T.ravel()), dtype=np.float64).reshape(4, 4).T
        entry = {"tile": tile, "matrix": matrix, "ancestors": ancestors}
        if "content" in tile:
            glb = Glb.from_file(tileset_path.parent / tile["content"]["uri"])
            mesh = glb.mesh()
            local = mesh.positions.astype(np.float64) + mesh.origin  # the node's translation
            frame = (Y_UP_TO_Z_UP @ np.column_stack([local, np.ones(len(local))]).T).T
            entry |= {"glb": glb, "mesh": mesh, "frame_xyz": frame[:, :3], "ecef": (matrix @ frame.T).T[:, :3]}
        out.append(entry)
        for child in tile.get("children", []):
            walk(child, matrix, [*ancestors, entry])

    walk(tileset["root"], np.eye(4), [])
    return out


def inside_box(box: list[float], xyz: np.ndarray) -> bool:
    """Whether every point lies in the oriented box (12 numbers: centre, three half-axes)."""
    centre, axes = np.asarray(box[:3]), np.asarray(box[3:]).reshape(3, 3)
    local = (xyz - centre) @ axes.T / (np.linalg.norm(axes, axis=1) ** 2)  # coordinates in half-axis units
    return bool(np.all(np.abs(local) <= 1 + 1e-9))


def validate_glbs(glbs: list[Path]) -> dict[str, list[dict]]:
    """Khronos' gltf-validator (npm) on each glb: {path: [{severity, code, pointer}]} (severity 0 = error).

    Skips the test (fails in CI) when node or the validator is missing.
    """
    import shutil
    import subprocess

    from tests.conftest import require

    node = shutil.which("node")
    require(node is not None and GLTF_VALIDATOR.is_dir(), "node or frontend/node_modules/gltf-validator is missing")
    assert node is not None
    command = [node, "-e", _VALIDATE_JS, str(GLTF_VALIDATOR), *map(str, glbs)]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    report: dict[str, list[dict]] = json.loads(run.stdout)
    assert set(report) == {str(g) for g in glbs}
    return report
