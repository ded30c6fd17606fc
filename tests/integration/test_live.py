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
    assert body["status"] == "processing" and body["job"]["status"] == "queued"
    job = stack.wait_for_job(body["job"]["id"])
    assert job["status"] == "succeeded", job["error"]
    area = requests.get(f"{stack.url}/api/areas/{body['id']}/", timeout=10).json()
    assert area["status"] == "ready"
    tileset = requests.get(stack.url + area["layers"][0]["tileset_url"], timeout=10)
    assert tileset.status_code == 200 and tileset.json()["asset"]["version"]
    features = requests.get(stack.url + area["features_url"], params={"class": "building"}, timeout=10).json()
    assert len(features["features"]) > 3
    listing = requests.get(f"{stack.url}/", timeout=10).text
    assert "Live town" in listing and "Ready" in listing


def test_websocket_streams_progress_from_the_worker_process(stack, scene):
    body = upload(stack, scene, "Websocket town")
    messages = asyncio.run(_collect(f"{stack.ws_url}/ws/jobs/{body['job']['id']}/"))
    states = [m for m in messages if m["type"] == "job"]
    logs = [m for m in messages if m["type"] == "log"]
    assert states[-1]["status"] == "succeeded"
    assert {"running", "succeeded"} <= {s["status"] for s in states}
    assert len({m["stage"] for m in logs}) >= 6  # stages seen live, not only the end
    progress = [m["progress"] for m in logs]
    assert progress == sorted(progress) and progress[-1] == 1.0


async def _collect(url: str) -> list[dict]:
    messages: list[dict] = []
    async with websockets.connect(url, origin="http://127.0.0.1") as socket:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=300))
            messages.append(message)
            if message["type"] == "job" and message["status"] in ("succeeded", "failed", "cancelled"):
                return messages


def test_websocket_for_an_unknown_job_closes(stack):
    async def attempt() -> int:
        async with websockets.connect(f"{stack.ws_url}/ws/jobs/987654/", origin="http://127.0.0.1") as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), timeout=10)
            return closed.value.rcvd.code

    assert asyncio.run(attempt()) == 4404
