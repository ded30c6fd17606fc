"""The security review's tidy-up items: no 500s from odd input, login throttling, sign-up that names no
accounts, API tokens on the file views, CSP and Permissions-Policy, and readable refusals of bad file names."""

import asyncio
import logging
import re

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.areas.models import Area, Feature
from backend.viewer.login_limits import client_address
from tests.backend.test_permissions import DOWNLOAD, TILE, make_area

pytestmark = pytest.mark.django_db

RIGHT = "alice-pass-1234"


# --- odd input answers 4xx, never 500 --------------------------------------------------------------------


def test_a_nul_byte_in_a_file_path_is_404(user, client):
    area = make_area(user, Area.Visibility.PUBLIC)
    assert client.get(f"/areas/{area.pk}/data/1/{TILE}").status_code == 200
    for path in (f"{TILE}%00", f"{TILE}%00.json", "%00"):
        assert client.get(f"/areas/{area.pk}/data/1/{path}").status_code == 404


@pytest.fixture
def mapped(user) -> Area:
    """A public area whose version has a building (``h``) and a road (``grade``, ``width_m``)."""
    area = make_area(user, Area.Visibility.PUBLIC)
    building = Feature.objects.get(publication=area.current)
    Feature.objects.create(
        publication=area.current,
        kind="road",
        geometry=building.geometry,
        attributes={"grade": "primary", "width_m": 6},
    )
    return area


def test_unknown_classes_and_attributes_answer_400_naming_those_that_exist(client, mapped):
    url = f"/api/areas/{mapped.pk}/features/"
    typo = client.get(url, {"class": "bulding"})
    assert typo.status_code == 400
    message = typo.json()["class"][0]
    assert "'bulding'" in message and "building" in message and "road" in message and "land_use" in message
    typo = client.get(url, {"where": "heigth_m>=10"})
    assert typo.status_code == 400
    assert typo.json()["where"][0] == (
        "No feature of this area has the attribute 'heigth_m'; the attributes are grade, h, width_m."
    )
    # Known names that match nothing are a real empty answer.
    for params in ({"class": "tree"}, {"where": "h>=100"}, {"class": "road", "where": "h>=1"}):
        response = client.get(url, params)
        assert response.status_code == 200 and response.json()["features"] == [], params
    assert len(client.get(url, {"where": "h>=9"}).json()["features"]) == 1


@pytest.mark.parametrize("name", ["h__isnull", "h__in", "h__gt", "h__regex", "h__gt__x"])
def test_a_lookup_in_an_attribute_name_is_only_a_name(client, mapped, name):
    """Django lookups in the name used to reach the ORM (FieldError: 500); now they are unknown names."""
    response = client.get(f"/api/areas/{mapped.pk}/features/", {"where": f"{name}=1"})
    assert response.status_code == 400
    assert f"'{name}'" in response.json()["where"][0]


async def _connect(path: str) -> tuple[bool, object]:
    from backend.asgi import application

    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    message = await socket.receive_output(timeout=5)
    await socket.disconnect()
    return connected, message


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/jobs/abc/", "/", "/ws/jobs/1/extra/"])
def test_unknown_websocket_paths_are_closed_without_a_traceback(path, caplog):
    with caplog.at_level(logging.INFO):
        connected, message = asyncio.run(_connect(path))
    assert connected and message == {"type": "websocket.close", "code": 4404}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


# --- log-in throttling -----------------------------------------------------------------------------------


def _log_in(password: str, username: str = "alice", address: str = "10.0.0.1", url: str = "/accounts/login/"):
    browser = Client(REMOTE_ADDR=address)
    response = browser.post(url, {"username": username, "password": password, "next": "/"})
    return response, browser


def test_ten_failed_log_ins_lock_the_account_even_for_the_right_password(user):
    for _ in range(10):
        response, _ = _log_in("wrong")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.text
    for address in ("10.0.0.1", "10.9.9.9"):  # the account's count: whichever address asks
        response, browser = _log_in(RIGHT, address=address)
        assert response.status_code == 200
        assert "Too many failed log-ins for this account or from your network. Wait 15 minute(s)" in response.text
        assert "_auth_user_id" not in browser.session
    assert _log_in("bob-pass-1234", username="bob")[0].status_code == 200  # no such user: a failure, not a 500


