"""Accounts, ownership and visibility: who may upload, see, share and cancel, on every page, file, API and socket."""

import asyncio
import json
import os
import re
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point, Polygon
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.api.throttles import UploadRateThrottle
from backend.areas.models import Area, Feature, Layer, Publication
from backend.areas.permissions import set_sharing
from backend.jobs.models import Job, JobEvent
from backend.jobs.notify import notify_job_changed
from tests.backend.conftest import TEST_SECRET_KEY
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

TILE = "tiles/pointcloud/tileset.json"
DOWNLOAD = "vectors/features.geojson"


def make_area(owner, visibility=Area.Visibility.PRIVATE, name="Secret block") -> Area:
    """An area with one published version (a tileset and a download on disk, a building) and a running job."""
    area = Area.objects.create(name=name, owner=owner, visibility=visibility, status=Area.Status.READY)
    manifest = {
        "imagery": {"ortho": {"path": "imagery/ortho.png", "rectangle_wgs84": [3.0, 43.0, 3.01, 43.01]}},
        "ground_height_m": 20.0,
        "stats": {"point_classes": {"2": 10}},
    }
    publication = Publication.objects.create(
        area=area, version=1, manifest=manifest, crs="EPSG:2154", bbox=Polygon.from_bbox((3.0, 43.0, 3.01, 43.01))
    )
    Layer.objects.create(
        publication=publication, name="pointcloud", kind=Layer.Kind.POINTCLOUD, title="Points", tileset=TILE
    )
    Feature.objects.create(publication=publication, kind="building", geometry=Point(3.005, 43.005), attributes={"h": 9})
    area.current = publication
    area.save()
    for relative, body in ((TILE, '{"asset": {"version": "1.0"}}'), (DOWNLOAD, '{"type": "FeatureCollection"}')):
        path = publication.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    job = Job.objects.create(area=area, status=Job.Status.RUNNING, stage="terrain", progress=0.4)
    JobEvent.objects.create(job=job, stage="terrain", progress=0.4, message="ground filter")
    return area


def logged_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def private_area(user) -> Area:
    return make_area(user)


def reads(area: Area) -> dict[str, str]:
    """Every GET that shows something of ``area``: pages, files, API."""
    job = area.jobs.get()
    return {
        "area page": f"/areas/{area.pk}/",
        "viewer page": f"/areas/{area.pk}/view/",
        "job page": f"/jobs/{job.pk}/",
        "tile": f"/areas/{area.pk}/data/1/{TILE}",
        "download": f"/areas/{area.pk}/data/1/{DOWNLOAD}",
        "api area": f"/api/areas/{area.pk}/",
        "api features": f"/api/areas/{area.pk}/features/",
        "api job": f"/api/jobs/{job.pk}/",
    }


def status_codes(client, area: Area) -> dict[str, int]:
    return {what: client.get(url).status_code for what, url in reads(area).items()}


# --- uploading needs an account ------------------------------------------------------------------------


