"""RS3D_X_ACCEL_REDIRECT: after the permission check, the view and the data gate hand the chosen file to nginx.

The answer names the very representation ``plan_file`` chose (``.br``, ``.gz`` or the plain file) under the
internal prefix, with no body and the app's own headers; everything nginx could judge differently (HEAD,
304/412/416, If-Match, If-Range, a Range the app ignores) stays the app's own answer, and a refusal never
names a file. tests/integration/test_nginx_accel.py checks the same through a real nginx.
"""

import os
import subprocess
import sys

import pytest
from django.test import Client

from backend.areas.models import Area
from backend.areas.publish import publish
from backend.serving import data_gate
from backend.serving.delivery import Plan, to_nginx
from tests.backend.revocations import make_public, session_of, token_of
from tests.backend.test_data_gate import Harness, django_answer
from tests.backend.test_delivery import FILES, TILE, TILESET, _stage, body, url
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)
PREFIX = "/_rs3d_data/"


@pytest.fixture(autouse=True)
def behind_nginx(settings) -> None:
    settings.RS3D_X_ACCEL_REDIRECT = PREFIX
    settings.RS3D_DATA_GATE = True
    data_gate.forget_all()


@pytest.fixture
def area(user) -> Area:
    """Alice's private area, published with its precompressed copies."""
    area = Area.objects.create(name="Tiles", owner=user, status=Area.Status.PROCESSING)
    publish(area, _stage(area))
    area.refresh_from_db()
    return area


def redirect_of(area: Area, relative: str) -> str:
    return f"{PREFIX}areas/{area.pk}/v1/{relative}"


# --- the Django view -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("public", [False, True], ids=["private, allowed", "public"])
@pytest.mark.parametrize(("accept", "suffix"), [("br", ".br"), ("gzip, deflate", ".gz"), ("identity", "")])
def test_the_view_names_the_chosen_representation_and_sends_no_bytes(web, area, settings, public, accept, suffix):
    if public:
        make_public(area)
    client = Client() if public else web
    response = client.get(url(area, TILESET), HTTP_ACCEPT_ENCODING=accept)
    assert response.status_code == 200 and body(response) == b""
    assert response["X-Accel-Redirect"] == redirect_of(area, TILESET + suffix)
    assert (area.folder / "v1" / (TILESET + suffix)).is_file()
    assert response["Content-Length"] == "0"
    assert "Content-Range" not in response and "Accept-Ranges" not in response
    # Every other header is the one the app sends with the bytes itself.
    settings.RS3D_X_ACCEL_REDIRECT = ""
    itself = client.get(url(area, TILESET), HTTP_ACCEPT_ENCODING=accept)
    assert "X-Accel-Redirect" not in itself and body(itself) == (area.folder / "v1" / (TILESET + suffix)).read_bytes()
    for name in ("Content-Type", "Content-Encoding", "ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert response.get(name) == itself.get(name), name
    assert response["Cache-Control"].startswith("public" if public else "private")


def test_a_single_range_is_left_to_nginx_on_the_plain_file(web, area):
    response = web.get(url(area, TILESET), HTTP_RANGE="bytes=10-99", HTTP_ACCEPT_ENCODING="br")
    assert response.status_code == 200 and body(response) == b""  # nginx answers 206 and cuts the range
    assert response["X-Accel-Redirect"] == redirect_of(area, TILESET)
    assert "Content-Encoding" not in response and "Content-Range" not in response


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"HTTP_RANGE": "bytes=0-1, 5-6"}, 200),  # a multi-range the app ignores: nginx would cut it
        ({"HTTP_RANGE": "bytes=9-2"}, 200),
        ({"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": "ETAG"}, 206),  # nginx knows no ETag of ours
        ({"HTTP_IF_MATCH": "ETAG"}, 200),
        ({"HTTP_IF_NONE_MATCH": "ETAG"}, 304),
        ({"HTTP_RANGE": "bytes=99999999-"}, 416),
        ({"HTTP_IF_MATCH": '"other"'}, 412),
    ],
)
def test_what_nginx_could_judge_otherwise_the_app_answers_itself(web, area, headers, status):
    etag = web.get(url(area, TILE), HTTP_ACCEPT_ENCODING="identity")["ETag"]
    headers = {name: value.replace("ETAG", etag) for name, value in headers.items()}
    response = web.get(url(area, TILE), HTTP_ACCEPT_ENCODING="identity", **headers)
    assert response.status_code == status and "X-Accel-Redirect" not in response
    if status == 200:
        assert body(response) == FILES[TILE]
    if status == 206:
        assert body(response) == FILES[TILE][:10]


def test_head_is_answered_by_the_app(web, area):
    response = web.head(url(area, TILESET), HTTP_ACCEPT_ENCODING="br")
    assert response.status_code == 200 and "X-Accel-Redirect" not in response
    assert int(response["Content-Length"]) == (area.folder / "v1" / f"{TILESET}.br").stat().st_size


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_RANGE": "bytes=0-9"}, {"HTTP_IF_NONE_MATCH": "*"}, {"HTTP_ACCEPT_ENCODING": "br"}],
)
def test_private_files_stay_404_and_name_nothing(area, bob, headers):
    for client in (Client(), _logged_in(bob)):
        response = client.get(url(area, TILESET), **headers)
        assert response.status_code == 404 and "X-Accel-Redirect" not in response
        assert b"asset" not in body(response)


