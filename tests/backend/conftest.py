"""Fixtures for the Django suites: an isolated media folder, generated input files, logged-in clients."""

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from backend.viewer import grants
from tests.conftest import generated_city

#: Settings refuse to invent a secret key without DEBUG; tests sign sessions with this one.
TEST_SECRET_KEY = "rs3d-tests-only-secret-key-not-for-any-server-0123456789"


@pytest.fixture(autouse=True, scope="session")
def secret_key() -> None:
    """Sessions, CSRF and tokens sign with the test key, unless RS3D_SECRET_KEY or RS3D_DEBUG gave one."""
    from django.conf import settings

    if not settings._wrapped.SECRET_KEY:
        settings.SECRET_KEY = TEST_SECRET_KEY


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Every test writes into its own media folder and starts with no upload rate counts."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    cache.clear()  # upload throttle history
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 100 m city (ortho.tif, dsm.tif, ...), made by the CLI in a child process."""
    return generated_city(tmp_path_factory.mktemp("scene"), size_m=100, seed=4)


@pytest.fixture
def user(django_user_model):
    """The uploader, "alice"."""
    return django_user_model.objects.create_user("alice", password="alice-pass-1234")


@pytest.fixture
def api(user) -> APIClient:
    """DRF test client logged in as ``user``."""
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def web(user) -> Client:
    """Django test client logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


def listing(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, relative; not the data gate's grant stamp, which any change of
    who may see what bumps (an upload refused after its area row was written included)."""
    if not folder.exists():
        return set()
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")} - {grants.STAMP}


def fake_run(staging: Path) -> Path:
    """A small finished run in ``staging`` (a manifest, a tileset, features), as the pipeline leaves one."""
    box = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    children = [{"boundingVolume": {"box": box}, "content": {"uri": f"r{i}.pnts"}} for i in range(400)]
    (staging / "tiles").mkdir(parents=True)
    (staging / "tiles" / "tileset.json").write_text(
        json.dumps({"asset": {"version": "1.1"}, "root": {"children": children}})
    )
    (staging / "vectors").mkdir()
    (staging / "vectors" / "features.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    manifest = {
        "crs": "EPSG:32631",
        "bbox_wgs84": [3.0, 43.0, 3.01, 43.01],
        "layers": {"pointcloud": "tiles/tileset.json"},
        "vectors": {"features": "vectors/features.geojson"},
    }
    (staging / "manifest.json").write_text(json.dumps(manifest))
    return staging
