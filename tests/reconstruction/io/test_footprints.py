"""Footprint files: checked like every other input, and used by the pipeline."""

import json

import geopandas as gpd
import pytest
import shapely

from reconstruction import PipelineConfig, PipelineInputs, run_pipeline
from reconstruction.errors import CRSError, InputError, OverlapError
from reconstruction.io import inspect_footprints


def _write(path, geometries, crs="EPSG:32631"):
    gpd.GeoDataFrame({"id": range(len(geometries))}, geometry=geometries, crs=crs).to_file(path)
    return path


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_bad_footprint_files_are_refused_with_a_reason(tmp_path):
    points = _write(tmp_path / "points.gpkg", [shapely.Point(0, 0)])
    with pytest.raises(InputError, match="must be polygons"):
        inspect_footprints(points, None)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("{not json")
    with pytest.raises(InputError, match="cannot be read as a GeoJSON file"):
        inspect_footprints(garbage, None)
    # A file without a CRS (GeoJSON always has one: WGS 84) needs the EPSG code.
    _write(tmp_path / "bare.gpkg", [shapely.box(0, 0, 1, 1)], crs=None)
    with pytest.raises(CRSError, match="EPSG code"):
        inspect_footprints(tmp_path / "bare.gpkg", None)
    assert inspect_footprints(tmp_path / "bare.gpkg", 2154).crs.to_epsg() == 2154


def test_the_pipeline_uses_the_map_and_refuses_one_elsewhere(small_scene, small_scene_files, tmp_path):
    truth = [b["footprint"] for b in small_scene.buildings]
    good = _write(tmp_path / "map.gpkg", truth, crs=small_scene.crs)
    inputs = PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"], footprints=good)
    result = run_pipeline(inputs, PipelineConfig(), tmp_path / "out")
    features = json.loads((tmp_path / "out" / result.manifest["vectors"]["features"]).read_text())["features"]
    sources = [f["properties"]["footprint_source"] for f in features if f["properties"]["class"] == "building"]
    assert sources and sources.count("map") >= 0.9 * len(sources)
    far = _write(tmp_path / "far.gpkg", [shapely.box(0, 0, 10, 10)], crs=small_scene.crs)
    with pytest.raises(OverlapError, match="touches the area"):
        run_pipeline(
            PipelineInputs(ortho=small_scene_files["ortho"], dsm=small_scene_files["dsm"], footprints=far),
            PipelineConfig(),
            tmp_path / "out2",
        )
