"""The web server dies in the middle of an upload: the bytes that arrived survive, the upload resumes."""

import pytest
import requests

pytestmark = pytest.mark.integration

CHUNK = 128 * 1024


def _put(stack, upload_id: str, data: bytes, first: int, total: int) -> requests.Response:
    headers = {
        "Content-Range": f"bytes {first}-{first + len(data) - 1}/{total}",
        "Content-Type": "application/octet-stream",
    }
    return stack.session.put(f"{stack.url}/api/uploads/{upload_id}/", data=data, headers=headers, timeout=30)


def test_an_upload_resumes_after_the_web_server_is_killed(stack, scene):
    ortho = scene["ortho"].read_bytes()
    started = stack.session.post(
        f"{stack.url}/api/uploads/", json={"filename": "ortho.tif", "size": len(ortho)}, timeout=30
    )
    assert started.status_code == 201, started.text
    upload_id = started.json()["id"]
    half = (len(ortho) // CHUNK // 2) * CHUNK
    for first in range(0, half, CHUNK):
        assert _put(stack, upload_id, ortho[first : first + CHUNK], first, len(ortho)).status_code == 200

    stack.restart_web()  # SIGKILL, as a crash or an OOM kill would

    status = stack.session.get(f"{stack.url}/api/uploads/{upload_id}/", timeout=30).json()
    assert status["received"] == half and status["complete"] is False  # what arrived before the crash is kept
    for first in range(half, len(ortho), CHUNK):
        assert _put(stack, upload_id, ortho[first : first + CHUNK], first, len(ortho)).status_code == 200
    with scene["dsm"].open("rb") as dsm:
        area = stack.session.post(
            f"{stack.url}/api/areas/",
            data={"name": "After a crash", "ortho_upload": upload_id},
            files={"dsm": dsm},
            timeout=120,
        )
    assert area.status_code == 201, area.text
    job = stack.wait_for_job(area.json()["job"]["id"])
    assert job["status"] == "succeeded", job["error"]
