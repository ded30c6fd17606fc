"""The whole path on real processes: upload over HTTP, a separate worker reconstructs, progress over a websocket."""

import asyncio
import json

import pytest
import requests
import websockets

from tests.integration.conftest import upload

pytestmark = pytest.mark.integration


def test_upload_through_the_api_is_reconstructed_by_the_worker(stack, scene):
    body = upload(stack, scene, "Live town")
    # A worker that is idle may claim the job before the response is written.
    assert body["status"] == "processing" and body["job"]["status"] in ("queued", "running")
    job = stack.wait_for_job(body["job"]["id"])
    assert job["status"] == "succeeded", job["error"]
    area = stack.session.get(f"{stack.url}/api/areas/{body['id']}/", timeout=10).json()
    assert area["status"] == "ready" and area["owner"] == "tester" and area["visibility"] == "private"
    tileset = stack.session.get(stack.url + area["layers"][0]["tileset_url"], timeout=10)
    assert tileset.status_code == 200 and tileset.json()["asset"]["version"]
    features = stack.session.get(stack.url + area["features_url"], params={"class": "building"}, timeout=10).json()
    assert len(features["features"]) > 3
    listing = stack.session.get(f"{stack.url}/", timeout=10).text
    assert "Live town" in listing and "Ready" in listing
    # The area is private: without the session the same URLs do not exist.
    for url in (f"/api/areas/{body['id']}/", area["layers"][0]["tileset_url"], f"/areas/{body['id']}/view/"):
        assert requests.get(stack.url + url, timeout=10).status_code == 404
    assert "Live town" not in requests.get(f"{stack.url}/", timeout=10).text


def test_scripts_use_an_api_token_like_curl(stack, scene):
    anonymous = requests.post(f"{stack.url}/api/areas/", data={"name": "Nobody's"}, timeout=10)
    assert anonymous.status_code == 401
    script = {"Authorization": f"Token {stack.token}"}  # no cookie, no CSRF token
    with scene["ortho"].open("rb") as ortho, scene["dsm"].open("rb") as dsm:
        response = requests.post(
            f"{stack.url}/api/areas/",
            headers=script,
            data={"name": "Scripted town"},
            files={"ortho": ortho, "dsm": dsm},
            timeout=120,
        )
    assert response.status_code == 201, response.text
    area_id = response.json()["id"]
    shared = requests.patch(
        f"{stack.url}/api/areas/{area_id}/", headers=script, json={"visibility": "public"}, timeout=10
    )
    assert shared.status_code == 200 and shared.json()["visibility"] == "public"
    assert requests.get(f"{stack.url}/api/areas/{area_id}/", timeout=10).status_code == 200
    cancelled = requests.post(
        f"{stack.url}/api/jobs/{response.json()['job']['id']}/cancel/", headers=script, timeout=10
    )
    assert cancelled.status_code == 200


def test_websocket_streams_progress_from_the_worker_process(stack, scene):
    body = upload(stack, scene, "Websocket town")
    cookie = f"sessionid={stack.session.cookies['sessionid']}"
    messages = asyncio.run(_collect(f"{stack.ws_url}/ws/jobs/{body['job']['id']}/", cookie))
    states = [m for m in messages if m["type"] == "job"]
    logs = [m for m in messages if m["type"] == "log"]
    assert states[-1]["status"] == "succeeded"
    assert {"running", "succeeded"} <= {s["status"] for s in states}
    assert len({m["stage"] for m in logs}) >= 6  # stages seen live, not only the end
    progress = [m["progress"] for m in logs]
    assert progress == sorted(progress) and progress[-1] == 1.0


async def _collect(url: str, cookie: str) -> list[dict]:
    messages: list[dict] = []
    async with websockets.connect(url, origin="http://127.0.0.1", additional_headers={"Cookie": cookie}) as socket:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=300))
            messages.append(message)
            if message["type"] == "job" and message["status"] in ("succeeded", "failed", "cancelled"):
                return messages


def test_websocket_for_an_unknown_or_hidden_job_closes(stack, scene):
    async def attempt(job_id: int) -> int:
        async with websockets.connect(f"{stack.ws_url}/ws/jobs/{job_id}/", origin="http://127.0.0.1") as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), timeout=10)
            return closed.value.rcvd.code

    assert asyncio.run(attempt(987654)) == 4404
    private = upload(stack, scene, "Hidden town")  # no session cookie on the socket: as good as absent
    assert asyncio.run(attempt(private["job"]["id"])) == 4404
