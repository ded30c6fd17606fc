"""Uploads that try to reach beyond themselves are refused by the API and the form, fetching nothing.

The crafted files are those of ``tests/hostile_files.py`` (the core's ``check`` refuses the same ones):
VRTs over another area's files, over URLs and over ``/etc/passwd``, a GDALG pipeline, zips whose members
point out. Each upload must answer 400 with the reason, keep nothing, and make no request to the loopback
listener that every URL in the corpus names.
"""

import re

import geopandas as gpd
import pytest
import shapely

from backend.areas.models import Area, Source
from tests.backend.conftest import listing
from tests.hostile_files import Listener, build_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, listener, scene_files):
    folder = tmp_path_factory.mktemp("hostile")
    victim = folder / "other_area" / "buildings.gpkg"
    victim.parent.mkdir()
    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32631").to_file(
        victim, layer="buildings"
    )
    return {case.name: case for case in build_corpus(folder / "corpus", listener, victim, scene_files["ortho"])}


def _files(case, scene_files):
    """The crafted file in its field, with a real orthophoto (or second view) beside it where one is needed."""
    files = {case.field: case.path}
    if case.field == "stereo_1":
        files["stereo_2"] = scene_files["ortho"]
    elif case.field != "ortho":
        files["ortho"] = scene_files["ortho"]
    if case.field == "dsm":
        files["epsg"] = 32631
    return files


def _names():
    # The corpus is built per module (it needs the listener's port); its case names are fixed.
    return [
        "OGR VRT over another area",
        "OGR VRT named .gpkg",
        "OGR VRT over a URL",
        "GDALG pipeline",
        "raster VRT over an orthophoto",
        "raster VRT over /etc/passwd",
        "raster VRT over a URL",
        "raw VRT with RPCs",
        "LiDAR that is a VRT",
        "zip of a VRT",
        "zip with a /vsicurl/ member",
        "zip climbing out",
        "zip whose .shp is a VRT",
    ]


def test_the_corpus_names_every_case_this_module_posts(corpus):
    assert sorted(corpus) == sorted(_names())


@pytest.mark.parametrize("name", _names())
def test_the_api_refuses_each_crafted_file_and_fetches_nothing(api, corpus, scene_files, media_root, listener, name):
    case = corpus[name]
    data = {"name": "Hostile"}
    handles = {field: path.open("rb") for field, path in _files(case, scene_files).items() if field != "epsg"}
    try:
        response = api.post("/api/areas/", {**data, **handles}, format="multipart")
    finally:
        for handle in handles.values():
            handle.close()
    assert response.status_code == 400, response.content
    body = str(response.json())
    assert case.path.name in body
    assert "media" not in body and str(media_root) not in body  # the file's own name, never where it lies
    assert re.search(case.reason, body), body
    assert Area.objects.count() == 0 and Source.objects.count() == 0 and listing(media_root) == set()
    assert listener.requests == []


@pytest.mark.parametrize("name", ["OGR VRT over another area", "raster VRT over /etc/passwd", "zip of a VRT"])
def test_the_form_refuses_crafted_files_with_the_reason(web, corpus, scene_files, media_root, listener, name):
    case = corpus[name]
    handles = {field: path.open("rb") for field, path in _files(case, scene_files).items() if field != "epsg"}
    try:
        response = web.post("/areas/new/", {"name": "Hostile", "epsg": "32631", **handles})
    finally:
        for handle in handles.values():
            handle.close()
    assert response.status_code == 200
    page = response.content.decode()
    assert case.path.name in page
    assert "not one of the formats" in page or "holds only its parts" in page
    assert Area.objects.count() == 0 and listing(media_root) == set()
    assert listener.requests == []


def test_a_file_whose_name_is_a_vsicurl_path_is_stored_under_its_own_name_and_fetches_nothing(
    api, scene_files, tmp_path, media_root, listener
):
    """The upload keeps only a harmless basename, so GDAL never sees the name as a path to follow.

    The multipart body is written by hand: Django's test client would send only the name's basename.
    """
    path = tmp_path / "map.geojson"
    box = shapely.box(574_010, 5_096_010, 574_030, 5_096_030)
    gpd.GeoDataFrame({"id": [1]}, geometry=[box], crs="EPSG:32631").to_file(path)
    parts = [("name", None, b"Named"), ("ortho", "ortho.tif", scene_files["ortho"].read_bytes())]
    parts.append(("footprints", f"/vsicurl/{listener.url}/map.geojson", path.read_bytes()))
    body = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--BOUNDARY\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    body += b"--BOUNDARY--\r\n"
    response = api.generic("POST", "/api/areas/", body, content_type="multipart/form-data; boundary=BOUNDARY")
    assert response.status_code == 201, response.json()
    stored = Source.objects.get(kind="footprints")
    assert "vsicurl" not in stored.path and stored.path.endswith("map.geojson")
    assert listener.requests == []


def test_a_crafted_file_sent_in_chunks_is_refused_like_any_other(api, corpus, scene_files, listener):
    from tests.backend.test_staged_uploads import _send

    crafted = corpus["OGR VRT over a URL"]
    ortho, footprints = _send(api, scene_files["ortho"]), _send(api, crafted.path)
    response = api.post("/api/areas/", {"name": "Chunked", "ortho_upload": ortho, "footprints_upload": footprints})
    assert response.status_code == 400 and "XML file" in str(response.json())
    assert crafted.path.name in str(response.json())
    assert Area.objects.count() == 0 and listener.requests == []


def test_the_worker_reads_no_header_of_a_file_that_is_not_a_tiff(corpus, scene_files, listener):
    """The worker's look at an orthophoto's size uses GeoDjango's GDAL, which would open a VRT and follow it."""
    from django.contrib.gis.gdal import GDALRaster

    from backend.jobs.chips import _fits_one_chip

    vrt = corpus["raster VRT over an orthophoto"].path
    assert GDALRaster(str(vrt)).srs.projected  # GDAL alone opens it, and it would "fit one chip"
    assert not _fits_one_chip(vrt, 1000)  # so the worker leaves it to the core's checks
    assert _fits_one_chip(scene_files["ortho"], 1000)  # a real GeoTIFF is read
    assert listener.requests == []
