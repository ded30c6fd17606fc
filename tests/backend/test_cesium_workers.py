"""Cesium's Web Workers are served bundled, one self-contained file each (frontend/build.mjs).

Cesium's own build splits its workers' shared code into ~60 ``Workers/chunk-*.js`` modules, which cost the
viewer's first page about 90 requests; the build step bundles each worker entry into one file under
``frontend/build/cesium/Workers/``, and ``STATICFILES_DIRS`` lists that folder before Cesium's build.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.conftest import ROOT, require

CESIUM_WORKERS = ROOT / "frontend" / "node_modules" / "cesium" / "Build" / "Cesium" / "Workers"
BUILT = ROOT / "frontend" / "build" / "cesium" / "Workers"

#: A static import of a file next to the worker (``import{a as k}from"./chunk-X.js"``, ``import"./x.js"``).
STATIC_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["']\./""")
#: A run-time import of a file next to the worker (createGeometry's ``import("./createBoxGeometry.js")``).
DYNAMIC_IMPORT = re.compile(r"""\bimport\(\s*["']\./([\w.-]+)["']\s*\)""")


def _build() -> str:
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed (scripts/setup.sh installs it)")
    require(CESIUM_WORKERS.is_dir(), "CesiumJS is not installed: run scripts/setup.sh")
    done = subprocess.run(
        [node, str(ROOT / "frontend" / "build.mjs")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def built() -> Path:
    """The bundled workers, built as scripts/setup.sh builds them (a no-op when they are up to date)."""
    _build()
    return BUILT


def _entries() -> list[str]:
    return sorted(p.name for p in CESIUM_WORKERS.glob("*.js") if not p.name.startswith("chunk-"))


def test_every_cesium_worker_is_bundled_into_one_self_contained_file(built: Path):
    entries = _entries()
    assert "createGeometry.js" in entries and "createPolygonGeometry.js" in entries
    assert sorted(p.name for p in built.glob("*.js")) == entries  # nothing else, no chunks
    for name in entries:
        code = (built / name).read_text()
        assert not STATIC_IMPORT.search(code), f"{name} still imports files next to it"


def test_geometry_modules_loaded_by_name_resolve_to_bundled_files(built: Path):
    # createGeometry imports createXxxGeometry.js at run time, by the name the main thread sends.
    names = set(DYNAMIC_IMPORT.findall((built / "createGeometry.js").read_text()))
    assert {"createPolygonGeometry.js", "createPolylineGeometry.js", "combineGeometry.js"} <= names
    for name in names:
        assert (built / name).is_file(), name


def test_a_second_build_writes_nothing(built: Path):
    before = {p.name: p.stat().st_mtime_ns for p in built.glob("*.js")}
    assert "(0 changed)" in _build()
    assert {p.name: p.stat().st_mtime_ns for p in built.glob("*.js")} == before


def test_static_files_serve_the_bundled_worker_and_cesium_for_the_rest(built: Path):
    cesium = settings.RS3D_CESIUM_STATIC  # cesium/<version>-<digest>: see test_static_files
    assert [prefix for prefix, _ in settings.STATICFILES_DIRS][:2] == [cesium, cesium]  # the first match wins
    assert Path(finders.find(f"{cesium}/Workers/createGeometry.js")) == built / "createGeometry.js"
    assert Path(finders.find(f"{cesium}/index.js")).parent == CESIUM_WORKERS.parent
