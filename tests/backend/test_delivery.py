"""Tile delivery: content types, br/gzip negotiation, ETag/304, byte ranges, HEAD, ASGI streaming, permissions."""

import asyncio
import gzip
import json
import random
import warnings
from pathlib import Path

import brotli
import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from backend.areas.models import Area
from backend.areas.publish import publish
from backend.serving.delivery import content_type

pytestmark = pytest.mark.django_db

TILESET = "tiles/pointcloud/tileset.json"
TILE = "tiles/pointcloud/r0.pnts"
RASTER = "rasters/dsm.tif"
TINY = "tiles/buildings/tileset.json"


def _tileset() -> bytes:
    box = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    children = [{"boundingVolume": {"box": box}, "content": {"uri": f"r{i}.pnts"}} for i in range(300)]
    return json.dumps({"asset": {"version": "1.1"}, "root": {"children": children}}).encode()


def _points() -> bytes:
    rng = random.Random(0)
    return b"pnts" + b"".join(rng.randrange(4).to_bytes(1, "little") * 3 + b"\x00\x10\x20" for _ in range(20_000))


FILES = {
    TILESET: _tileset(),
    TILE: _points(),
    TINY: b"{}",
    "tiles/buildings/tiles/r.glb": b"glTF" + bytes(range(256)) * 64,
    "vectors/features.geojson": json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.005, 43.005]}, "properties": p}
                for p in [{"class": "building", "height_m": 9.5}] * 50
            ],
        }
    ).encode(),
    "vectors/city.json": json.dumps({"type": "CityJSON", "CityObjects": {}} | {"x": "y" * 5000}).encode(),
    RASTER: random.Random(1).randbytes(40_000),
    "imagery/ortho.png": b"\x89PNG" + b"\x00" * 20_000,
    "pointcloud/points.laz": b"LASF" + b"\x00" * 20_000,
    "vectors/trees.gpkg": b"SQLite format 3\x00" + b"\x00" * 20_000,
}


def _stage(area: Area) -> Path:
    staging = area.folder / ".staging" / "job-1"
    for relative, body in FILES.items():
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).write_bytes(body)
    manifest = {
        "crs": "EPSG:2154",
        "bbox_wgs84": [3.0, 43.0, 3.01, 43.01],
        "layers": {"pointcloud": TILESET, "buildings": TINY},
        "vectors": {"features": "vectors/features.geojson"},
        "imagery": {"ortho": {"path": "imagery/ortho.png", "rectangle_wgs84": [3.0, 43.0, 3.01, 43.01]}},
        "ground_height_m": 20.0,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest))
    return staging


@pytest.fixture
def area(user) -> Area:
    """Alice's private area, published through ``publish`` (so with its precompressed copies)."""
    area = Area.objects.create(name="Tiles", owner=user, status=Area.Status.PROCESSING)
    publish(area, _stage(area))
    area.refresh_from_db()
    return area


def url(area: Area, relative: str) -> str:
    return f"/areas/{area.pk}/data/1/{relative}"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def decoded(response, data: bytes | None = None) -> bytes:
    data = body(response) if data is None else data
    return {"br": brotli.decompress, "gzip": gzip.decompress}.get(response.get("Content-Encoding"), bytes)(data)


# --- publication ---------------------------------------------------------------------------------------


def test_publish_writes_compressed_copies_only_where_they_pay(area):
    folder = area.current.folder
    for relative in (TILESET, TILE, "tiles/buildings/tiles/r.glb", "vectors/features.geojson", "vectors/city.json"):
        original = (folder / relative).read_bytes()
        assert brotli.decompress((folder / f"{relative}.br").read_bytes()) == original
        assert gzip.decompress((folder / f"{relative}.gz").read_bytes()) == original
        assert (folder / f"{relative}.br").stat().st_size < 0.9 * len(original)
    for relative in (TINY, RASTER, "imagery/ortho.png", "pointcloud/points.laz", "vectors/trees.gpkg"):
        assert not (folder / f"{relative}.br").exists() and not (folder / f"{relative}.gz").exists()
    assert not list(folder.rglob("*.part"))


def test_compressed_copies_are_not_files_of_the_version(web, area):
    assert web.get(url(area, f"{TILESET}.br")).status_code == 404
    assert web.get(url(area, f"{TILESET}.gz"), HTTP_ACCEPT_ENCODING="gzip").status_code == 404
    described = json.dumps(web.get(f"/api/areas/{area.pk}/").json())
    assert ".br" not in described and ".gz" not in described
    assert ".br" not in json.dumps(area.current.manifest)