def test_anonymous_upload_form_redirects_to_the_login_page(client):
    response = client.get("/areas/new/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/areas/new/"
    response = client.post("/areas/new/", {"name": "Sneaky"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Area.objects.count() == 0


def test_anonymous_api_upload_is_401(scene_files):
    with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
        response = APIClient().post("/api/areas/", {"name": "Sneaky", "ortho": ortho, "dsm": dsm}, format="multipart")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert Area.objects.count() == 0 and Job.objects.count() == 0


def test_uploads_belong_to_the_uploader_and_start_private(api, user, scene_files):
    with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
        response = api.post("/api/areas/", {"name": "Mine", "ortho": ortho, "dsm": dsm}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == "alice" and body["visibility"] == "private"
    assert body["sharing"] == {"users": [], "groups": []}
    area = Area.objects.get(pk=body["id"])
    assert area.owner == user and area.visibility == Area.Visibility.PRIVATE
    assert APIClient().get(f"/api/areas/{area.pk}/").status_code == 404


# --- private areas are invisible to everyone else, exactly like missing ones ----------------------------


def test_owner_reads_every_url_of_a_private_area(api, private_area):
    assert set(status_codes(api, private_area).values()) == {200}


def test_private_area_is_404_everywhere_for_another_user(bob, private_area):
    assert status_codes(logged_in(bob), private_area) == dict.fromkeys(reads(private_area), 404)


def test_private_area_is_404_everywhere_for_anonymous(private_area):
    assert status_codes(APIClient(), private_area) == dict.fromkeys(reads(private_area), 404)


def test_private_area_is_missing_from_lists(bob, user, private_area):
    other = logged_in(bob)
    assert "Secret block" not in other.get("/").content.decode()
    assert other.get("/api/areas/").json()["results"] == []
    assert other.get("/api/jobs/").json()["results"] == []
    assert "Secret block" not in Client().get("/").content.decode()
    assert [a["name"] for a in logged_in(user).get("/api/areas/").json()["results"]] == ["Secret block"]


def test_guessing_ids_reveals_nothing(bob, private_area):
    other = logged_in(bob)
    hidden, missing = other.get(f"/api/areas/{private_area.pk}/"), other.get("/api/areas/987654/")
    assert hidden.status_code == missing.status_code == 404 and hidden.json() == missing.json()
    job = private_area.jobs.get()
    assert other.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    assert other.patch(f"/api/areas/{private_area.pk}/", {"visibility": "public"}, format="json").status_code == 404
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    assert Area.objects.get(pk=private_area.pk).visibility == Area.Visibility.PRIVATE


# --- sharing ---------------------------------------------------------------------------------------------


def test_shared_with_a_user_is_visible_to_that_user_only(bob, django_user_model, private_area):
    carol = django_user_model.objects.create_user("carol", password="carol-pass-1234")
    private_area.shared_users.add(bob)
    assert set(status_codes(logged_in(bob), private_area).values()) == {404}  # still private: the list waits
    private_area.visibility = Area.Visibility.SHARED
    private_area.save()
    assert set(status_codes(logged_in(bob), private_area).values()) == {200}
    assert "Secret block" in logged_in(bob).get("/").content.decode()
    assert set(status_codes(logged_in(carol), private_area).values()) == {404}
    assert set(status_codes(APIClient(), private_area).values()) == {404}


def test_shared_with_a_group_is_visible_to_its_members(bob, django_user_model, private_area):
    carol = django_user_model.objects.create_user("carol", password="carol-pass-1234")
    planners = Group.objects.create(name="planners")
    bob.groups.add(planners)
    private_area.shared_groups.add(planners)
    private_area.visibility = Area.Visibility.SHARED
    private_area.save()
    assert set(status_codes(logged_in(bob), private_area).values()) == {200}
    assert [a["id"] for a in logged_in(bob).get("/api/areas/").json()["results"]] == [private_area.pk]
    assert set(status_codes(logged_in(carol), private_area).values()) == {404}
    carol.groups.add(planners, Group.objects.create(name="others"))
    assert set(status_codes(logged_in(carol), private_area).values()) == {200}
    assert len(logged_in(carol).get("/api/areas/").json()["results"]) == 1  # two groups, listed once


def test_public_area_is_open_to_anonymous(user):
    area = make_area(user, Area.Visibility.PUBLIC, name="Open block")
    anonymous = APIClient()
    assert set(status_codes(anonymous, area).values()) == {200}
    assert "Open block" in anonymous.get("/").content.decode()
    assert anonymous.get(f"/areas/{area.pk}/data/1/{TILE}")["Cache-Control"].startswith("public")
    assert anonymous.get(f"/api/areas/{area.pk}/").json()["sharing"] is None  # only the owner reads the lists


def test_private_files_are_not_kept_by_shared_caches(api, private_area):
    assert api.get(f"/areas/{private_area.pk}/data/1/{TILE}")["Cache-Control"].startswith("private")


def test_staff_see_every_area(django_user_model, private_area):
    admin = django_user_model.objects.create_user("admin", password="admin-pass-1234", is_staff=True)
    assert set(status_codes(logged_in(admin), private_area).values()) == {200}


# --- the owner changes who sees the area ----------------------------------------------------------------


def test_owner_shares_through_the_area_page(web, bob, private_area):
    Group.objects.create(name="planners")
    page = web.get(f"/areas/{private_area.pk}/").content.decode()
    assert 'name="visibility"' in page
    response = web.post(f"/areas/{private_area.pk}/", {"visibility": "shared", "users": "bob", "groups": "planners"})
    assert response.status_code == 302
    private_area.refresh_from_db()
    assert private_area.visibility == "shared"
    assert list(private_area.shared_users.all()) == [bob]
    assert [g.name for g in private_area.shared_groups.all()] == ["planners"]
    assert logged_in(bob).get(f"/areas/{private_area.pk}/view/").status_code == 200


def test_sharing_form_refuses_unknown_names(web, private_area):
    response = web.post(f"/areas/{private_area.pk}/", {"visibility": "shared", "users": "bob, nobody"})
    assert response.status_code == 200 and "No such user: bob, nobody." in response.content.decode()
    assert Area.objects.get(pk=private_area.pk).visibility == "private"


def test_only_the_owner_sees_and_posts_the_sharing_form(bob, private_area):
    private_area.visibility = Area.Visibility.PUBLIC
    private_area.save()
    other = logged_in(bob)
    assert 'name="visibility"' not in other.get(f"/areas/{private_area.pk}/").content.decode()
    assert other.post(f"/areas/{private_area.pk}/", {"visibility": "private"}).status_code == 403
    assert Area.objects.get(pk=private_area.pk).visibility == "public"


def test_owner_shares_through_the_api(api, bob, private_area):
    url = f"/api/areas/{private_area.pk}/"
    response = api.patch(url, {"visibility": "shared", "shared_users": ["bob"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["visibility"] == "shared" and response.json()["sharing"]["users"] == ["bob"]
    assert logged_in(bob).get(url).status_code == 200
    assert api.patch(url, {"shared_users": ["nobody"]}, format="json").status_code == 400
    assert api.patch(url, {"visibility": "everyone"}, format="json").status_code == 400
    assert api.patch(url, {"visibility": "private"}, format="json").json()["sharing"]["users"] == ["bob"]
    assert logged_in(bob).get(url).status_code == 404


def test_others_cannot_share_or_cancel_what_they_can_see(bob, private_area):
    private_area.visibility = Area.Visibility.PUBLIC
    private_area.save()
    job = private_area.jobs.get()
    other = logged_in(bob)
    assert other.patch(f"/api/areas/{private_area.pk}/", {"visibility": "private"}, format="json").status_code == 403
    assert other.post(f"/api/jobs/{job.pk}/cancel/").status_code == 403
    assert APIClient().post(f"/api/jobs/{job.pk}/cancel/").status_code == 401
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    assert Area.objects.get(pk=private_area.pk).visibility == "public"


def test_owner_cancels_a_job(api, private_area):
    job = private_area.jobs.get()
    assert api.post(f"/api/jobs/{job.pk}/cancel/").json()["status"] == "cancelled"


# --- CSRF ------------------------------------------------------------------------------------------------


def test_upload_form_needs_the_csrf_token(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post("/areas/new/", {"name": "Forged"}).status_code == 403
    page = browser.get("/areas/new/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post("/areas/new/", {"name": "Genuine", "csrfmiddlewaretoken": token})
    assert (
        response.status_code == 200 and "An area needs an orthophoto, a LiDAR point cloud" in response.content.decode()
    )
    assert Area.objects.count() == 0


def test_session_api_writes_need_the_csrf_token(user, private_area):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.patch(f"/api/areas/{private_area.pk}/", {"visibility": "public"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert Area.objects.get(pk=private_area.pk).visibility == "private"


# --- tokens for scripts ----------------------------------------------------------------------------------


def test_account_page_creates_a_token_that_scripts_use(web, user, private_area, scene_files):
    assert "You have no token yet" in web.get("/accounts/").content.decode()
    assert web.post("/accounts/").status_code == 302
    token = Token.objects.get(user=user)
    assert token.key in web.get("/accounts/").content.decode()
    script = APIClient(enforce_csrf_checks=True)  # like curl: no cookies, no CSRF token, just the header
    script.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert [a["id"] for a in script.get("/api/areas/").json()["results"]] == [private_area.pk]
    with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
        response = script.post("/api/areas/", {"name": "Scripted", "ortho": ortho, "dsm": dsm}, format="multipart")
    assert response.status_code == 201 and response.json()["owner"] == "alice"
    web.post("/accounts/")  # replace: the old token stops working
    assert script.get("/api/areas/").status_code == 401


def test_drf_create_token_command_and_bad_tokens(user, private_area, capsys):
    call_command("drf_create_token", "alice")
    key = Token.objects.get(user=user).key
    assert key in capsys.readouterr().out
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get(f"/api/areas/{private_area.pk}/").status_code == 200
    script.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert script.get(f"/api/areas/{private_area.pk}/").status_code == 401


# --- accounts --------------------------------------------------------------------------------------------


def test_sign_up_then_log_in_and_the_header_shows_the_user(client, django_user_model):
    assert "Sign up" in client.get("/").content.decode()
    assert client.get("/accounts/signup/").status_code == 200
    response = client.post(
        "/accounts/signup/",
        {"username": "dora", "password1": "a-long-Passphrase-9", "password2": "a-long-Passphrase-9"},
    )
    assert response.status_code == 302 and django_user_model.objects.filter(username="dora").exists()
    assert response["Location"] == "/accounts/login/"  # not logged in: that would tell the name was free
    assert "your account is ready" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/login/", {"username": "dora", "password": "a-long-Passphrase-9"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "dora" in page and "Log out" in page and "Log in" not in page
    assert client.get("/areas/new/").status_code == 200


def test_sign_up_refuses_weak_passwords(client, django_user_model):
    response = client.post("/accounts/signup/", {"username": "eve", "password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200 and not django_user_model.objects.filter(username="eve").exists()


def test_sign_up_can_be_turned_off(client, settings):
    settings.RS3D_ALLOW_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    assert client.post("/accounts/signup/", {"username": "x"}).status_code == 404
    assert "/accounts/signup/" not in client.get("/accounts/login/").content.decode()
    assert "Sign up" not in client.get("/").content.decode()


def test_log_in_and_out_through_the_pages(user):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/?next=/areas/new/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(
        "/accounts/login/",
        {"username": "alice", "password": "wrong", "csrfmiddlewaretoken": token, "next": "/areas/new/"},
    )
    assert response.status_code == 200 and "alice" not in browser.get("/").content.decode()
    response = browser.post(
        "/accounts/login/",
        {"username": "alice", "password": "alice-pass-1234", "csrfmiddlewaretoken": token, "next": "/areas/new/"},
    )
    assert response.status_code == 302 and response["Location"] == "/areas/new/"
    page = browser.get("/").content.decode()
    assert "alice" in page and "Log out" in page
    token = browser.cookies["csrftoken"].value  # rotated at login
    assert browser.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert browser.get("/areas/new/").status_code == 302


# --- rate limit ------------------------------------------------------------------------------------------


def test_uploads_are_rate_limited_per_user(api, bob, monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "2/hour"})
    for _ in range(2):
        assert api.post("/api/areas/", {"name": "no files"}, format="multipart").status_code == 400
    response = api.post("/api/areas/", {"name": "no files"}, format="multipart")
    assert response.status_code == 429
    assert "Too many uploads: at most 2 new areas or job retries per hour per user." in response.json()["detail"]
    assert 0 < int(response["Retry-After"]) <= 3600
    assert api.get("/api/areas/").status_code == 200  # reading is not limited
    assert logged_in(bob).post("/api/areas/", {"name": "no files"}, format="multipart").status_code == 400


def test_upload_form_shares_the_rate_limit(api, user, monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "1/hour"})
    assert api.post("/api/areas/", {"name": "no files"}, format="multipart").status_code == 400
    browser = Client()
    browser.force_login(user)
    response = browser.post("/areas/new/", {"name": "Form"})
    assert response.status_code == 429 and "Too many uploads" in response.content.decode()


# --- websocket -------------------------------------------------------------------------------------------


async def _first_message(session_key: str | None, job_id: int) -> tuple[bool, object]:
    from backend.asgi import application

    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    socket = WebsocketCommunicator(application, f"/ws/jobs/{job_id}/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    message = await socket.receive_output(timeout=5)
    await socket.disconnect()
    return message


@pytest.mark.django_db(transaction=True)
def test_websocket_is_closed_for_an_area_the_user_cannot_see(user, bob):
    area = make_area(user)
    job = area.jobs.get()
    owner, other = Client(), Client()
    owner.force_login(user)
    other.force_login(bob)
    seen = asyncio.run(_first_message(owner.cookies["sessionid"].value, job.pk))
    assert seen["type"] == "websocket.send" and json.loads(seen["text"])["type"] == "log"
    for session in (other.cookies["sessionid"].value, None):
        refused = asyncio.run(_first_message(session, job.pk))
        assert refused == {"type": "websocket.close", "code": 4404}
    area.visibility = Area.Visibility.PUBLIC
    area.save()
    assert asyncio.run(_first_message(None, job.pk))["type"] == "websocket.send"


# --- settings --------------------------------------------------------------------------------------------


def _settings_in_child(env: dict[str, str], code: str, home) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RS3D_")} | {"RS3D_HOME": str(home)}
    script = "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'backend.settings'; django.setup();" + code
    return subprocess.run(
        [sys.executable, "-c", script], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_server_refuses_to_start_without_a_secret_key_unless_debug(tmp_path):
    refused = _settings_in_child({}, "import backend.asgi", tmp_path)
    assert refused.returncode != 0 and "set RS3D_SECRET_KEY" in refused.stderr
    assert not (tmp_path / "secret_key").exists()
    debug = _settings_in_child({"RS3D_DEBUG": "1"}, "import backend.asgi", tmp_path)
    assert debug.returncode == 0, debug.stderr
    assert (tmp_path / "secret_key").is_file()  # the development key, made once
    keyed = _settings_in_child({"RS3D_SECRET_KEY": TEST_SECRET_KEY}, "import backend.asgi", tmp_path)
    assert keyed.returncode == 0, keyed.stderr


def test_secure_cookies_only_with_https(tmp_path):
    show = "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    plain = _settings_in_child({"RS3D_SECRET_KEY": TEST_SECRET_KEY}, show, tmp_path)
    assert plain.stdout.split() == ["False", "False", "False"], plain.stderr
    https = _settings_in_child({"RS3D_SECRET_KEY": TEST_SECRET_KEY, "RS3D_HTTPS": "1"}, show, tmp_path)
    assert https.stdout.split() == ["False", "True", "True"], https.stderr


def test_security_headers(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


async def _follow_until_revoked(session_key: str, job_id: int, revoke) -> list[dict]:
    """Messages of the job's socket after its first one, once ``revoke()`` ran, up to its close or a quiet 3 s."""
    from backend.asgi import application

    cookie = f"sessionid={session_key}".encode()
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)]
    socket = WebsocketCommunicator(application, f"/ws/jobs/{job_id}/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_output(timeout=5))["type"] == "websocket.send"
    await database_sync_to_async(revoke)()
    received: list[dict] = []
    while not received or received[-1]["type"] != "websocket.close":
        try:
            received.append(await socket.receive_output(timeout=3))
        except TimeoutError:
            break
    await socket.disconnect()
    return received


@pytest.mark.django_db(transaction=True)
def test_websocket_closes_once_sharing_is_revoked_and_forwards_nothing_more(user, bob):
    area = make_area(user)
    set_sharing(area, Area.Visibility.SHARED, users=[bob])
    job = area.jobs.get()
    other = Client()
    other.force_login(bob)

    def revoke() -> None:
        set_sharing(area, Area.Visibility.SHARED, users=[])
        JobEvent.objects.create(job=job, stage="terrain", progress=0.5, message="after the revocation")
        notify_job_changed(job.pk)

    received = asyncio.run(_follow_until_revoked(other.cookies["sessionid"].value, job.pk, revoke))
    assert received and received[-1] == {"type": "websocket.close", "code": 4403}
    assert not any("after the revocation" in message.get("text", "") for message in received)


def _embedded_area(client, area: Area) -> dict | None:
    """The area JSON the viewer page embeds (``#rs3d-config``), None when the page is not shown."""
    response = client.get(f"/areas/{area.pk}/view/")
    if response.status_code != 200:
        return None
    found = re.search(r'<script id="rs3d-config" type="application/json">(.*?)</script>', response.content.decode())
    assert found, "the viewer page has no #rs3d-config"
    return json.loads(found[1])["area"]


def test_the_viewer_page_embeds_exactly_what_the_api_answers_the_same_user(user, bob, django_user_model):
    area = make_area(user)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    assert _embedded_area(logged_in(bob), area) is None and _embedded_area(APIClient(), area) is None
    set_sharing(area, Area.Visibility.SHARED, users=[bob], groups=[])
    for client in (logged_in(user), logged_in(bob), logged_in(admin)):
        assert _embedded_area(client, area) == client.get(f"/api/areas/{area.pk}/").json()
    assert _embedded_area(logged_in(user), area)["sharing"] == {"users": ["bob"], "groups": []}
    assert _embedded_area(logged_in(bob), area)["sharing"] is None  # only the owner reads who it is shared with
    assert _embedded_area(APIClient(), area) is None
    set_sharing(area, Area.Visibility.PUBLIC, users=[], groups=[])
    anonymous = APIClient()
    assert _embedded_area(anonymous, area) == anonymous.get(f"/api/areas/{area.pk}/").json()
