"""The features API from memory (issue 18): the same answers and permissions as from the database, never a
revoked "yes".

Each request goes through ``FeaturesGate`` around a counting wrapper of Django's ASGI app, so a test knows
whether Django answered or the gate did, and the first answer (decided from the rows) is the reference for
the later ones (from memory). Another credential's first request is also decided from the rows.
"""

import asyncio
import gzip
import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backend.areas.models import Area, Publication
from backend.areas.publish import publish
from backend.jobs.removal import delete_version
from backend.serving import data_gate, feature_answers, feature_grants, grants
from backend.serving.features_gate import FeaturesGate
from tests.backend.conftest import fake_run
from tests.backend.revocations import REVOCATIONS, make_public, session_of, token_of, version_deleted

pytestmark = pytest.mark.django_db(transaction=True)
Headers = list[tuple[str, str]]
BBOX = "3.0,43.0,3.005,43.01"  # the western half


def _django() -> Any:
    """Django's ASGI app (imported late: backend.asgi wants the secret key the test fixtures set)."""
    from backend.asgi import django_http

    return django_http


class Counting:
    """Django's ASGI app, counting the requests it answers."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.calls += 1
        await _django()(scope, receive, send)


async def _call(app: Any, path: str, query: str, headers: Headers, method: str) -> tuple[int, list, bytes]:
    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path, "query_string": query.encode()}
    raw = [(b"host", b"127.0.0.1:8000")] + [(n.lower().encode(), v.encode()) for n, v in headers]
    scope |= {"headers": raw, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "scheme": "http"}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], start["headers"], body


class Harness:
    """The features gate over a counting Django; ``get`` says who answered."""

    def __init__(self) -> None:
        self.django = Counting()
        self.gate = FeaturesGate(self.django)

    def get(self, area: Area, query: str = "", headers: Headers = (), method: str = "GET") -> "Reply":
        before = self.django.calls
        status, raw, body = asyncio.run(_call(self.gate, _path(area), query, list(headers), method))
        return Reply(status, _headers(raw), body, by_gate=self.django.calls == before)


class Reply:
    """One answer: status, headers (lower-case names, without Date), body, and whether the gate sent it."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes, by_gate: bool) -> None:
        self.status, self.headers, self.body, self.by_gate = status, headers, body, by_gate

    def same_as(self, other: "Reply") -> bool:
        return (self.status, self.headers, self.body) == (other.status, other.headers, other.body)

    def features(self) -> list[dict]:
        body = gzip.decompress(self.body) if self.headers.get("content-encoding") == "gzip" else self.body
        return json.loads(body)["features"]


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    names = [name.lower() for name, _ in raw]
    assert len(names) == len(set(names)), raw  # no header twice
    return {name.decode().lower(): value.decode() for name, value in raw if name.lower() != b"date"}


def _path(area: Area) -> str:
    return f"/api/areas/{area.pk}/features/"


def _collection(count: int, height: float) -> dict:
    """``count`` square buildings in a row across the area's box, and one road along it."""
    features = []
    for i in range(count):
        west = 3.0 + i * 0.01 / count
        ring = [[west, 43.004], [west + 0.0002, 43.004], [west + 0.0002, 43.0042], [west, 43.0042], [west, 43.004]]
        properties = {"class": "building", "height_m": height + i, "building_type": ["house", "office"][i % 2]}
        features.append(
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": properties}
        )
    road = {"type": "LineString", "coordinates": [[3.0, 43.005], [3.01, 43.005]]}
    features.append({"type": "Feature", "geometry": road, "properties": {"class": "road", "grade": "local"}})
    return {"type": "FeatureCollection", "features": features}


def _publish(area: Area, count: int = 40, height: float = 5.0) -> None:
    staging = fake_run(area.folder / ".staging" / f"job-{count}-{height}")
    (staging / "vectors" / "features.geojson").write_text(json.dumps(_collection(count, height)))
    publish(area, staging)
    area.refresh_from_db()


@pytest.fixture(autouse=True)
def nothing_remembered(settings) -> None:
    """Nothing kept or remembered yet, the gate on as in the embedded mode (RS3D_DATA_GATE)."""
    settings.RS3D_DATA_GATE = True
    data_gate.forget_all()
    feature_grants.forget_all()
    feature_answers.forget_all()


@pytest.fixture
def gate() -> Harness:
    return Harness()


@pytest.fixture
def area(user) -> Area:
    """Alice's private area: 40 buildings and a road."""
    area = Area.objects.create(name="Features", owner=user, status=Area.Status.PROCESSING)
    _publish(area)
    return area


