"""Faults, really caused: a full disk, the database gone for a moment, Redis restarting.

Each test causes its fault for real and checks what the user is told, that nothing half-done becomes
visible, and that the service recovers once the fault is gone:

- a full disk: a small tmpfs (needs root to mount; skipped without, a failure with CI=true) filled to
  the brim with a ballast file, then freed;
- SQLite locked by another connection (embedded mode only);
- PostgreSQL cut and restored: the web process and the worker reach it through a TCP proxy started here,
  which drops every connection and refuses new ones for a few seconds (scale mode only);
- Redis stopped and started again: a private redis-server on a free port (scale mode only).

The scale-mode faults skip in the embedded pass and fail instead of skipping when RS3D_SCALE_TESTS=1.
"""

import asyncio
import errno
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import websockets
from django.core.files import File
from django.db import connection
from django.test import RequestFactory
from django_tasks_db.models import DBTaskResult

from backend.api.throttles import UploadRateThrottle
from backend.areas.models import Area, Source
from backend.areas.publish import publish
from backend.areas.uploads import AreaUpload, create_area
from backend.jobs import notify
from backend.jobs.models import Job
from backend.jobs.progress import JobProgress
from backend.jobs.services import retry_job, run_job, start_job
from backend.models_registry.models import ModelVersion
from backend.models_registry.tasks import train_model
from backend.runtime.diskspace import is_disk_full
from devtools.processes import free_port, stop_processes
from tests.backend.children import child_env, shared_database_url, start_worker, wait_for
from tests.backend.conftest import fake_run, listing
from tests.backend.test_scale_mode import require_scale
from tests.conftest import ROOT, require

DISK_BYTES = 16 * 1024 * 1024
#: Stages of a run between the input checks and publication (the worker is busy reconstructing).
MID_RUN = ["imagery", "heights", "terrain", "classify", "pointcloud", "features", "rasters"]
OUTAGE_SECONDS = 3.5
#: The live processes' lease: a heartbeat every 3 s, so a database outage of 3.5 s meets at least one.
LIVE_LEASE_SECONDS = 12
FULL_DISK = "is full: free space and retry"


# --- helpers ----------------------------------------------------------------------------------------


def _area(scene_files: dict[str, Path], name: str, **fields) -> Area:
    with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
        area, _ = create_area(AreaUpload(name=name, ortho=File(ortho, "ortho.tif"), dsm=File(dsm, "dsm.tif")))
    Area.objects.filter(pk=area.pk).update(**fields)
    area.refresh_from_db()
    return area


def _files(folder: Path) -> dict[str, bytes]:
    return {p: (folder / p).read_bytes() for p in listing(folder) if (folder / p).is_file()}


# --- a full disk ------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of its own, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0755", "tmpfs", str(mount_point)]
    done = subprocess.run(command, capture_output=True, text=True) if shutil.which("mount") else None
    reason = "no mount command" if done is None else (done.stderr.strip() or f"exit code {done.returncode}")
    require(
        done is not None and done.returncode == 0,
        f"cannot mount a small tmpfs to fill ({reason}): the full-disk tests need root (CAP_SYS_ADMIN)",
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path, leave: int = 0) -> Path:
    """Write a ballast file until the disk answers ENOSPC, then give ``leave`` bytes back; return the ballast."""
    ballast = disk / "ballast"
    block = b"\0" * (1 << 20)
    with ballast.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
    if leave:
        os.truncate(ballast, max(0, ballast.stat().st_size - leave))
    return ballast