def test_the_lock_ends_with_its_window_and_a_log_in_clears_the_count(user, settings):
    from django.core.cache import cache

    settings.RS3D_LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        _log_in("wrong")
    assert _log_in(RIGHT)[0].status_code == 302  # under the limit; clears the account's count
    for _ in range(2):
        _log_in("wrong")
    assert _log_in(RIGHT)[0].status_code == 302  # 2 + 2 failures: the first two were forgotten
    for _ in range(3):
        _log_in("wrong")
    assert "Too many failed log-ins" in _log_in(RIGHT)[0].text
    cache.clear()  # what the window's end does
    assert _log_in(RIGHT)[0].status_code == 302


def test_one_address_guessing_across_accounts_is_locked(user, django_user_model, settings):
    settings.RS3D_LOGIN_MAX_FAILURES_PER_ADDRESS = 4
    for name in ("bob", "carol", "dave", "erin"):
        _log_in("guess", username=name, address="192.0.2.7")
    assert "Too many failed log-ins" in _log_in(RIGHT, address="192.0.2.7")[0].text
    assert _log_in(RIGHT, address="192.0.2.8")[0].status_code == 302


def test_the_admin_log_in_is_throttled_too(django_user_model, settings):
    settings.RS3D_LOGIN_MAX_FAILURES = 3
    django_user_model.objects.create_superuser("root", password="root-pass-1234")
    for _ in range(3):
        response, _ = _log_in("wrong", username="root", url="/admin/login/")
        assert response.status_code == 200
    response, browser = _log_in("root-pass-1234", username="root", url="/admin/login/")
    assert response.status_code == 200 and "Too many failed log-ins" in response.text
    assert "_auth_user_id" not in browser.session
    assert "Too many failed log-ins" in _log_in("root-pass-1234", username="root")[0].text  # one count for both