# --- from memory, the same answers -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["public", "public with a session", "public with a token", "session", "token"])
@pytest.mark.parametrize(
    "extra",
    [
        [("Accept-Encoding", "gzip, deflate, br")],
        [("Accept-Encoding", "identity")],
        [("Accept-Encoding", "gzip"), ("Accept", "application/json, text/plain, */*")],
    ],
)
def test_the_gate_answers_as_the_database_did(gate, area, user, who, extra):
    if who.startswith("public"):
        make_public(area)
    credential = {"session": session_of, "token": token_of}.get(who.split()[-1], lambda _: [])(user)
    first = gate.get(area, f"bbox={BBOX}", credential + extra)
    assert first.status == 200 and not first.by_gate
    again = gate.get(area, f"bbox={BBOX}", credential + extra)
    assert again.by_gate and again.same_as(first), (again.headers, first.headers)
    # The view's own answer from memory (straight to Django, past the gate) is the same too.
    status, raw, body = asyncio.run(_call(_django(), _path(area), f"bbox={BBOX}", credential + extra, "GET"))
    assert Reply(status, _headers(raw), body, by_gate=False).same_as(first)
    # Revalidation: the same 304 from the gate as from Django.
    revalidate = [*credential, *extra, ("If-None-Match", first.headers["etag"])]
    gated = gate.get(area, f"bbox={BBOX}", revalidate)
    status, raw, body = asyncio.run(_call(_django(), _path(area), f"bbox={BBOX}", revalidate, "GET"))
    assert gated.status == 304 and gated.by_gate and gated.same_as(Reply(status, _headers(raw), body, False))


def test_answers_are_the_filtered_features_gzipped_and_kept_once(gate, area):
    make_public(area)
    west = gate.get(area, f"bbox={BBOX}", [("Accept-Encoding", "gzip")])
    assert west.headers["content-encoding"] == "gzip" and west.headers["etag"].startswith('W/"')
    assert west.headers["cache-control"] == "public, no-cache"
    assert 0 < len(west.features()) < 41 and all(f["properties"]["class"] for f in west.features())
    tall = gate.get(area, "class=building&where=height_m>=30&where=building_type=house")
    assert sorted(f["properties"]["height_m"] for f in tall.features()) == [31.0, 33.0, 35.0, 37.0, 39.0, 41.0, 43.0]
    kept = feature_answers.kept_bytes()
    # The same conditions in another order are the same answer: nothing more is kept, the gate sends it.
    again = gate.get(area, "where=building_type=house&class=building&where=height_m>=30")
    assert again.by_gate and again.features() == tall.features() and feature_answers.kept_bytes() == kept
    assert again.headers["etag"] != tall.headers["etag"]  # the ETag names the URL's answer, as before
    small = gate.get(area, "class=road", [("Accept-Encoding", "gzip")])  # under 200 bytes: never gzipped
    assert "content-encoding" not in small.headers and "vary" in small.headers


def test_a_repeated_request_reads_nothing_from_the_database(area, user):
    client = Client()
    client.force_login(user)
    url = _path(area)
    first = client.get(url, {"class": "building"}, HTTP_ACCEPT_ENCODING="gzip")
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, {"class": "building"}, HTTP_ACCEPT_ENCODING="gzip")
    assert len(queries) == 0
    assert again.content == first.content and dict(again.headers) == dict(first.headers)


def test_bad_queries_and_refused_negotiation_go_to_django(gate, area):
    make_public(area)
    gate.get(area, f"bbox={BBOX}")
    for query, headers, status in [
        ("bbox=1,2,3", [], 400),
        ("where=height_m>>3", [], 400),
        ("class=bulding", [], 400),
        (f"bbox={BBOX}&format=xyz", [], 404),
        (f"bbox={BBOX}", [("Accept", "text/csv")], 406),
        (f"bbox={BBOX}", [("Accept", "application/geo+json")], 200),  # Django negotiates it (GeoJSONRenderer)
        (f"bbox={BBOX}", [("If-Match", '"other"')], 412),
    ]:
        reply = gate.get(area, query, headers)
        assert reply.status == status and not reply.by_gate, (query, reply.status)
    assert gate.get(area, f"bbox={BBOX}", method="HEAD").status == 200


# --- permissions: exactly as strict ------------------------------------------------------------------------


def test_a_private_area_is_404_to_anyone_else_whatever_was_kept(gate, area, user, bob):
    for credential in (session_of(user), token_of(user)):
        gate.get(area, f"bbox={BBOX}", credential)
        assert gate.get(area, f"bbox={BBOX}", credential).by_gate
    for credential in ([], session_of(bob), token_of(bob), [("Authorization", "Token nonsense")]):
        reply = gate.get(area, f"bbox={BBOX}", credential)
        assert reply.status in (404, 401) and not reply.by_gate
        assert gate.get(area, f"bbox={BBOX}", credential).status == reply.status