@pytest.mark.django_db
def test_a_full_disk_fails_the_job_clearly_keeps_the_served_version_and_the_retry_publishes(
    settings, scene_files, small_disk, user, web
):
    settings.MEDIA_ROOT = small_disk / "media"
    settings.MEDIA_ROOT.mkdir()
    area = _area(scene_files, "Full disk town", owner=user)
    publish(area, fake_run(area.folder / ".staging" / "job-0"))  # version 1, served
    v1 = area.folder / "v1"
    v1_before = _files(v1)
    assert web.get(f"/areas/{area.pk}/data/1/tiles/tileset.json").status_code == 200

    ballast = _fill(small_disk)
    job = start_job(area)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert f"The disk holding {area.folder} {FULL_DISK}." in job.error, job.error
    assert "nothing of this run was published" in job.error
    area.refresh_from_db()
    assert area.status == "ready" and area.current.version == 1
    assert sorted(p.name for p in area.folder.iterdir()) == [".staging", "sources", "v1"]
    assert listing(area.folder / ".staging") == set()  # the run's half-written folder is gone
    assert _files(v1) == v1_before
    response = web.get(f"/areas/{area.pk}/data/1/tiles/tileset.json")
    assert response.status_code == 200 and b"".join(response.streaming_content) == v1_before["tiles/tileset.json"]

    ballast.unlink()  # space freed
    retry = retry_job(job)
    run_job(retry.pk)
    retry.refresh_from_db()
    assert retry.status == "succeeded" and retry.version == 2, retry.error
    area.refresh_from_db()
    assert area.current.version == 2 and (area.folder / "v2" / "manifest.json").is_file()


@pytest.mark.django_db
def test_publishing_onto_a_full_disk_leaves_no_partial_copy_and_can_be_repeated(settings, small_disk):
    settings.MEDIA_ROOT = small_disk / "media"
    area = Area.objects.create(name="Precompress", status=Area.Status.PROCESSING)
    staging = fake_run(area.folder / ".staging" / "job-9")
    before = listing(staging)
    ballast = _fill(small_disk)  # the brotli and gzip copies written while publishing do not fit

    with pytest.raises(OSError) as raised:
        publish(area, staging)
    assert is_disk_full(raised.value)
    assert listing(staging) == before  # no truncated .part copy left
    assert not (area.folder / "v1").exists() and area.publications.count() == 0

    ballast.unlink()
    assert publish(area, staging).version == 1
    assert (area.folder / "v1" / "tiles" / "tileset.json.br").is_file()


@pytest.mark.django_db
def test_an_upload_onto_a_full_disk_is_refused_clearly_and_leaves_nothing(api, settings, scene_files, small_disk):
    settings.MEDIA_ROOT = small_disk / "media"
    settings.MEDIA_ROOT.mkdir()
    ballast = _fill(small_disk, leave=64 * 1024)  # less than the orthophoto
    before = listing(settings.MEDIA_ROOT)

    def post():
        with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
            return api.post("/api/areas/", {"name": "Too big", "ortho": ortho, "dsm": dsm}, format="multipart")

    response = post()
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["non_field_errors"])
    assert f"The disk holding {settings.MEDIA_ROOT} {FULL_DISK}." in message and "nothing was kept" in message
    assert Area.objects.count() == 0 and Source.objects.count() == 0 and Job.objects.count() == 0
    assert listing(settings.MEDIA_ROOT) == before

    ballast.unlink()
    assert post().status_code == 201


@pytest.mark.django_db
def test_a_chunk_onto_a_full_disk_keeps_what_arrived_and_resumes_once_freed(api, settings, small_disk):
    settings.MEDIA_ROOT = small_disk / "media"
    settings.MEDIA_ROOT.mkdir()
    payload = os.urandom(3 << 20)
    upload = api.post("/api/uploads/", {"filename": "ortho.tif", "size": len(payload)}, format="json").json()
    ballast = _fill(small_disk, leave=1 << 20)  # room for about a third of the file

    def put(first: int):
        chunk = payload[first:]
        return api.put(
            f"/api/uploads/{upload['id']}/",
            chunk,
            content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"bytes {first}-{len(payload) - 1}/{len(payload)}",
        )

    refused = put(0)
    assert refused.status_code == 507 and "disk is full" in refused.json()["detail"]
    received = api.get(f"/api/uploads/{upload['id']}/").json()["received"]
    assert 0 < received < len(payload)  # the bytes that fitted are kept, and exactly those
    ballast.unlink()
    assert put(received).json()["complete"] is True
    staged = next((settings.MEDIA_ROOT / "staged").iterdir())
    assert staged.read_bytes() == payload


