"""Serve a demo folder built by make_demo.py, plus a fake job WebSocket.

Usage:
    .venv/bin/python frontend/demo/serve.py /tmp/rs3d-demo 8765

HTTP: static files from the folder; a directory URL serves its index.html
or index.json (so /api/areas/1/ answers JSON). Unknown API paths answer a
JSON 404 {"detail": "Not found."} like Django REST framework would.
WebSocket /ws/jobs/<id>/: plays a short fake job (queued -> running ->
succeeded, with log events). /ws/jobs/<id>/?drop=1 closes the socket once
mid-run to exercise the client's reconnection; ?fail=1 ends in "failed".
"""

import asyncio
import datetime
import json
import mimetypes
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/rs3d-demo")
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8765
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/octet-stream", ".pnts")
CONNECTIONS: dict[str, int] = {}


def response(status: int, body: bytes, content_type: str) -> Response:
    """Build an uncached HTTP response."""
    headers = Headers()
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    headers["Cache-Control"] = "no-store"
    reasons = {200: "OK", 404: "Not Found"}
    return Response(status, reasons.get(status, "Error"), headers, body)


def process_request(connection: ServerConnection, request: Request) -> Response | None:
    """Serve static files; let /ws/ paths go on to the WebSocket handshake."""
    path = urlsplit(request.path).path
    if path.startswith("/ws/"):
        return None  # let the WebSocket handshake proceed
    target = (ROOT / path.lstrip("/")).resolve()
    if target.is_dir():
        for name in ("index.html", "index.json"):
            if (target / name).is_file():
                target = target / name
                break
    if not target.is_file():
        print(f"404 {path}", flush=True)
        body = json.dumps({"detail": "Not found."}).encode()
        return response(404, body, "application/json")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return response(200, target.read_bytes(), kind)


def now() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.datetime.now(datetime.UTC).isoformat()


async def job_feed(websocket: ServerConnection) -> None:
    """Play a fake job on one WebSocket connection."""
    url = urlsplit(websocket.request.path)
    query = parse_qs(url.query)
    job_id = int(url.path.strip("/").split("/")[-1])
    count = CONNECTIONS[url.path] = CONNECTIONS.get(url.path, 0) + 1
    job = {
        "type": "job",
        "id": job_id,
        "status": "queued",
        "stage": "",
        "progress": 0.0,
        "message": "Waiting for a worker",
        "error": "",
    }
    await websocket.send(json.dumps(job))
    stages = ["ingest", "terrain", "buildings", "tiles", "publish"]
    for step, stage in enumerate(stages):
        await asyncio.sleep(0.3)
        progress = (step + 1) / len(stages)
        job.update(status="running", stage=stage, progress=progress, message=f"Stage {stage} {step + 1}/{len(stages)}")
        await websocket.send(
            json.dumps({"type": "log", "time": now(), "stage": stage, "progress": progress, "message": job["message"]})
        )
        await websocket.send(json.dumps(job))
        if "drop" in query and count == 1 and step == 1:
            await websocket.close()
            return
    if "fail" in query:
        job.update(status="failed", error="Out of memory while meshing.")
    else:
        job.update(status="succeeded", message="Done")
    await websocket.send(json.dumps(job))
    await asyncio.sleep(0.5)


async def main() -> None:
    """Serve until interrupted."""
    async with serve(job_feed, "127.0.0.1", PORT, process_request=process_request):
        print(f"serving {ROOT} on http://127.0.0.1:{PORT}/", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