def _granted(gate: Harness, area: Area, credential: Headers) -> None:
    gate.get(area, f"bbox={BBOX}", credential)
    reply = gate.get(area, f"bbox={BBOX}", credential)
    assert reply.status == 200 and reply.by_gate


def _refused(gate: Harness, area: Area, credential: Headers, statuses: tuple[int, ...] = (404,)) -> None:
    reply = gate.get(area, f"bbox={BBOX}", credential)
    assert reply.status in statuses and not reply.by_gate, reply.status


class FeaturesCheck:
    """revocations.Check on the area's features (a bbox query)."""

    def __init__(self, gate: Harness, area: Area) -> None:
        self.gate, self.area = gate, area

    def granted(self, credential: Headers) -> None:
        _granted(self.gate, self.area, credential)

    def refused(self, credential: Headers, statuses: tuple[int, ...] = (404,)) -> None:
        _refused(self.gate, self.area, credential, statuses)


@pytest.mark.parametrize(
    "revocation", [r for r in REVOCATIONS if r is not version_deleted], ids=lambda scenario: scenario.__name__
)
def test_a_revocation_holds_from_the_next_request(revocation, gate, area, user, bob):
    """Every revocation the data gate's tests play (tests/backend/revocations.py), on the features.

    Less one: an area whose only version row is removed has no current version, and the features view answers
    that with an empty collection, not 404 (next test).
    """
    revocation(FeaturesCheck(gate, area), area, user, bob)


def test_a_removed_version_s_features_are_not_answered_from_memory(gate, area, user):
    credential = session_of(user)
    _granted(gate, area, credential)
    Publication.objects.filter(area=area, version=1).delete()  # the row: the files are still there
    reply = gate.get(area, f"bbox={BBOX}", credential)
    assert reply.status == 200 and not reply.by_gate and reply.features() == []


def test_a_new_version_is_answered_at_once(gate, area, user):
    credential = session_of(user)
    _granted(gate, area, credential)
    before = gate.get(area, "class=building", credential)
    _publish(area, count=10, height=50.0)
    after = gate.get(area, "class=building", credential)
    assert not after.by_gate and after.headers["etag"] != before.headers["etag"]
    assert [f["properties"]["height_m"] for f in after.features()] == [50.0 + i for i in range(10)]
    delete_version(area, 2)  # the first version is current again: its answer, not the deleted one's
    back = gate.get(area, "class=building", credential)
    assert not back.by_gate and back.features() == before.features()


def test_scale_mode_decides_every_request_from_the_database(gate, area, settings):
    """RS3D_DATA_GATE off (scale mode's default): nothing is remembered, kept answers are still used."""
    settings.RS3D_DATA_GATE = False
    make_public(area)
    first = gate.get(area, f"bbox={BBOX}")
    kept = feature_answers.kept_bytes()
    assert kept > 0
    for _ in range(2):
        again = gate.get(area, f"bbox={BBOX}")
        assert not again.by_gate and again.same_as(first)
    area.visibility = Area.Visibility.PRIVATE
    area.save()
    assert gate.get(area, f"bbox={BBOX}").status == 404
    assert feature_answers.kept_bytes() == kept


def test_kept_answers_stay_within_their_budget(gate, area, settings):
    settings.RS3D_FEATURES_CACHE_BYTES = 4000
    make_public(area)
    for i in range(30):
        assert gate.get(area, f"where=height_m>={i}").status == 200
        assert feature_answers.kept_bytes() <= 4000
    assert feature_answers.kept_bytes() > 0
    settings.RS3D_FEATURES_CACHE_BYTES = 400  # every answer is above a quarter of it: none is kept
    feature_answers.forget_all()
    gate.get(area, f"bbox={BBOX}", [("Accept-Encoding", "gzip")])
    assert feature_answers.kept_bytes() == 0


def test_the_grant_is_the_data_gates(gate, area, user):
    """A credential let read the features may read the current version's files: one "yes", one table."""
    credential = token_of(user)
    gate.get(area, f"bbox={BBOX}", credential)
    headers = {name.lower(): value for name, value in credential}
    assert data_gate._grant(headers, area.pk, area.current.version, data_gate._config()) is not None
    grants.bump()
    assert gate.get(area, f"bbox={BBOX}", credential).by_gate is False


def test_the_served_application_puts_the_features_gate_behind_the_data_gate():
    """What uvicorn serves (backend.asgi.application) answers features from memory: the gates are wired."""
    from backend.asgi import application, django_http
    from backend.serving.data_gate import DataGate

    http = application.application_mapping["http"]
    assert isinstance(http, DataGate) and isinstance(http.app, FeaturesGate) and http.app.app is django_http