# --- content types -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tileset.json", "application/json"),
        ("r.glb", "model/gltf-binary"),
        ("r.gltf", "model/gltf+json"),
        ("r0.pnts", "application/octet-stream"),
        ("r.b3dm", "application/octet-stream"),
        ("features.geojson", "application/geo+json"),
        ("city.city.json", "application/city+json"),
        ("dsm.tif", "image/tiff"),
        ("trees.gpkg", "application/geopackage+sqlite3"),
        ("points.laz", "application/vnd.laszip"),
        ("ortho.png", "image/png"),
        ("ortho.jpg", "image/jpeg"),
        ("notes.TXT", "text/plain; charset=utf-8"),
        ("unknown.zzz", "application/octet-stream"),
    ],
)
def test_content_types(name, expected):
    assert content_type(Path(name)) == expected


def test_served_content_types(web, area):
    for relative in FILES:
        response = web.get(url(area, relative), HTTP_ACCEPT_ENCODING="br")
        assert response.status_code == 200
        assert response["Content-Type"] == content_type(Path(relative))
        assert decoded(response) == FILES[relative]


# --- negotiation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        (None, None),
        ("", None),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("x-gzip", "gzip"),
        ("BR", "br"),
        ("br;q=0, gzip", "gzip"),
        ("br;q=0.4, gzip;q=0.5", "gzip"),
        ("br;q=0, gzip;q=0", None),
        ("*", "br"),
        ("*;q=0, gzip", "gzip"),
        ("br;q=0.5, identity", None),
        ("br;q=0.5, identity;q=0.5", "br"),
        ("identity", None),
        ("deflate", None),
        ("br;q=bogus, gzip;q=0.1", "gzip"),
    ],
)
def test_accept_encoding_is_negotiated(web, area, accept_encoding, expected):
    headers = {} if accept_encoding is None else {"HTTP_ACCEPT_ENCODING": accept_encoding}
    response = web.get(url(area, TILESET), **headers)
    assert response.status_code == 200
    assert response.get("Content-Encoding") == expected
    assert "Accept-Encoding" in response["Vary"]
    raw = body(response)
    assert int(response["Content-Length"]) == len(raw)
    assert decoded(response, raw) == FILES[TILESET]
    if expected:
        assert len(raw) < len(FILES[TILESET])


def test_incompressible_files_have_one_representation(web, area):
    response = web.get(url(area, RASTER), HTTP_ACCEPT_ENCODING="br, gzip")
    assert "Content-Encoding" not in response and "Accept-Encoding" not in response.get("Vary", "")
    assert body(response) == FILES[RASTER]


# --- validators and 304 ----------------------------------------------------------------------------------


def test_each_representation_has_its_own_strong_etag(web, area):
    tags = {enc: web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING=enc)["ETag"] for enc in ("br", "gzip", "identity")}
    assert len(set(tags.values())) == 3
    assert all(tag.startswith('"') for tag in tags.values())
    assert web.get(url(area, TILE))["ETag"] != tags["identity"]


