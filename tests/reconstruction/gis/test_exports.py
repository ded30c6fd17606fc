import json

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS
from rio_cogeo.cogeo import cog_validate
from shapely.geometry import box

from reconstruction.gis import write_cog, write_geojson, write_gpkg
from reconstruction.io import Grid
from reconstruction.objects import Feature

GRID = Grid(CRS.from_epsg(2154), Affine(0.5, 0, 770000, 0, -0.5, 6277100), 600, 500)
FEATURES = [
    Feature("building", box(770010, 6277010, 770030, 6277020), {"height_m": 9.5, "area_m2": 200.0}),
    Feature("vegetation", box(770050, 6277050, 770055, 6277056), {"height_m": 7.0, "area_m2": 30.0}),
]


def test_cog_round_trip_float_with_nodata(tmp_path):
    data = np.random.default_rng(1).normal(50, 5, GRID.shape).astype(np.float32)
    data[0, :10] = np.nan
    path = write_cog(data, GRID, tmp_path / "dsm.tif", -9999.0)
    valid, errors, _ = cog_validate(path)
    assert valid, errors
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 2154 and src.transform == GRID.transform and src.nodata == -9999
        back = src.read(1, masked=True)
    assert back.mask[0, :10].all()
    np.testing.assert_array_equal(back.filled(np.nan)[1:], data[1:])


def test_cog_round_trip_labels(tmp_path):
    labels = np.random.default_rng(2).choice(np.array([0, 2, 5, 6], np.uint8), GRID.shape)
    with rasterio.open(write_cog(labels, GRID, tmp_path / "labels.tif", 0)) as src:
        np.testing.assert_array_equal(src.read(1), labels)


def test_gpkg_round_trip(tmp_path):
    frame = gpd.read_file(write_gpkg(FEATURES, tmp_path / "f.gpkg", GRID.crs, "features"), engine="pyogrio")
    assert frame.crs.to_epsg() == 2154
    assert list(frame["kind"]) == ["building", "vegetation"]
    assert list(frame["height_m"]) == [9.5, 7.0]
    assert frame.geometry[0].equals(FEATURES[0].geometry)


def test_geojson_is_wgs84_and_keeps_attributes(tmp_path):
    collection = json.loads(write_geojson(FEATURES, tmp_path / "f.geojson", GRID.crs).read_text())
    first = collection["features"][0]
    assert first["properties"] == {"class": "building", "height_m": 9.5, "area_m2": 200.0}
    lon, lat = first["geometry"]["coordinates"][0][0]
    assert 3.8 < lon < 3.9 and 43.5 < lat < 43.7  # Montpellier
