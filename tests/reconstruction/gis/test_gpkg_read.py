from pyproj import CRS
from shapely.geometry import Point, box

from reconstruction.gis import read_gpkg, write_gpkg
from reconstruction.objects import Feature


def test_gpkg_read_gives_back_the_written_features(tmp_path):
    features = [
        Feature("road", box(0, 0, 10, 4), {"road_id": 1, "grade": "local", "slope_percent": None}),
        Feature("road", Point(5, 5).buffer(2), {"road_id": 2, "grade": "primary", "slope_percent": 1.5}),
    ]
    back = read_gpkg(write_gpkg(features, tmp_path / "r.gpkg", CRS.from_epsg(32631), "roads"))
    assert [f.kind for f in back] == ["road", "road"]
    assert [f.attributes for f in back] == [f.attributes for f in features]
    assert all(b.geometry.equals_exact(f.geometry, 1e-9) for b, f in zip(back, features, strict=True))
    assert type(back[0].attributes["road_id"]) is int