# --- SQLite locked (embedded mode) ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sqlite_locked_by_another_writer_delays_progress_without_losing_it(caplog):
    if connection.vendor != "sqlite":
        pytest.skip("'database is locked' is SQLite's transient fault (embedded mode); PostgreSQL is cut below")
    job = Job.objects.create(area=Area.objects.create(name="Locked"), status="running")
    options = connection.settings_dict["OPTIONS"]
    assert options["timeout"] == 30  # the busy timeout: a writer waits up to 30 s for the lock

    def hold_write_lock(seconds: float) -> threading.Thread:
        locker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN IMMEDIATE")  # another process writing, as a worker and the web process do

        def release() -> None:
            time.sleep(seconds)
            locker.execute("COMMIT")
            locker.close()

        thread = threading.Thread(target=release)
        thread.start()
        return thread

    # Within the busy timeout SQLite itself waits for the lock.
    holder = hold_write_lock(1.0)
    started = time.monotonic()
    JobProgress(job)("terrain", 0.5, "Waiting for the lock")
    assert time.monotonic() - started >= 0.9
    holder.join()

    # Held for longer than the busy timeout (shortened here to 0.2 s), the write fails with "database is
    # locked" and is retried until the lock is released.
    connection.close()
    options["timeout"] = 0.2
    try:
        holder = hold_write_lock(1.5)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="backend.runtime.dbretry"):
            JobProgress(job)("classify", 0.5, "Retried after the lock")
        waited = time.monotonic() - started
        holder.join()
    finally:
        connection.close()
        options["timeout"] = 30
    assert 1.3 <= waited < 10
    assert "database is locked" in caplog.text and "database back after" in caplog.text
    job.refresh_from_db()
    assert job.stage == "classify"
    assert list(job.events.values_list("message", flat=True)) == ["Waiting for the lock", "Retried after the lock"]


# --- scale mode: PostgreSQL cut, Redis restarting -----------------------------------------------------