def test_paths_out_of_the_version_name_nothing(web, area):
    for relative in ("../../../.data-grants", "../../2/v1/" + TILESET, f"{TILESET}.br", "no/such.json"):
        response = web.get(url(area, relative), HTTP_ACCEPT_ENCODING="br")
        assert response.status_code == 404 and "X-Accel-Redirect" not in response, relative
    # Dots that stay inside the version: nginx is given the resolved path, never a dot.
    response = web.get(url(area, f"tiles/../tiles/./{TILESET.removeprefix('tiles/')}"), HTTP_ACCEPT_ENCODING="br")
    assert response["X-Accel-Redirect"] == redirect_of(area, f"{TILESET}.br")


def test_names_are_percent_encoded_once_for_nginx(web, area):
    odd = "tiles/odd names/a b%3F?ü#1.json"
    (area.folder / "v1" / odd).parent.mkdir(parents=True)
    (area.folder / "v1" / odd).write_bytes(b"{}")
    quoted = "tiles/odd names/a b%3F?ü#1.json".replace("%", "%25").replace(" ", "%20").replace("?", "%3F")
    quoted = quoted.replace("ü", "%C3%BC").replace("#", "%23")
    response = web.get(f"/areas/{area.pk}/data/1/{quoted}", HTTP_ACCEPT_ENCODING="identity")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == redirect_of(area, quoted)


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the data gate answers as the view does ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["public", "session", "token"])
@pytest.mark.parametrize(
    "extra",
    [
        [("Accept-Encoding", "gzip, br")],
        [("Accept-Encoding", "gzip")],
        [("Accept-Encoding", "identity")],
        [("Range", "bytes=10-99")],
        [("Range", "bytes=0-1, 5-6"), ("Accept-Encoding", "identity")],
        [("If-None-Match", "ETAG"), ("Accept-Encoding", "gzip")],
    ],
    ids=["br", "gzip", "identity", "range", "multi-range", "304"],
)
def test_the_gate_hands_over_as_the_view_does(area, user, who, extra):
    gate = Harness()
    if who == "public":
        make_public(area)
    credential = {"public": [], "session": session_of(user)}.get(who) or token_of(user)
    status, first, _, by_gate = gate.get(url(area, TILESET), credential + [("Accept-Encoding", "gzip")])
    assert status == 200 and not by_gate and first["x-accel-redirect"] == redirect_of(area, f"{TILESET}.gz")
    extra = [(name, value.replace("ETAG", first["etag"])) for name, value in extra]
    status, headers, sent, by_gate = gate.get(url(area, TILESET), credential + extra)
    assert by_gate
    assert (status, headers, sent) == django_answer(url(area, TILESET), credential + extra)
    handed = "Range" not in dict(extra) or dict(extra)["Range"] == "bytes=10-99"
    assert ("x-accel-redirect" in headers) == (handed and status != 304)
    if "x-accel-redirect" in headers:
        assert sent == b"" and headers["content-length"] == "0"


def test_the_gate_refuses_as_before(area, user, bob):
    gate = Harness()
    assert gate.get(url(area, TILESET), session_of(user))[0] == 200
    for stranger in ([], session_of(bob), token_of(bob), [("Cookie", "sessionid=forged")]):
        status, headers, _, by_gate = gate.get(url(area, TILESET), stranger)
        assert status == 404 and not by_gate and "x-accel-redirect" not in headers, stranger


# --- to_nginx by itself ----------------------------------------------------------------------------------------


def _plan(path: str, status: int = 200) -> Plan:
    return Plan(status, [("ETag", '"x"'), ("Accept-Ranges", "bytes"), ("Content-Length", "5")], path, 0, 5)


@pytest.mark.parametrize(
    "path",
    ["/srv/media-other/a.json", "/srv/media/../etc/passwd", "/srv/media/a/./b.json", "/srv/media//a.json", "/a.json"],
)
def test_to_nginx_hands_over_only_plain_paths_under_media_root(path):
    plan = _plan(path)
    assert to_nginx(plan, "GET", {}, prefix=PREFIX, media_root="/srv/media") is plan


def test_to_nginx_off_or_head_keeps_the_plan():
    plan = _plan("/srv/media/a.json")
    assert to_nginx(plan, "GET", {}, prefix="", media_root="/srv/media") is plan
    assert to_nginx(plan, "HEAD", {}, prefix=PREFIX, media_root="/srv/media") is plan
    handed = to_nginx(plan, "GET", {}, prefix=PREFIX, media_root="/srv/media")
    assert handed.path is None and handed.status == 200
    assert handed.headers == [("ETag", '"x"'), ("X-Accel-Redirect", f"{PREFIX}a.json"), ("Content-Length", "0")]


@pytest.mark.parametrize("prefix", ["", "/", "_rs3d/", "/_rs3d", "/a/../b/", "/a b/", "/a?x/", "/%2e/"])
def test_a_prefix_nginx_could_misread_is_refused_at_start(prefix):
    env = {**os.environ, "RS3D_X_ACCEL_REDIRECT": prefix, "RS3D_DEBUG": "1"}
    check = "import django; django.setup(); from django.conf import settings; print(settings.RS3D_X_ACCEL_REDIRECT)"
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    done = subprocess.run([sys.executable, "-c", check], env=env, cwd=ROOT, capture_output=True, text=True)
    if prefix == "":
        assert done.returncode == 0 and done.stdout.strip() == ""
    else:
        assert done.returncode != 0 and "RS3D_X_ACCEL_REDIRECT must be" in done.stderr, prefix


def test_a_good_prefix_is_taken():
    env = {**os.environ, "RS3D_X_ACCEL_REDIRECT": "/_rs3d_data/v-1/", "RS3D_DEBUG": "1"}
    env["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    check = "from django.conf import settings; print(settings.RS3D_X_ACCEL_REDIRECT)"
    done = subprocess.run([sys.executable, "-c", check], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "/_rs3d_data/v-1/", done.stderr
