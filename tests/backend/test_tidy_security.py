"""The security review's tidy-up items: no 500s from odd input, login throttling, sign-up that names no
accounts, API tokens on the file views, CSP and Permissions-Policy, and readable refusals of bad file names."""

import asyncio
import logging
import re

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
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
