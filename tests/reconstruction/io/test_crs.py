import pytest
from pyproj import CRS

from reconstruction.errors import ConfigError, CRSError
from reconstruction.io import crs_from_epsg, crs_label, is_metric_projected, resolve_crs, utm_for


def test_missing_crs_without_code_is_refused_with_a_way_out():
    with pytest.raises(CRSError, match="carries no coordinate reference system.*EPSG code"):
        resolve_crs(None, None, "orthophoto 'a.tif'")


def test_missing_crs_uses_the_given_code_and_says_so():
    crs, warnings = resolve_crs(None, 2154, "LiDAR file 'x.laz'")
    assert crs.to_epsg() == 2154
    assert "EPSG:2154" in warnings[0]


def test_file_crs_wins_over_the_given_code():
    crs, warnings = resolve_crs(CRS.from_epsg(32631), 2154, "DSM 'd.tif'")
    assert crs.to_epsg() == 32631
    assert warnings == []


def test_crs_without_epsg_identity_is_used_as_given_with_a_warning():
    custom = CRS.from_proj4("+proj=lcc +lat_1=49 +lat_2=44 +lat_0=46.5 +lon_0=3 +x_0=700000 +y_0=6600000 +ellps=WGS84")
    crs, warnings = resolve_crs(custom, None, "orthophoto 'o.tif'")
    assert crs.to_epsg() is None
    assert "without an EPSG identity" in warnings[0]


def test_unknown_epsg_code_is_a_config_error():
    with pytest.raises(ConfigError, match="not a known"):
        crs_from_epsg(999999)


def test_metric_and_utm_helpers():
    assert is_metric_projected(CRS.from_epsg(2154))
    assert not is_metric_projected(CRS.from_epsg(4326))
    assert not is_metric_projected(CRS.from_epsg(2263))  # US survey feet
    assert utm_for(3.87, 43.6).to_epsg() == 32631
    assert crs_label(CRS.from_epsg(28992)) == "EPSG:28992"
