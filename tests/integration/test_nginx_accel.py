"""Behind a real nginx with RS3D_X_ACCEL_REDIRECT: rs3d says yes or no, nginx sends the file (docs/nginx.md).

One uvicorn (as scripts/demo.sh runs it, with the setting on) on a private home holding a public and a private
area, published as a job publishes them (with their .br/.gz copies), and nginx in front of it with the
docs' internal location. Everything is checked through nginx, as a browser would see it. Without nginx
installed the module is skipped (a failure under CI=true: scripts/setup.sh --test installs nginx-light).
"""

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devtools import nginx
from devtools.processes import free_port, stop_processes, wait_until_up, web_command
from tests.conftest import ROOT, require

pytestmark = pytest.mark.integration

PREFIX = "/_rs3d_data/"
TILESET = "tiles/pointcloud/tileset.json"
TILE = "tiles/pointcloud/r0.pnts"
ODD = "tiles/odd names/a b%3F ü#1.json"  # spaces, a literal %3F, a "?"-lookalike, non-ASCII, "#"
FILES = {
    TILESET: json.dumps({"asset": {"version": "1.1"}, "children": [{"uri": f"r{i}.pnts"} for i in range(300)]}),
    TILE: "pnts" + "".join(chr(65 + (i * 7) % 26) * 3 for i in range(20_000)),
    ODD: json.dumps({"odd": ["name"] * 400}),
}

# Run by `manage.py shell` in the live home: alice owns both areas, bob sees neither private one.
_SETUP = """
import json
import shutil
from pathlib import Path
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from backend.areas.models import Area
from backend.areas.publish import publish

users = get_user_model().objects
alice = users.create_user("alice", password="alice-pass-8531")
bob = users.create_user("bob", password="bob-pass-8531")
out = {{"token": Token.objects.create(user=alice).key, "bob_token": Token.objects.create(user=bob).key}}
for name, visibility in (("public", Area.Visibility.PUBLIC), ("private", Area.Visibility.PRIVATE)):
    area = Area.objects.create(name=name, owner=alice, status=Area.Status.PROCESSING, visibility=visibility)
    staging = area.folder / ".staging" / "job-1"
    shutil.copytree({seed!r}, staging)
    manifest = {{"crs": "EPSG:2154", "bbox_wgs84": [3.0, 43.0, 3.01, 43.01], "vectors": {{}}}}
    manifest["layers"] = {{"pointcloud": {tileset!r}}}
    (staging / "manifest.json").write_text(json.dumps(manifest))
    publish(area, staging)
    out[name] = area.pk
for who, user in (("session", alice), ("bob_session", bob)):
    client = Client()
    client.force_login(user)
    out[who] = client.cookies["sessionid"].value
print(json.dumps(out))
"""


