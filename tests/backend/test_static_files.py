"""Collected static files get brotli and gzip copies, once, and WhiteNoise sends them (backend.serving.static_files)."""

import gzip
import json
import os
from pathlib import Path

import brotli
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

from backend.serving import static_files

SCRIPT = b"export const answer = 42;\n" * 400  # compresses well


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A source folder laid out like ours: the app's files and a Cesium build with its unused builds."""
    (tmp_path / "src" / "rs3d").mkdir(parents=True)
    (tmp_path / "src" / "cesium").mkdir()
    (tmp_path / "src" / "rs3d" / "main.js").write_bytes(SCRIPT)
    (tmp_path / "src" / "rs3d" / "main.js.map").write_bytes(SCRIPT)
    (tmp_path / "src" / "rs3d" / "icon.png").write_bytes(os.urandom(4096))
    for name in ("index.js", "Cesium.js", "index.cjs"):
        (tmp_path / "src" / "cesium" / name).write_bytes(SCRIPT)
    return tmp_path


def _collect(root: Path) -> Path:
    """Run collectstatic from ``root/src`` into ``root/static``; return the latter."""
    dirs = [("rs3d", root / "src" / "rs3d"), ("cesium", root / "src" / "cesium")]
    only_ours = ["django.contrib.staticfiles.finders.FileSystemFinder"]  # not the apps' own (admin, DRF)
    with override_settings(STATIC_ROOT=root / "static", STATICFILES_DIRS=dirs, STATICFILES_FINDERS=only_ours):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root / "static"


def test_the_project_collects_through_this_storage():
    storage = settings.STORAGES["staticfiles"]["BACKEND"]
    assert storage == "backend.serving.static_files.OnceCompressedStaticFilesStorage"


def test_each_sent_file_gets_brotli_and_gzip_copies_of_its_bytes(sources: Path):
    static = _collect(sources)
    for name in ("rs3d/main.js", "cesium/index.js"):
        assert brotli.decompress((static / f"{name}.br").read_bytes()) == SCRIPT
        assert gzip.decompress((static / f"{name}.gz").read_bytes()) == SCRIPT
    # A source map (only developer tools ask for it) gets gzip alone: brotli at its best is slow on big ones.
    assert gzip.decompress((static / "rs3d/main.js.map.gz").read_bytes()) == SCRIPT
    assert not (static / "rs3d/main.js.map.br").exists()
    # Already compressed formats are left as they are (WhiteNoise's list), and so are the builds no page loads.
    assert not list(static.glob("rs3d/icon.png.*"))
    for name in static_files.NEVER_SENT:
        assert (static / "cesium" / name).is_file()
        assert not (static / "cesium" / f"{name}.br").exists() and not (static / "cesium" / f"{name}.gz").exists()


def test_a_second_collect_compresses_nothing_and_a_changed_file_again(sources: Path, monkeypatch):
    static = _collect(sources)
    calls = []
    original = static_files.Compressor.compress_brotli
    monkeypatch.setattr(
        static_files.Compressor, "compress_brotli", staticmethod(lambda data: calls.append(data) or original(data))
    )

    _collect(sources)
    assert calls == []  # not even the PNG nor the builds no page loads

    changed = b"export const answer = 43;\n" * 400
    (sources / "src" / "rs3d" / "main.js").write_bytes(changed)
    os.utime(sources / "src" / "rs3d" / "main.js", ns=(0, (os.stat(static / "rs3d/main.js").st_mtime_ns + 10**9)))
    _collect(sources)
    assert calls == [changed]
    assert brotli.decompress((static / "rs3d/main.js.br").read_bytes()) == changed
    assert gzip.decompress((static / "rs3d/main.js.gz").read_bytes()) == changed


def test_whitenoise_sends_the_brotli_copy_to_a_browser_that_accepts_it(sources: Path, rf):
    static = _collect(sources)
    with override_settings(STATIC_ROOT=static, WHITENOISE_USE_FINDERS=False, WHITENOISE_AUTOREFRESH=False):
        middleware = WhiteNoiseMiddleware(get_response=lambda request: pytest.fail("not a static file"))
        response = middleware(rf.get("/static/cesium/index.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br"))
    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response["Vary"]
    assert brotli.decompress(b"".join(response.streaming_content)) == SCRIPT


