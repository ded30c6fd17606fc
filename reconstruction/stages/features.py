"""Stage ``features``: buildings (LoD1), trees, low vegetation, roads, water and land use as vector files.

Modelled by :mod:`reconstruction.objects`, written by :mod:`reconstruction.gis` (GeoPackage, GeoJSON, CityJSON).
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from reconstruction import gis, objects, terrain
from reconstruction.chips.extent import Extent
from reconstruction.config import PipelineConfig
from reconstruction.stages import relative_path
from reconstruction.stages.inputs import Area
from reconstruction.stages.surfaces import ROAD, Surfaces
from reconstruction.stages.terrain import Relief


@dataclass
class Features:
    """The mapped features of a run.

    Attributes:
        vectors: the written files (the manifest's ``vectors``), relative to the output folder.
        counts: features per class.
        buildings: the LoD1 buildings (for the ``tiles`` stage).
        mapped: the features by layer name (``buildings``, ``trees``, ``roads``, ...).
    """

    vectors: dict[str, str]
    counts: dict[str, int]
    buildings: list[objects.Building]
    mapped: dict[str, list[objects.Feature]]


def run_features(surfaces: Surfaces, relief: Relief, area: Area, cfg: PipelineConfig, out_dir: Path) -> Features:
    """Model and write every feature class (see :func:`_write_features`)."""
    return Features(*_write_features(surfaces, relief.ndsm, relief.tin, area.footprints, cfg, out_dir, area.extent))


def _write_features(
    s: Surfaces,
    ndsm: npt.NDArray[np.float32],
    tin: terrain.Tin,
    footprints: list[Any] | None,
    cfg: PipelineConfig,
    out_dir: Path,
    extent: Extent,
) -> tuple[dict[str, str], dict[str, int], list[objects.Building], dict[str, list[objects.Feature]]]:
    """Buildings (LoD1, with attributes) and vegetation patches as GeoPackage, GeoJSON and CityJSON.

    Buildings and trees are modelled on the whole grid and kept when the extent keeps them (whole, never
    cut); area features (vegetation, roads, water, land use) are traced on the kept core only, so that
    a chip's pieces meet its neighbours' along the core's edge.

    Returns:
        The written files (manifest ``vectors``), counts per class, the LoD1 buildings, and the mapped
        features by layer name (``trees``, ``roads``, ...) for the 3D tiles.
    """
    assert s.labels is not None and s.dtm is not None
    folder = out_dir / "vectors"
    folder.mkdir(exist_ok=True)
    mask = s.labels == objects.rules.BUILDING
    buildings = [
        dataclasses.replace(b, id=b.id + extent.id_offset)
        for b in objects.extract_buildings(mask, ndsm, s.dtm, s.grid, cfg.buildings, footprints)
        if extent.keeps(b.footprint)
    ]
    trees = objects.detect_trees(s.labels == objects.rules.HIGH_VEGETATION, ndsm, s.dtm, s.grid, cfg.trees)
    trees = [t for t in trees if extent.keeps_xy(np.array([t.x]), np.array([t.y]))[0]]
    labels, dtm, core = extent.crop(s.labels), extent.crop(s.dtm), extent.core_grid
    low = objects.low_vegetation_areas(labels == objects.rules.LOW_VEGETATION, core, cfg.features.min_low_vegetation_m2)
    roads = [
        dataclasses.replace(r, id=r.id + extent.id_offset) for r in objects.extract_roads(labels == ROAD, dtm, core)
    ]
    water = objects.water_bodies(labels, core)
    blocks = objects.land_use_blocks(labels, core)
    confidence = _feature_confidence(s, s.prediction.class_confidence if s.prediction is not None else None)
    refined = _feature_confidence(s, s.refined_confidence)
    found = {
        # building_id is the feature id inside the 3D Tiles, so a picked building finds its database row.
        "buildings": [
            objects.Feature("building", b.footprint, {"building_id": b.id, **b.attributes, **confidence(b.footprint)})
            for b in buildings
        ],
        "trees": [objects.Feature("tree", t.crown, _tree_attributes(t) | confidence(t.crown)) for t in trees],
        "low_vegetation": [
            objects.Feature("low_vegetation", p, {"area_m2": round(float(p.area), 1), **confidence(p)}) for p in low
        ],
        "roads": [
            objects.Feature("road", r.polygon, r.attributes | confidence(r.polygon) | refined(r.polygon)) for r in roads
        ],
        "water": [
            objects.Feature("water", w, {"area_m2": round(float(w.area), 1), **confidence(w), **refined(w)})
            for w in water
        ],
        "land_use": [objects.Feature("land_use", b.polygon, b.attributes) for b in blocks],
    }
    centrelines = [objects.Feature("road_centreline", r.centreline, r.attributes) for r in roads]
    vectors: dict[str, str] = {}
    for name, features in found.items():
        if features:
            vectors[name] = relative_path(gis.write_gpkg(features, folder / f"{name}.gpkg", s.grid.crs, name), out_dir)
    if centrelines:
        vectors["road_centrelines"] = relative_path(
            gis.write_gpkg(centrelines, folder / "road_centrelines.gpkg", s.grid.crs, "road_centrelines"), out_dir
        )
    # A chip's TIN joins the city model at the merge, once its seams are closed.
    whole_tin = (tin.vertices, tin.triangles) if extent.chip is None else None
    city = gis.write_cityjson(buildings, folder / "city.json", s.grid.crs, tin=whole_tin)
    vectors["cityjson"] = relative_path(city, out_dir)
    everything = [feature for features in found.values() for feature in features]
    counts = {
        "building": len(buildings),
        "tree": len(trees),
        "low_vegetation": len(low),
        "road": len(roads),
        "water": len(water),
        "land_use": len(blocks),
    }
    # Every feature in WGS 84 GeoJSON too: what web clients and the database loader read.
    vectors["features"] = relative_path(
        gis.write_geojson(everything, out_dir / "vectors" / "features.geojson", s.grid.crs), out_dir
    )
    return vectors, counts, buildings, found


def _feature_confidence(
    s: Surfaces, raster: npt.NDArray[np.float32] | None
) -> Callable[[BaseGeometry], dict[str, float]]:
    """``confidence(geometry)``: the model's mean class confidence inside it ({} without a model raster)."""
    if raster is None:
        return lambda _geometry: {}

    def confidence(geometry: BaseGeometry) -> dict[str, float]:
        window, inside = s.grid.cells_of(geometry, all_touched=True)
        return {"class_confidence": round(float(raster[window][inside].mean()), 3)} if inside.any() else {}

    return confidence


def _tree_attributes(tree: objects.Tree) -> dict[str, float]:
    return {
        "height_m": round(tree.height_m, 2),
        "crown_diameter_m": round(tree.crown_diameter_m, 2),
        "ground_m": round(tree.ground_m, 2),
        "top_x": round(tree.x, 3),
        "top_y": round(tree.y, 3),
    }