@dataclass
class Site:
    """nginx in front of rs3d; the areas, credentials and where the published files lie."""

    url: str
    app: str
    media: Path
    public: int
    private: int
    alice: dict[str, dict[str, str]]  # credential kind -> headers
    bob: dict[str, dict[str, str]]

    def get(self, area: int, relative: str, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.get(f"{self.url}{path_of(area, relative)}", headers=headers or {}, timeout=10)

    def file(self, area: int, relative: str) -> bytes:
        return (self.media / "areas" / str(area) / "v1" / relative).read_bytes()


def path_of(area: int, relative: str) -> str:
    return f"/areas/{area}/data/1/" + requests.utils.quote(relative, safe="/")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A live rs3d with the setting on, and nginx in front of it."""
    require(nginx.binary() is not None, "nginx is not installed (scripts/setup.sh --test installs nginx-light)")
    home = tmp_path_factory.mktemp("rs3d-home")
    env = {**os.environ, "RS3D_HOME": str(home), "PYTHONUNBUFFERED": "1", "RS3D_SECRET_KEY": secrets.token_urlsafe(50)}
    env |= {"RS3D_X_ACCEL_REDIRECT": PREFIX, "RS3D_DATA_GATE": "1"}
    for name in ("DJANGO_SETTINGS_MODULE", "RS3D_DEBUG", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)  # the embedded mode, serving as in production
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    seed = tmp_path_factory.mktemp("seed")
    for relative, text in FILES.items():
        (seed / relative).parent.mkdir(parents=True, exist_ok=True)
        (seed / relative).write_text(text)
    script = _SETUP.format(seed=str(seed), tileset=TILESET)
    made = subprocess.run([*manage, "shell", "-c", script], env=env, cwd=ROOT, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-3000:]
    ids = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    (home / "logs").mkdir(exist_ok=True)
    with (home / "logs" / "web.log").open("a") as log:
        web = subprocess.Popen(web_command(port), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", web)
        with nginx.in_front_of(f"127.0.0.1:{port}", home / "media", PREFIX, free_port(), workers="1") as url:
            yield Site(
                url=url,
                app=f"http://127.0.0.1:{port}",
                media=home / "media",
                public=ids["public"],
                private=ids["private"],
                alice=_credentials(ids["session"], ids["token"]),
                bob=_credentials(ids["bob_session"], ids["bob_token"]),
            )
    finally:
        stop_processes(web, timeout=15)


def _credentials(session: str, token: str) -> dict[str, dict[str, str]]:
    return {"session": {"Cookie": f"sessionid={session}"}, "token": {"Authorization": f"Token {token}"}}


def _raw(site: Site, area: int, relative: str, headers: dict[str, str]) -> requests.Response:
    """The response with its body as sent (requests would decode gzip itself)."""
    response = requests.get(f"{site.url}{path_of(area, relative)}", headers=headers, timeout=10, stream=True)
    response.raw_bytes = response.raw.read(decode_content=False)  # type: ignore[attr-defined]
    return response


# --- what nginx sends ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["public", "session", "token"])
@pytest.mark.parametrize("encoding", ["br", "gzip", "identity"])
def test_nginx_sends_the_file_rs3d_chose_with_rs3ds_headers(site, who, encoding):
    area = site.public if who == "public" else site.private
    credential = {} if who == "public" else site.alice[who]
    for attempt in ("django decides", "the gate remembers"):
        response = _raw(site, area, TILESET, {**credential, "Accept-Encoding": encoding})
        assert response.status_code == 200, attempt
        headers = response.headers
        suffix = {"br": ".br", "gzip": ".gz", "identity": ""}[encoding]
        assert response.raw_bytes == site.file(area, TILESET + suffix), attempt  # the chosen copy, byte for byte
        assert headers.get("Content-Encoding") == (None if encoding == "identity" else encoding)
        assert int(headers["Content-Length"]) == len(response.raw_bytes)
        assert headers["Content-Type"] == "application/json"
        assert headers["Vary"].startswith("Accept-Encoding")
        assert ("Authorization" in headers["Vary"]) == (who != "public")
        scope = "public" if who == "public" else "private"
        assert headers["Cache-Control"] == f"{scope}, max-age=31536000, immutable"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "X-Accel-Redirect" not in headers
        # The same headers uvicorn sends by itself, bytes aside (Date and Server are nginx's).
        asked = {**credential, "Accept-Encoding": encoding}
        direct = requests.get(f"{site.app}{path_of(area, TILESET)}", headers=asked, timeout=10)
        assert direct.headers["X-Accel-Redirect"].startswith(PREFIX) and direct.content == b""
        for name in ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Type", "Referrer-Policy"):
            assert headers[name] == direct.headers[name], name
    assert ",".join(response.raw.headers.getlist("Accept-Ranges")) == "bytes"  # once, not rs3d's and nginx's


def test_if_none_match_is_a_304_from_rs3d(site):
    token = site.alice["token"]
    first = _raw(site, site.private, TILESET, {**token, "Accept-Encoding": "br"})
    again = site.get(site.private, TILESET, {**token, "Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    # The br tag does not validate the gzip copy: the whole gzip copy comes back.
    other = _raw(
        site, site.private, TILESET, {**token, "Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}
    )
    assert other.status_code == 200 and other.raw_bytes == site.file(site.private, TILESET + ".gz")
    since = site.get(site.public, TILE, {"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_a_range_is_cut_by_nginx_from_the_plain_file(site):
    data = site.file(site.private, TILE)
    for header, (first, last) in {"bytes=10-99": (10, 99), "bytes=-5": (len(data) - 5, len(data) - 1)}.items():
        response = _raw(site, site.private, TILE, {**site.alice["session"], "Range": header, "Accept-Encoding": "br"})
        assert response.status_code == 206, header
        assert response.raw_bytes == data[first : last + 1]
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
        assert "Content-Encoding" not in response.headers
    plain = {**site.alice["session"], "Accept-Encoding": "identity"}
    whole = _raw(site, site.private, TILE, {**plain, "Range": "bytes=0-1, 5-6"})
    assert whole.status_code == 200 and whole.raw_bytes == data  # rs3d serves one range only, as without nginx
    stale = _raw(site, site.private, TILE, {**plain, "Range": "bytes=0-9", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.raw_bytes == data
    assert site.get(site.private, TILE, {**site.alice["session"], "Range": f"bytes={len(data)}-"}).status_code == 416


def test_a_file_name_nginx_must_decode_arrives_whole(site):
    response = _raw(site, site.public, ODD, {"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.raw_bytes == site.file(site.public, ODD)


# --- what nobody gets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Range": "bytes=0-9"}, {"If-None-Match": "*"}, {"Accept-Encoding": "br"}])
def test_private_files_are_404_for_anyone_else_whatever_the_headers(site, headers):
    for credential in ({}, site.bob["session"], site.bob["token"], {"Authorization": "Token nonsense"}):
        response = site.get(site.private, TILESET, {**credential, **headers})
        # A token no one has is refused before any area is looked at (DRF's 401), as without nginx.
        assert response.status_code == (401 if "nonsense" in str(credential) else 404), credential
        assert "X-Accel-Redirect" not in response.headers and b"asset" not in response.content


def test_the_internal_location_is_not_reachable_from_outside(site):
    relative = f"areas/{site.private}/v1/{TILESET}"
    for path in (f"{PREFIX}{relative}", f"{PREFIX}{relative}.br", f"{PREFIX}.data-grants", PREFIX):
        response = requests.get(site.url + path, headers=site.alice["session"], timeout=10)
        assert response.status_code == 404, path
        assert b"asset" not in response.content
    # Nor can a client ask rs3d to point there: a request header is no response header.
    spoofed = site.get(site.private, TILESET, {"X-Accel-Redirect": f"{PREFIX}{relative}"})
    assert spoofed.status_code == 404


def test_a_path_out_of_the_version_never_reaches_nginx(site):
    for path in ("../../../.data-grants", "tiles/../../../private", "%2e%2e/%2e%2e/.data-grants"):
        response = requests.get(f"{site.url}/areas/{site.public}/data/1/{path}", timeout=10)
        assert response.status_code in (400, 404), path
        assert "X-Accel-Redirect" not in response.headers


def test_the_docs_show_the_location_these_tests_run():
    docs = (ROOT / "docs" / "nginx.md").read_text()
    assert nginx.ACCEL_LOCATION.format(prefix=PREFIX, media="/srv/rs3d/media") in docs