class TcpProxy:
    """A TCP proxy on 127.0.0.1 to ``target`` that can be cut (every connection dropped, new ones refused)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> None:
        """Listen (again)."""
        if not self._thread.is_alive():
            self._thread.start()
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening (new connections are refused) and reset every open connection."""
        self._call(self._cut())

    def close(self) -> None:
        """Cut and stop the proxy's thread."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _call(self, work) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence (a restart forgets everything)."""

    def __init__(self, log: Path) -> None:
        require(shutil.which("redis-server") is not None, "redis-server is not installed (apt-get install redis)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        """Stop it (SIGTERM: connections are closed, as in a restart)."""
        if self.process is not None:
            stop_processes(self.process)
            self.process = None


@dataclass
class Live:
    """A web process and a worker reaching PostgreSQL through ``proxy`` and a private Redis."""

    url: str
    home: Path
    proxy: TcpProxy
    redis: PrivateRedis
    web: subprocess.Popen
    worker: subprocess.Popen
    logs: Path

    def log(self, name: str) -> str:
        """The text of ``web.log`` or ``worker.log``."""
        return (self.logs / f"{name}.log").read_text()


def _through(url: str, port: int) -> str:
    """``url`` (postgis://user:pw@host:port/db) with 127.0.0.1:``port`` as its server."""
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{port}"))


@pytest.fixture(scope="module")
def live(django_db_setup, django_db_blocker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Scale mode for real: daphne and rs3d_worker on the test database through a TCP proxy, on a private Redis."""
    require_scale("DATABASE_URL")
    require_scale("REDIS_URL")
    home = tmp_path_factory.mktemp("faults-home")
    logs = home / "logs"
    logs.mkdir()
    with django_db_blocker.unblock():
        params = connection.settings_dict
        database_url = shared_database_url()
    proxy = TcpProxy(params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432))
    proxy.start()
    redis = PrivateRedis(logs / "redis.log")
    redis.start()
    env = child_env(home, DATABASE_URL=_through(database_url, proxy.port), REDIS_URL=redis.url)
    env["RS3D_JOB_LEASE_SECONDS"] = str(LIVE_LEASE_SECONDS)
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "backend.asgi:application"],
        env=env,
        cwd=ROOT,
        stdout=(logs / "web.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = start_worker(env, logs / "worker.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(url), 60, "the web server answering", web, worker)
        yield Live(url, home, proxy, redis, web, worker, logs)
    finally:
        stop_processes(web, worker)
        redis.stop()
        proxy.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "/", timeout=10).status_code == 200
    except requests.RequestException:
        return False


async def _follow(live: Live, job_id: int, until, timeout: float = 120) -> list[dict]:
    """Messages of the job's websocket until ``until(messages)`` holds (or the socket closes)."""
    ws_url = live.url.replace("http://", "ws://") + f"/ws/jobs/{job_id}/"
    messages: list[dict] = []
    async with websockets.connect(ws_url, origin="http://127.0.0.1") as socket_:
        while not until(messages):
            messages.append(json.loads(await asyncio.wait_for(socket_.recv(), timeout)))
    return messages


def _states(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] == "job"]


def _running_mid_run(messages: list[dict]) -> bool:
    return any(m["status"] == "running" and m["stage"] in MID_RUN for m in _states(messages))


def _finished(messages: list[dict]) -> bool:
    return any(m["status"] in ("succeeded", "failed", "cancelled") for m in _states(messages))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_postgresql_cut_mid_job_the_worker_and_web_wait_and_the_job_finishes(live, scene_files, settings):
    settings.MEDIA_ROOT = live.home / "media"  # the live processes' media folder
    area = _area(scene_files, "Database blip", visibility=Area.Visibility.PUBLIC)
    job = start_job(area)

    async def scenario() -> tuple[list[dict], list[dict], int, float]:
        ws_url = live.url.replace("http://", "ws://") + f"/ws/jobs/{job.pk}/"
        before: list[dict] = []
        async with websockets.connect(ws_url, origin="http://127.0.0.1") as socket_:
            while not _running_mid_run(before):
                before.append(json.loads(await asyncio.wait_for(socket_.recv(), 120)))
            live.proxy.cut()
            during = await asyncio.to_thread(requests.get, f"{live.url}/api/jobs/{job.pk}/", timeout=10)
            await asyncio.sleep(OUTAGE_SECONDS)
            live.proxy.start()
            restored = time.monotonic()
            after: list[dict] = [json.loads(await asyncio.wait_for(socket_.recv(), 60))]
            recovered = time.monotonic() - restored
            while not _finished(after):
                after.append(json.loads(await asyncio.wait_for(socket_.recv(), 120)))
        return before, after, during.status_code, recovered

    before, after, status_during, recovered = asyncio.run(scenario())
    assert status_during >= 500  # the web process answers (its database is gone); it does not die
    assert recovered < 15, f"the websocket heard nothing for {recovered:.1f} s after the database came back"
    final = _states(after)[-1]
    assert final["status"] == "succeeded" and final["version"] == 1, final
    job.refresh_from_db()
    assert job.status == "succeeded" and DBTaskResult.objects.get(pk=job.task_id).status == "SUCCESSFUL"
    stages = set(job.events.values_list("stage", flat=True))
    assert {"imagery", "terrain", "classify", "features", "rasters", "tiles"} <= stages  # no progress lost
    worker_log = live.log("worker")
    assert "database unavailable during" in worker_log and "database back after" in worker_log
    assert live.web.poll() is None and live.worker.poll() is None
    assert requests.get(f"{live.url}/api/jobs/{job.pk}/", timeout=10).json()["status"] == "succeeded"

    # An idle worker polling for tasks outlasts an outage too, and takes the next task once it is back.
    live.proxy.cut()
    wait_for(lambda: "polling again until it is back" in live.log("worker"), 30, "the worker noticing", live.worker)
    live.proxy.start()
    version = ModelVersion.objects.create(area=area, steps=10)  # no LiDAR: the worker fails it at once
    train_model.enqueue(version.pk)
    wait_for(
        lambda: ModelVersion.objects.get(pk=version.pk).status == "failed",
        30,
        "the worker taking a task after the outage",
        live.worker,
    )
    assert live.worker.poll() is None


class _FlakyLayer:
    """A channel layer whose messages fail while ``down`` is set, as Redis refusing connections."""

    def __init__(self) -> None:
        self.down = False
        self.attempts = 0
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectionRefusedError("Connection refused")
        self.sent.append((group, message))


def test_the_worker_stops_trying_an_unreachable_channel_layer_for_a_while_then_pushes_again(monkeypatch, caplog):
    layer, clock = _FlakyLayer(), [100.0]
    monkeypatch.setattr(notify, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(notify, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    with caplog.at_level(logging.WARNING, logger="backend.jobs.notify"):
        layer.down = True
        notify.notify_job_changed(1)  # refused: logged, then quiet for QUIET_SECONDS
        clock[0] += notify.QUIET_SECONDS / 2
        notify.notify_job_changed(2)  # quiet: not even tried
        layer.down = False
        clock[0] += notify.QUIET_SECONDS / 4
        notify.notify_job_changed(3)  # Redis is back, but the quiet window is not over
        assert (layer.attempts, layer.sent) == (1, [])
        clock[0] += notify.QUIET_SECONDS / 2
        notify.notify_job_changed(4)
        notify.notify_job_changed(5)
    assert layer.sent == [(notify.job_group(job), {"type": notify.JOB_CHANGED, "job": job}) for job in (4, 5)]
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2, warnings  # one line when it fails, one when it is back
    assert "could not notify the channel layer about job 1" in warnings[0]
    assert "the channel layer is back" in warnings[1]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_redis_restarting_mid_job_progress_falls_back_to_the_database_and_the_job_finishes(
    live, scene_files, settings, user, caplog
):
    # The upload rate limit counts in the private Redis; while it is down the count degrades, it does not fail.
    settings.CACHES = {
        "default": {"BACKEND": "backend.jobs.cache.FailSoftRedisCache", "LOCATION": live.redis.url, "KEY_PREFIX": "t"}
    }
    request = RequestFactory().post("/api/areas/")
    request.user = user
    with caplog.at_level(logging.WARNING, logger="backend.jobs.cache"):
        assert UploadRateThrottle().allow_request(request, None)  # counted in the private Redis
        live.redis.stop()
        assert UploadRateThrottle().allow_request(request, None)  # not counted: Redis is down
        live.redis.start()
        assert UploadRateThrottle().allow_request(request, None)  # counted again
    assert "upload rate limits are not enforced until it is back" in caplog.text
    assert "upload rate limits are enforced again" in caplog.text

    settings.MEDIA_ROOT = live.home / "media"  # the live processes' media folder
    area = _area(scene_files, "Redis blip", visibility=Area.Visibility.PUBLIC)
    job = start_job(area)

    async def scenario() -> tuple[list[dict], list[dict]]:
        ws_url = live.url.replace("http://", "ws://") + f"/ws/jobs/{job.pk}/"
        messages: list[dict] = []
        async with websockets.connect(ws_url, origin="http://127.0.0.1") as socket_:
            while not _running_mid_run(messages):
                messages.append(json.loads(await asyncio.wait_for(socket_.recv(), 120)))
            await asyncio.to_thread(live.redis.stop)
            outage: list[dict] = []
            deadline = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < deadline:
                try:
                    outage.append(json.loads(await asyncio.wait_for(socket_.recv(), deadline - time.monotonic())))
                except TimeoutError:
                    break
            await asyncio.to_thread(live.redis.start)
            while not _finished(messages + outage):
                outage.append(json.loads(await asyncio.wait_for(socket_.recv(), 120)))
            # The socket stays open until the consumer has re-joined the restarted Redis: a small job may
            # end before its next attempt, and closing then would leave nothing to re-join.
            rejoined = time.monotonic() + 20
            while "the channel layer is back" not in live.log("web") and time.monotonic() < rejoined:
                await asyncio.sleep(0.2)
        return messages, outage

    before, during_and_after = asyncio.run(scenario())
    assert _states(during_and_after), "the websocket went silent while Redis was down"
    final = _states(during_and_after)[-1]
    assert final["status"] == "succeeded" and final["version"] == 1, final
    assert live.worker.poll() is None and live.web.poll() is None
    # Best effort: the worker carried on. Whether it logs the layer back depends on sending again after its
    # quiet window, which a job ending meanwhile never does: that step is tested below on a fake layer.
    assert "could not notify the channel layer" in live.log("worker")
    assert "the channel layer is unreachable" in live.log("web") and "the channel layer is back" in live.log("web")

    # A browser reconnecting now gets the final state from the database at once.
    again = asyncio.run(_follow(live, job.pk, _finished, timeout=10))
    assert _states(again)[0]["status"] == "succeeded"
