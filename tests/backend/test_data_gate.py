"""The data gate (backend.serving.data_gate) in front of Django: same answers, and never a revoked "yes".

Each request goes through ``DataGate`` around a counting wrapper of Django's ASGI app, so a test knows
whether Django answered or the gate did. Django's own answer to the same request (straight to Django) is the
reference for headers and bytes.
"""

import asyncio
import dataclasses
from typing import Any

import brotli
import pytest
from asgiref.testing import ApplicationCommunicator

from backend.areas.models import Area
from backend.areas.publish import publish
from backend.serving import data_gate, grants
from backend.serving.data_gate import DataGate
from tests.backend.revocations import REVOCATIONS, make_public, session_of, token_of
from tests.backend.test_delivery import FILES, TILE, TILESET, _stage, url

pytestmark = pytest.mark.django_db(transaction=True)
Headers = list[tuple[str, str]]


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


async def _call(app: Any, path: str, headers: Headers, method: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    scope = {"type": "http", "http_version": "1.1", "method": method, "path": path, "query_string": b""}
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
    """The gate over a counting Django; ``get`` says who answered."""

    def __init__(self) -> None:
        self.django = Counting()
        self.gate = DataGate(self.django)

    def get(self, path: str, headers: Headers = (), method: str = "GET") -> tuple[int, dict, bytes, bool]:
        """Status, headers (lower-case names), body, and whether the gate answered without Django."""
        before = self.django.calls
        status, raw, body = asyncio.run(_call(self.gate, path, list(headers), method))
        return status, _headers(raw), body, self.django.calls == before


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    names = [name.lower() for name, _ in raw]
    assert len(names) == len(set(names)), raw  # no header twice
    return {name.decode().lower(): value.decode() for name, value in raw}


def django_answer(path: str, headers: Headers = (), method: str = "GET") -> tuple[int, dict, bytes]:
    status, raw, body = asyncio.run(_call(_django(), path, list(headers), method))
    return status, _headers(raw), body


@pytest.fixture(autouse=True)
def no_grants(settings) -> None:
    """A gate that remembers nothing yet, switched on as in the embedded mode (scale mode leaves it off unless
    RS3D_DATA_GATE=1, which is what these tests then stand for)."""
    settings.RS3D_DATA_GATE = True
    data_gate.forget_all()


@pytest.fixture
def gate() -> Harness:
    return Harness()


@pytest.fixture
def area(user) -> Area:
    """Alice's private area, published with its precompressed copies."""
    area = Area.objects.create(name="Tiles", owner=user, status=Area.Status.PROCESSING)
    publish(area, _stage(area))
    area.refresh_from_db()
    return area


# --- the gate answers as Django does ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["public", "session", "token", "public with a token"])
@pytest.mark.parametrize(
    ("method", "extra", "expected"),
    [
        ("GET", [("Accept-Encoding", "gzip, br")], 200),
        ("GET", [("Accept-Encoding", "identity")], 200),
        ("GET", [("Range", "bytes=10-99")], 206),
        ("GET", [("If-None-Match", "ETAG"), ("Accept-Encoding", "gzip")], 304),
        ("GET", [("If-Modified-Since", "LAST"), ("Accept-Encoding", "gzip")], 304),
        ("HEAD", [("Accept-Encoding", "br")], 200),
    ],
    ids=["br", "identity", "range", "304 by etag", "304 by date", "head"],
)
def test_gate_answers_with_djangos_headers_and_bytes(gate, area, user, who, method, extra, expected):
    if who.startswith("public"):
        make_public(area)
    credential = {"public": [], "session": session_of(user)}.get(who) or token_of(user)
    status, first, _, by_gate = gate.get(url(area, TILESET), credential + [("Accept-Encoding", "gzip")])
    assert status == 200 and not by_gate  # Django decided first
    extra = [(n, v.replace("ETAG", first["etag"]).replace("LAST", first["last-modified"])) for n, v in extra]
    status, headers, body, by_gate = gate.get(url(area, TILESET), credential + extra, method)
    assert by_gate and status == expected
    assert (status, headers, body) == django_answer(url(area, TILESET), credential + extra, method)


def test_gate_sends_brotli_and_ranges_of_the_right_bytes(gate, area):
    make_public(area)
    gate.get(url(area, TILE))
    status, headers, body, by_gate = gate.get(url(area, TILE), [("Accept-Encoding", "gzip, br")])
    assert by_gate and status == 200 and headers["content-encoding"] == "br"
    assert brotli.decompress(body) == FILES[TILE]
    status, headers, body, by_gate = gate.get(url(area, TILE), [("Range", "bytes=-100")])
    assert by_gate and status == 206 and body == FILES[TILE][-100:]
    status, _, body, by_gate = gate.get(url(area, TILE), [("Accept-Encoding", "identity")])
    assert by_gate and body == FILES[TILE]


def test_gate_streams_large_files_in_chunks(gate, area, monkeypatch):
    monkeypatch.setattr(data_gate, "_INLINE", 1000)
    make_public(area)
    gate.get(url(area, TILE))
    status, _, body, by_gate = gate.get(url(area, TILE), [("Accept-Encoding", "identity")])
    assert by_gate and status == 200 and body == FILES[TILE]


def test_what_the_gate_cannot_answer_goes_to_django(gate, area, user):
    make_public(area)
    gate.get(url(area, TILESET))
    for path, headers in (
        (url(area, "no/such/file.json"), []),  # no file: Django's 404
        (url(area, f"{TILESET}.br"), []),  # a precompressed copy is not a file of the version
        (url(area, "../../../etc/passwd"), []),
        (url(area, TILESET), [("Range", f"bytes={len(FILES[TILESET]) + 10}-")]),  # 416
        (url(area, TILESET), [("If-Match", '"other"')]),  # 412
        (url(area, TILESET), [("Authorization", "Token not-a-token")]),  # an unseen credential: Django's 401
    ):
        status, _, _, by_gate = gate.get(path, headers)
        assert not by_gate and status in (401, 404, 412, 416), (path, headers, status)
    status, _, _, by_gate = gate.get(url(area, TILESET), [("Host", "evil.example")])
    assert not by_gate


def test_links_and_dots_go_to_django(gate, area, tmp_path):
    make_public(area)
    folder = area.current.folder
    (tmp_path / "secret.json").write_text("{}")
    (folder / "outside.json").symlink_to(tmp_path / "secret.json")
    (folder / "inside.json").symlink_to(folder / TILESET)
    gate.get(url(area, TILESET))
    for relative, expected in (("outside.json", 404), ("inside.json", 200), (f"./{TILESET}", 200)):
        status, _, _, by_gate = gate.get(url(area, relative))
        assert (status, by_gate) == (expected, False), relative


def test_a_grant_is_for_its_own_credential_only(gate, area, user, bob):
    alice = session_of(user)
    assert gate.get(url(area, TILESET), alice)[0] == 200
    assert gate.get(url(area, TILESET), alice)[3]
    for stranger in ([], session_of(bob), token_of(bob), [("Cookie", "sessionid=forged")]):
        status, _, _, by_gate = gate.get(url(area, TILESET), stranger)
        assert status == 404 and not by_gate, stranger
    # Alice's cookie with a bad token: Django refuses the token as it always does.
    status, _, _, by_gate = gate.get(url(area, TILESET), alice + [("Authorization", "Token bad")])
    assert status == 401 and not by_gate


# --- revocations take effect on the very next request --------------------------------------------------------


def _granted(gate: Harness, area: Area, credential: Headers) -> None:
    assert gate.get(url(area, TILESET), credential)[0] == 200
    status, _, _, by_gate = gate.get(url(area, TILESET), credential)
    assert status == 200 and by_gate


def _refused(gate: Harness, area: Area, credential: Headers, statuses: tuple[int, ...] = (404,)) -> None:
    status, _, _, by_gate = gate.get(url(area, TILESET), credential)
    assert status in statuses and not by_gate


@dataclasses.dataclass
class TileCheck:
    """revocations.Check on the area's point-cloud tileset."""

    gate: "Harness"
    area: Area

    def granted(self, credential: Headers) -> None:
        _granted(self.gate, self.area, credential)

    def refused(self, credential: Headers, statuses: tuple[int, ...] = (404,)) -> None:
        _refused(self.gate, self.area, credential, statuses)


@pytest.mark.parametrize("revocation", REVOCATIONS, ids=lambda scenario: scenario.__name__)
def test_a_revocation_holds_from_the_next_request(revocation, gate, area, user, bob):
    revocation(TileCheck(gate, area), area, user, bob)


def test_a_grant_recorded_before_a_change_is_not_replayed(gate, area):
    make_public(area)
    _granted(gate, area, [])
    before = grants.generation()
    area.save(update_fields=["name"])  # no access field: nothing to revoke, the grant stays
    assert grants.generation() == before
    assert gate.get(url(area, TILESET))[3]
    grants.bump()
    assert grants.generation() != before
    assert not gate.get(url(area, TILESET))[3]  # a bump voids every grant: Django decides again


def test_an_expired_session_goes_to_django(gate, area, user):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    credential = session_of(user)
    _granted(gate, area, credential)
    key = next(k for k in data_gate._grants if k[0].startswith("session:"))
    assert data_gate._grants[key].expires == Session.objects.get().expire_date.timestamp()  # the row's date
    grant = data_gate._grants[key]
    data_gate._grants[key] = dataclasses.replace(grant, expires=timezone.now().timestamp() - 1)
    assert not gate.get(url(area, TILESET), credential)[3]


def test_other_session_stores_are_not_remembered(gate, area, user, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    credential = session_of(user)
    assert gate.get(url(area, TILESET), credential)[0] == 200
    assert not gate.get(url(area, TILESET), credential)[3]


def test_gate_off(gate, area, settings):
    settings.RS3D_DATA_GATE = False
    make_public(area)
    gate.get(url(area, TILESET))
    assert not gate.get(url(area, TILESET))[3]