def test_cesium_is_served_from_a_folder_named_after_its_version_and_build(tmp_path: Path):
    folder = settings.RS3D_CESIUM_STATIC
    assert folder == static_files.cesium_folder(settings.BASE_DIR / "frontend")
    assert {prefix for prefix, _ in settings.STATICFILES_DIRS} == {folder, "rs3d", "rs3d-bundle"}
    version = json.loads((settings.BASE_DIR / "frontend" / "node_modules" / "cesium" / "package.json").read_text())
    assert folder.startswith(f"cesium/{version['version']}-")  # the installed Cesium's version
    # Another worker build (or another Cesium, esbuild...: package-lock.json) gets another folder.
    (tmp_path / "package-lock.json").write_bytes((settings.BASE_DIR / "frontend" / "package-lock.json").read_bytes())
    (tmp_path / "build.mjs").write_text("// another build\n")
    assert static_files.cesium_folder(tmp_path) not in (folder, "")
    assert static_files.cesium_folder(tmp_path).startswith(f"cesium/{version['version']}-")


def test_cesium_is_cached_for_good_and_the_app_revalidates(tmp_path: Path, rf):
    cesium = settings.RS3D_CESIUM_STATIC
    (tmp_path / "src" / "rs3d").mkdir(parents=True)
    (tmp_path / "src" / "cesium").mkdir()
    (tmp_path / "src" / "rs3d" / "main.js").write_bytes(SCRIPT)
    (tmp_path / "src" / "cesium" / "index.js").write_bytes(SCRIPT)
    dirs = [(cesium, tmp_path / "src" / "cesium"), ("rs3d", tmp_path / "src" / "rs3d")]
    finders = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    with override_settings(STATICFILES_DIRS=dirs, STATICFILES_FINDERS=finders, STATIC_ROOT=tmp_path / "static"):
        call_command("collectstatic", interactive=False, verbosity=0)
        with override_settings(WHITENOISE_USE_FINDERS=False, WHITENOISE_AUTOREFRESH=False):
            middleware = WhiteNoiseMiddleware(get_response=lambda request: pytest.fail("not a static file"))
            cached = middleware(rf.get(f"/static/{cesium}/index.js"))
            app = middleware(rf.get("/static/rs3d/main.js"))
    assert cached.status_code == 200 and app.status_code == 200
    assert cached["Cache-Control"] == "max-age=315360000, public, immutable"
    assert app["Cache-Control"] == "max-age=60, public"  # the app's modules keep their names across deploys
    assert static_files.is_immutable("", f"/static/{cesium}/Workers/createGeometry.js")
    assert not static_files.is_immutable("", "/static/cesium/index.js")  # not versioned
    assert not static_files.is_immutable("", "/static/rs3d/viewer/cesium.js")


def test_collecting_removes_superseded_versions_but_the_newest_of_them(tmp_path: Path):
    cesium, bundle = settings.RS3D_CESIUM_STATIC, settings.RS3D_APP_BUNDLE_STATIC
    static = tmp_path / "static"
    for age, name in enumerate(["cesium/1.140.0-aaaaaaaaaa", "cesium/1.144.0-bbbbbbbbbb", "rs3d-bundle/cccccccccc"]):
        (static / name).mkdir(parents=True)
        (static / name / "index.js").write_bytes(SCRIPT)
        os.utime(static / name, ns=(age * 10**9, age * 10**9))  # the later in the list, the newer
    for source in ("cesium", "bundle"):
        (tmp_path / source).mkdir()
        (tmp_path / source / "index.js").write_bytes(SCRIPT)
    dirs = [(cesium, tmp_path / "cesium"), (bundle, tmp_path / "bundle")]
    finders = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    with override_settings(STATICFILES_DIRS=dirs, STATICFILES_FINDERS=finders, STATIC_ROOT=static):
        call_command("collectstatic", interactive=False, verbosity=0)
    left = sorted(p.relative_to(static).as_posix() for p in static.glob("*/*") if p.is_dir())
    # The current versions, and the newest superseded one of each (a page opened before the deploy still
    # loads from it); the oldest Cesium, a whole copy of it in a real deploy, is gone.
    assert left == sorted([cesium, "cesium/1.144.0-bbbbbbbbbb", bundle, "rs3d-bundle/cccccccccc"])
