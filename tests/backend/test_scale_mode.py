"""Scale mode for real: PostgreSQL/PostGIS from DATABASE_URL and the Redis channel layer from REDIS_URL.

These tests skip in the embedded mode (the variables unset). scripts/test.sh runs the Django suites a
third time with both variables pointing at local servers and ``RS3D_SCALE_TESTS=1``, which turns a
skip into a failure: in that pass the mode must really be active.
"""

import asyncio
import json
import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.gis.db.models.functions import Area as AreaOf
from django.contrib.gis.db.models.functions import Transform
from django.contrib.gis.geos import Polygon
from django.db import connection

from backend.areas.models import Area, Feature, Publication
from backend.jobs import consumers
from backend.jobs.models import Job
from backend.jobs.routing import websocket_urlpatterns
from tests.backend.children import child_env, run_django_code

SCALE_PASS = os.environ.get("RS3D_SCALE_TESTS") == "1"
IDLE_SECONDS = 7  # longer than channels-redis's 5 s blocking read


def require_scale(variable: str) -> None:
    """Skip without ``variable`` (embedded mode), but fail in the scale pass (RS3D_SCALE_TESTS=1)."""
    if os.environ.get(variable):
        return
    if SCALE_PASS:
        pytest.fail(f"RS3D_SCALE_TESTS=1 but {variable} is not set: scale mode is not active in the scale pass")
    pytest.skip(f"{variable} is not set (embedded mode); scripts/test.sh runs this in its scale-mode pass")


@pytest.mark.django_db
def test_database_is_postgresql_with_postgis():
    require_scale("DATABASE_URL")
    assert connection.vendor == "postgresql"
    assert settings.DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    with connection.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version()")
        assert cursor.fetchone()[0].startswith("3.")


@pytest.mark.django_db
def test_spatial_queries_on_features_run_in_postgis():
    require_scale("DATABASE_URL")
    area = Area.objects.create(name="Spatial")
    publication = Publication.objects.create(
        area=area, version=1, manifest={}, crs="EPSG:32631", bbox=Polygon.from_bbox((3.87, 43.60, 3.88, 43.61))
    )
    west = Polygon.from_bbox((3.870, 43.600, 3.871, 43.601))  # about 80 m x 111 m
    east = Polygon.from_bbox((3.878, 43.600, 3.879, 43.601))
    for geometry in (west, east):
        Feature.objects.create(publication=publication, kind="building", geometry=geometry)
    box = Polygon.from_bbox((3.869, 43.599, 3.875, 43.602))
    box.srid = 4326
    hits = Feature.objects.filter(geometry__intersects=box)
    assert hits.count() == 1
    square_m = hits.annotate(m2=AreaOf(Transform("geometry", 32631))).get().m2.sq_m
    assert 8_000 < square_m < 10_000
    assert "ST_Intersects" in str(hits.query)  # PostGIS's function, not SpatiaLite's
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Distance(%s::geography, %s::geography)", [west.centroid.wkt, east.centroid.wkt])
        assert 600 < cursor.fetchone()[0] < 700  # 0.008 degrees of longitude at 43.6 N


def test_channel_layer_carries_messages_between_processes_through_redis(tmp_path):
    require_scale("REDIS_URL")
    layer = get_channel_layer()
    assert type(layer).__module__ == "channels_redis.core"
    group = f"rs3d.test.{uuid.uuid4().hex}"

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            # Another process: nothing but Redis connects its layer to ours.
            sent = (
                "from channels.layers import get_channel_layer\nfrom asgiref.sync import async_to_sync\n"
                f"async_to_sync(get_channel_layer().group_send)({group!r}, {{'type': 'test.ping', 'text': 'hello'}})"
            )
            await asyncio.to_thread(run_django_code, sent, child_env(tmp_path))
            return await asyncio.wait_for(layer.receive(channel), timeout=10)
        finally:
            await layer.group_discard(group, channel)

    message = async_to_sync(round_trip)()
    assert message == {"type": "test.ping", "text": "hello"}


def test_upload_rate_limits_are_counted_in_redis_for_every_web_process(tmp_path):
    require_scale("REDIS_URL")
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from backend.api.throttles import UploadRateThrottle

    cache = caches["default"]
    assert isinstance(cache, RedisCache)  # backend.jobs.cache.FailSoftRedisCache: Redis, degrading softly
    key = UploadRateThrottle.cache_format % {"scope": "uploads", "ident": f"test-{uuid.uuid4().hex}"}
    # Another web process records an upload; this one must see it in the same count.
    run_django_code(f"from django.core.cache import cache\ncache.set({key!r}, [1.0, 2.0], 60)", child_env(tmp_path))
    assert cache.get(key) == [1.0, 2.0]
    cache.delete(key)


@pytest.mark.django_db(transaction=True)
def test_job_websocket_gets_a_workers_progress_through_redis(monkeypatch, tmp_path):
    require_scale("REDIS_URL")
    # The consumer's database polling is slowed to a minute: what arrives sooner came through Redis.
    monkeypatch.setattr(consumers, "POLL_SECONDS", 60.0)
    monkeypatch.setattr(consumers, "SHARED_LAYER_POLL_SECONDS", 60.0)
    area = Area.objects.create(name="Pushed", status=Area.Status.PROCESSING, visibility=Area.Visibility.PUBLIC)
    job = Job.objects.create(area=area, status=Job.Status.RUNNING, stage="inputs")
    report = (
        "from backend.jobs.models import Job\nfrom backend.jobs.progress import JobProgress\n"
        f"JobProgress(Job.objects.get(pk={job.pk}))('terrain', 0.5, 'halfway through the terrain')"
    )

    async def follow() -> list[dict]:
        socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
        connected, _ = await socket.connect()
        assert connected
        try:
            first = await socket.receive_json_from(timeout=10)
            await asyncio.sleep(IDLE_SECONDS)  # an idle consumer must stay subscribed (redis-py 8 timeouts)
            await asyncio.to_thread(run_django_code, report, child_env(tmp_path))  # the worker, elsewhere
            pushed = [await socket.receive_json_from(timeout=10), await socket.receive_json_from(timeout=10)]
            return [first, *pushed]
        finally:
            await socket.disconnect()

    first, *pushed = async_to_sync(follow)()
    assert first["type"] == "job" and first["stage"] == "inputs"
    log = next(m for m in pushed if m["type"] == "log")
    state = next(m for m in pushed if m["type"] == "job")
    assert log["stage"] == "terrain" and log["message"] == "halfway through the terrain"
    assert state["stage"] == "terrain" and state["status"] == "running"
    assert json.dumps(pushed)  # plain JSON all the way


def test_each_xdist_worker_of_the_scale_pass_has_its_own_redis_database():
    from tests.xdist_redis import GIVEN_REDIS_URL, worker_redis_url

    assert worker_redis_url("redis://127.0.0.1:6379/0", "gw1") == "redis://127.0.0.1:6379/1"
    assert worker_redis_url("redis://127.0.0.1:6379", "gw0") == "redis://127.0.0.1:6379/0"
    assert worker_redis_url("rediss://cache:6380/4", "gw1") == "rediss://cache:6380/5"
    assert worker_redis_url("redis://127.0.0.1:6379/3", "") == "redis://127.0.0.1:6379/3"  # not under xdist
    require_scale("REDIS_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:  # scripts/test.sh: -p tests.xdist_redis -n 2, so the settings read this worker's database
        assert settings.CACHES["default"]["LOCATION"] == worker_redis_url(GIVEN_REDIS_URL, worker)
        assert (settings.CACHES["default"]["LOCATION"] != GIVEN_REDIS_URL) == (worker != "gw0")
