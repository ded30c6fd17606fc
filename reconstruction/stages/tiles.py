"""Stage ``tiles``: every 3D layer as OGC 3D Tiles: points, LoD1 buildings, terrain, trees, roads.

Written by :mod:`reconstruction.tiles3d`.
"""

from pathlib import Path

import numpy as np

from reconstruction import tiles3d
from reconstruction.config import PipelineConfig
from reconstruction.progress import ProgressCallback
from reconstruction.stages.features import Features
from reconstruction.stages.inputs import Area
from reconstruction.stages.pointcloud import Points
from reconstruction.stages.surfaces import Surfaces
from reconstruction.stages.terrain import Relief


def run_tiles(
    area: Area,
    surfaces: Surfaces,
    relief: Relief,
    points: Points,
    features: Features,
    cfg: PipelineConfig,
    out_dir: Path,
    on_progress: ProgressCallback,
) -> dict[str, Path]:
    """Write the tilesets under ``out_dir/tiles``; the layer name -> ``tileset.json`` path.

    The point cloud is tiled from memory. A chip leaves its terrain to the merge (which closes the seams
    first) and keeps the TIN as ``terrain/tin.npz`` instead.
    """
    crs, tin, tiles = area.grid.crs, relief.tin, out_dir / "tiles"
    layers = {"pointcloud": tiles3d.write_cloud_tileset(points.cloud, tiles / "pointcloud", crs, cfg.output.tile_jobs)}
    buildings, mapped = features.buildings, features.mapped
    if buildings:
        on_progress("tiles", 0.9, f"LoD1 buildings: {len(buildings)}")
        confidences = {
            f.attributes["building_id"]: f.attributes["class_confidence"]
            for f in mapped["buildings"]
            if "class_confidence" in f.attributes
        }
        layers["buildings"] = tiles3d.write_building_tileset(
            buildings, crs, tiles / "buildings", class_confidence=confidences
        )
    if len(tin) and area.extent.chip is None:
        on_progress("tiles", 0.93, f"Terrain TIN: {len(tin)} triangles")
        layers["terrain"] = tiles3d.write_terrain_tileset(tin, crs, tiles / "terrain", relief.report.max_error_m)
    elif len(tin):  # the merge snaps the seams to its neighbours' heights, then tiles it
        (out_dir / "terrain").mkdir(exist_ok=True)
        np.savez(out_dir / "terrain" / "tin.npz", vertices=tin.vertices, triangles=tin.triangles)
    if mapped["trees"]:
        layers["trees"] = tiles3d.write_tree_tileset(mapped["trees"], crs, tiles / "trees")
    if mapped["roads"] and surfaces.dtm is not None:
        layers["roads"] = tiles3d.write_road_tileset(mapped["roads"], surfaces.dtm, area.grid, tiles / "roads")
    return layers
