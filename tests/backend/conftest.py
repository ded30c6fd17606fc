"""Fixtures for the Django suites: an isolated media folder, generated input files, logged-in clients."""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from backend.serving import grants
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
def bob(django_user_model):
    """Another user, "bob", who owns nothing of alice's."""
    return django_user_model.objects.create_user("bob", password="bob-pass-1234")


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


def _inputs_digest(inputs, model: str | None) -> str:
    """What a run's output depends on: every input file's name and bytes, the other inputs' values, the model."""
    digest = hashlib.sha256(repr(model).encode())
    for field in dataclasses.fields(inputs):
        value = getattr(inputs, field.name)
        paths = value if isinstance(value, tuple) else (value,)
        if paths and all(isinstance(p, Path) for p in paths):
            for path in paths:
                digest.update(f"{field.name}:{path.name}:".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            digest.update(f"{field.name}={value!r};".encode())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def _recorded_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list, list[str]]]:
    return {}


@pytest.fixture
def replayed_runs(monkeypatch, _recorded_runs, tmp_path_factory):
    """The reconstruction child memoised by its inputs (their bytes) and model, for this test session.

    The first run of an upload is real (``python -m reconstruction run`` in its child process); a later run of
    the same bytes copies that output into its staging folder and replays its progress lines, so a test about
    what happens after a run (publication, the API, delivery, pages) pays for the run once per session, not once
    per test. Tests about the run itself (faults, heartbeats, time limits, cancelling, chips) do not use it.
    """
    from backend.jobs import services

    real = services.run_pipeline_process

    def run(inputs, out_dir, on_progress, *args, model=None, **kwargs):
        key = _inputs_digest(inputs, model)
        if key in _recorded_runs:
            output, lines, warnings = _recorded_runs[key]
            for line in lines:
                on_progress(*line)
            shutil.copytree(output, out_dir, dirs_exist_ok=True)
            return list(warnings)
        lines: list[tuple] = []

        def record(*line) -> None:
            lines.append(line)
            on_progress(*line)

        warnings = real(inputs, out_dir, record, *args, model=model, **kwargs)
        kept = tmp_path_factory.mktemp("recorded-run") / "out"
        shutil.copytree(out_dir, kept)
        _recorded_runs[key] = (kept, lines, list(warnings))
        return warnings

    monkeypatch.setattr(services, "run_pipeline_process", run)