def test_if_none_match_answers_304_with_the_validators(web, area):
    first = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="br")
    again = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="br", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    for header in ("ETag", "Cache-Control", "Last-Modified", "Vary"):
        assert again[header] == first[header]
    assert again["Cache-Control"] == "private, max-age=31536000, immutable"
    # The br tag does not validate the gzip representation.
    other = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=first["ETag"])
    assert other.status_code == 200 and other["Content-Encoding"] == "gzip"
    listed = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="br", HTTP_IF_NONE_MATCH=f'"x", {first["ETag"]}')
    assert listed.status_code == 304
    assert web.get(url(area, TILESET), HTTP_IF_NONE_MATCH="*").status_code == 304
    assert web.get(url(area, TILESET), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    assert web.head(url(area, TILESET), HTTP_IF_NONE_MATCH=web.get(url(area, TILESET))["ETag"]).status_code == 304


# --- ranges ----------------------------------------------------------------------------------------------


def test_byte_ranges_are_served_from_the_identity_bytes(web, area):
    data, size = FILES[TILESET], len(FILES[TILESET])
    cases = {"bytes=0-9": (0, 9), "bytes=10-": (10, size - 1), "bytes=-5": (size - 5, size - 1)}
    cases |= {"bytes=100-99999999": (100, size - 1), "bytes=-99999999": (0, size - 1)}
    for header, (first, last) in cases.items():
        response = web.get(url(area, TILESET), HTTP_RANGE=header, HTTP_ACCEPT_ENCODING="br, gzip")
        assert response.status_code == 206, header
        assert "Content-Encoding" not in response
        assert response["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert response["Accept-Ranges"] == "bytes"
        assert body(response) == data[first : last + 1]
        assert int(response["Content-Length"]) == last - first + 1
        assert response["ETag"] == web.get(url(area, TILESET))["ETag"]


def test_unsatisfiable_range_is_416(web, area):
    size = len(FILES[TILE])
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        response = web.get(url(area, TILE), HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{size}"


def test_ranges_that_do_not_apply_get_the_whole_file(web, area):
    identity = web.get(url(area, TILE))
    for headers in (
        {"HTTP_RANGE": "bytes=0-1, 5-6"},  # multi-range: we answer 200
        {"HTTP_RANGE": "bytes=9-2"},  # invalid
        {"HTTP_RANGE": "items=0-1"},
        {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": '"stale"'},
        {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": f"W/{identity['ETag']}"},
        {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": "Tue, 01 Jan 2019 00:00:00 GMT"},
    ):
        response = web.get(url(area, TILE), **headers)
        assert response.status_code == 200, headers
        assert body(response) == FILES[TILE]
    for validator in (identity["ETag"], identity["Last-Modified"]):
        ranged = web.get(url(area, TILE), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=validator)
        assert ranged.status_code == 206 and body(ranged) == FILES[TILE][:10]


def test_head_has_the_headers_of_get_and_no_body(web, area):
    for encoding in ("br", "gzip", "identity"):
        got = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING=encoding)
        head = web.head(url(area, TILESET), HTTP_ACCEPT_ENCODING=encoding)
        assert head.status_code == 200 and head.content == b""
        for header in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control", "Vary"):
            assert head[header] == got[header]
        assert head.get("Content-Encoding") == got.get("Content-Encoding")
    assert web.head(url(area, TILE), HTTP_RANGE="bytes=0-9").status_code == 200  # Range is for GET only
    assert web.post(url(area, TILE)).status_code == 405


# --- permissions ---------------------------------------------------------------------------------------


def test_private_tiles_are_404_for_others_whatever_the_headers(web, area, bob):
    owner = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="br")
    other = Client()
    other.force_login(bob)
    size = len(FILES[TILESET])
    for client in (other, Client()):
        for headers in (
            {},
            {"HTTP_IF_NONE_MATCH": owner["ETag"], "HTTP_ACCEPT_ENCODING": "br"},
            {"HTTP_IF_NONE_MATCH": "*"},
            {"HTTP_IF_MODIFIED_SINCE": owner["Last-Modified"]},
            {"HTTP_RANGE": "bytes=0-9"},
            {"HTTP_RANGE": f"bytes={size}-"},
        ):
            assert client.get(url(area, TILESET), **headers).status_code == 404, headers
        assert client.head(url(area, TILESET)).status_code == 404
        assert client.get(url(area, f"{TILESET}.br")).status_code == 404
    assert web.get(url(area, "../../../etc/passwd")).status_code == 404


def test_public_tiles_do_not_vary_by_cookie_private_ones_do(web, area):
    private = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="br")
    assert "Cookie" in private["Vary"] and private["Cache-Control"].startswith("private")
    area.visibility = Area.Visibility.PUBLIC
    area.save(update_fields=["visibility"])
    public = web.get(url(area, TILESET), HTTP_ACCEPT_ENCODING="br")
    assert public.status_code == 200 and public["Cache-Control"].startswith("public")
    assert "Cookie" not in public.get("Vary", "") and "Accept-Encoding" in public["Vary"]


# --- under the ASGI server ------------------------------------------------------------------------------


async def _asgi_get(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[bytes, bytes], list[bytes]]:
    """Status, headers and body messages of a GET through backend.asgi, as daphne would run it."""
    from backend.asgi import application

    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path, "query_string": b""}
    scope |= {"headers": [(b"host", b"127.0.0.1"), *headers], "client": ("127.0.0.1", 1), "server": ("t", 80)}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    chunks = []
    while (message := await communicator.receive_output(10)).get("more_body"):
        chunks.append(message["body"])
    chunks.append(message.get("body", b""))
    return start["status"], {name.lower(): value for name, value in start["headers"]}, chunks


@pytest.mark.django_db(transaction=True)
def test_asgi_streams_compressed_and_ranged_bytes(user):
    public = Area.Visibility.PUBLIC
    area = Area.objects.create(name="Open", owner=user, status=Area.Status.PROCESSING, visibility=public)
    publish(area, _stage(area))
    with warnings.catch_warnings():
        # A sync iterator under ASGI makes Django read the whole file into memory, with this warning.
        warnings.filterwarnings("error", message=".*must consume synchronous iterators.*")
        compressed = asyncio.run(_asgi_get(url(area, TILE), [(b"accept-encoding", b"gzip, br")]))
        ranged = asyncio.run(_asgi_get(url(area, TILE), [(b"range", b"bytes=-100")]))
    status, headers, chunks = compressed
    assert status == 200 and headers[b"content-encoding"] == b"br"
    assert headers[b"cache-control"] == b"public, max-age=31536000, immutable"
    assert brotli.decompress(b"".join(chunks)) == FILES[TILE]
    status, headers, chunks = ranged
    assert status == 206 and b"".join(chunks) == FILES[TILE][-100:]