def test_behind_trusted_proxies_the_client_is_the_address_they_saw(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5, 10.0.0.3")
    assert client_address(request) == "10.0.0.2"  # no trusted proxy: the header is the client's to forge
    settings.RS3D_TRUSTED_PROXIES = 1
    assert client_address(request) == "10.0.0.3"
    settings.RS3D_TRUSTED_PROXIES = 2
    assert client_address(request) == "203.0.113.5"


# --- sign-up names no accounts ---------------------------------------------------------------------------


def _sign_up(username: str, password: str = "a-long-Passphrase-9"):
    browser = Client()
    response = browser.post(
        "/accounts/signup/?next=/areas/new/", {"username": username, "password1": password, "password2": password}
    )
    return response, browser


def test_sign_up_answers_the_same_whether_the_name_exists(user, django_user_model):
    taken, taken_browser = _sign_up("alice")
    free, free_browser = _sign_up("dora")
    assert (taken.status_code, taken["Location"]) == (free.status_code, free["Location"])
    assert free.status_code == 302 and free["Location"] == "/accounts/login/?next=%2Fareas%2Fnew%2F"
    assert sorted(taken.cookies) == sorted(free.cookies) == ["messages"]  # no session: nobody is logged in
    pages = [
        re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", b.get(r["Location"]).text).replace(name, "NAME")
        for b, r, name in ((taken_browser, taken, "alice"), (free_browser, free, "dora"))
    ]
    assert pages[0] == pages[1] and "If the user name &#x27;NAME&#x27; was free, your account is ready" in pages[0]
    assert django_user_model.objects.filter(username="dora").exists()
    assert django_user_model.objects.get(username="alice").check_password(RIGHT)  # untouched
    assert _sign_up("ALICE")[0]["Location"] == free["Location"]
    assert not django_user_model.objects.filter(username="ALICE").exists()
    # What does not depend on the name is still said: passwords that differ or are weak.
    weak, _ = _sign_up("alice", password="12345678")
    assert weak.status_code == 200 and "This password is too common" in weak.text
    assert "already exists" not in weak.text


# --- API tokens on the file views ------------------------------------------------------------------------


def test_the_owner_token_reads_private_files_and_nobody_else_does(user, django_user_model):
    area = make_area(user)
    bob = django_user_model.objects.create_user("bob", password="bob-pass-1234")
    owner, other = Token.objects.create(user=user), Token.objects.create(user=bob)
    for relative in (TILE, DOWNLOAD):
        url = f"/areas/{area.pk}/data/1/{relative}"
        response = APIClient().get(url, HTTP_AUTHORIZATION=f"Token {owner.key}")
        assert response.status_code == 200 and "Authorization" in response["Vary"]
        assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {other.key}").status_code == 404
        assert APIClient().get(url).status_code == 404
        refused = APIClient().get(url, HTTP_AUTHORIZATION="Token not-a-token")
        assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
        assert "Invalid token" in refused.text
    # A token is no way round a session: bob's session with alice's header name still needs alice's key.
    browser = APIClient()
    browser.force_login(bob)
    assert browser.get(f"/areas/{area.pk}/data/1/{TILE}").status_code == 404
    inactive = User.objects.get(pk=user.pk)
    inactive.is_active = False
    inactive.save()
    assert (
        APIClient().get(f"/areas/{area.pk}/data/1/{TILE}", HTTP_AUTHORIZATION=f"Token {owner.key}").status_code == 401
    )


def test_public_files_stay_the_same_for_everyone(user):
    area = make_area(user, Area.Visibility.PUBLIC)
    token = Token.objects.create(user=user)
    response = APIClient().get(f"/areas/{area.pk}/data/1/{TILE}", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response["Cache-Control"].startswith("public")
    assert "Vary" not in response or "Authorization" not in response["Vary"]


# --- Content-Security-Policy and Permissions-Policy ------------------------------------------------------


def _csp(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))


def test_every_response_carries_a_strict_csp_and_a_permissions_policy(client, user):
    area = make_area(user, Area.Visibility.PUBLIC)
    static = "/static/rs3d/viewer/cesiumBaseUrl.js"  # workers run under their own script's policy
    for url in ("/", f"/areas/{area.pk}/", f"/areas/{area.pk}/data/1/{TILE}", "/api/areas/", "/api/docs/", static):
        response = client.get(url)
        assert response.status_code == 200, url
        csp = _csp(response)
        assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'", url
        assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'self' 'wasm-unsafe-eval'", url
        assert "*" not in response["Content-Security-Policy"] and "http" not in response["Content-Security-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in response["Permissions-Policy"], url
    viewer = client.get(f"/areas/{area.pk}/view/")  # the bundled viewer: no Knockout, no eval
    assert _csp(viewer) == csp
    assert viewer["Permissions-Policy"] == response["Permissions-Policy"]
    with override_settings(DEBUG=True):  # the page imports Cesium's index.js, whose Knockout evaluates a string
        viewer = client.get(f"/areas/{area.pk}/view/")
    assert _csp(viewer) == {**csp, "script-src": "'self' 'unsafe-eval' 'wasm-unsafe-eval'"}


def test_pages_have_no_inline_script(client, user):
    """The CSP forbids inline script: each page's scripts are files (JSON data blocks are not scripts)."""
    area = make_area(user, Area.Visibility.PUBLIC)
    browser = Client()
    browser.force_login(user)
    pages = ["/", f"/areas/{area.pk}/", f"/areas/{area.pk}/view/", f"/jobs/{area.jobs.get().pk}/", "/areas/new/"]
    pages += ["/accounts/", "/accounts/login/", "/api/docs/"]
    for url in pages:
        html = (browser if url in ("/areas/new/", "/accounts/") else client).get(url).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+=", html), url  # no inline event handlers either


# --- file names an upload cannot read --------------------------------------------------------------------


def _form_with_file_named(name: bytes) -> bytes:
    """A multipart body with a name field and a 300 kB file part called ``name`` (raw bytes, as curl sends)."""
    return (
        b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nOdd names\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="ortho"; filename="' + name + b'"\r\n'
        b"Content-Type: image/tiff\r\n\r\n" + b"x" * 300_000 + b"\r\n--XyZ--\r\n"
    )


@pytest.mark.parametrize("name", [b"\xff\xfeortho.tif", b"..", b"."])
def test_an_unreadable_file_name_is_refused_with_what_to_do(api, web, name):
    body = _form_with_file_named(name)
    expected = "A file name in this upload could not be read (it is not UTF-8 text, or it is only dots). Rename"
    response = api.generic("POST", "/api/areas/", body, content_type="multipart/form-data; boundary=XyZ")
    assert response.status_code == 400 and response.json()["detail"].startswith(expected)
    response = web.generic("POST", "/areas/new/", body, content_type="multipart/form-data; boundary=XyZ")
    assert response.status_code == 400 and expected in response.text.replace("&#x27;", "'")
    assert "Request max total header size" not in response.text
