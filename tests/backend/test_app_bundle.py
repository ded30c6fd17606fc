"""The app's pages load their JavaScript as one bundled file each (frontend/build.mjs), never a stale one.

The viewer's entry module imports ~40 small modules from ``frontend/src``, one request each on the first view;
the build step bundles each page's entry into one file under ``frontend/build/rs3d-bundle/<digest>/``, named
after the sources it is made from (``settings.RS3D_APP_BUNDLE_STATIC``). With DEBUG the pages load the modules
themselves.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from backend.serving import static_files
from tests.conftest import ROOT, require

FRONTEND = ROOT / "frontend"
BUNDLES = FRONTEND / "build" / "rs3d-bundle"
ENTRIES = ["main.js", "progress/main.js", "upload/main.js"]

#: A static import or re-export of another module (``import{a}from"./api.js"``, ``import"x"``, ``export*from"y"``).
STATIC_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["'`]""")
#: A run-time import, with what it imports.
DYNAMIC_IMPORT = re.compile(r"""\bimport\(([^)]*)\)""")


def _build() -> str:
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed (scripts/setup.sh installs it)")
    require((FRONTEND / "node_modules" / "esbuild").is_dir(), "esbuild is not installed: run scripts/setup.sh")
    done = subprocess.run([node, str(FRONTEND / "build.mjs")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def built() -> Path:
    """The folder of the bundles built from the current sources, as scripts/setup.sh builds them."""
    _build()
    return BUNDLES / settings.RS3D_APP_BUNDLE_STATIC.removeprefix("rs3d-bundle/")


def test_the_bundles_are_named_after_the_current_sources_and_only_they_are_kept(built: Path):
    # build.mjs and backend.serving.static_files compute the same digest, so the pages ask for this folder.
    assert built.is_dir(), f"build.mjs wrote {sorted(p.name for p in BUNDLES.iterdir())}, not {built.name}"
    assert [p.name for p in BUNDLES.iterdir()] == [built.name]  # bundles of older sources are removed
    scripts = sorted(p.relative_to(built).as_posix() for p in built.rglob("*.js"))
    assert scripts == ENTRIES
    for name in ENTRIES:  # each with its source map
        assert (built / f"{name}.map").is_file()
        assert (built / name).read_text().endswith(f"//# sourceMappingURL={Path(name).name}.map\n")


def test_each_bundle_is_self_contained_and_imports_cesium_at_run_time(built: Path):
    for name in ENTRIES:
        code = (built / name).read_text()
        assert not STATIC_IMPORT.search(code), f"{name} still imports other modules"
        assert "/static/rs3d/" not in code
    # The viewer's one run-time import: Cesium's index.js from its own folder (src/viewer/cesium.js), not bundled.
    (cesium,) = DYNAMIC_IMPORT.findall((built / "main.js").read_text())
    assert cesium.endswith('"/static/cesium/"}index.js`')
    assert len((built / "main.js").read_bytes()) < 200_000  # minified, and Cesium's 4.8 MB are not in it


def test_a_second_build_writes_nothing(built: Path):
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*")}
    assert re.search(r"App pages: 3 bundled into .* \(0 changed\)", _build())
    assert {p: p.stat().st_mtime_ns for p in built.rglob("*")} == before


def test_another_source_gets_another_folder(tmp_path: Path):
    for name in ("build.mjs", "package-lock.json"):
        shutil.copy(FRONTEND / name, tmp_path / name)
    (tmp_path / "src" / "ui").mkdir(parents=True)
    (tmp_path / "src" / "main.js").write_text('import "./ui/x.js";\n')
    (tmp_path / "src" / "ui" / "x.js").write_text("export const x = 1;\n")
    (tmp_path / "src" / "ui" / "site.css").write_text("body {}\n")
    folder = static_files.app_bundle_folder(tmp_path)
    assert re.fullmatch(r"rs3d-bundle/[0-9a-f]{10}", folder)
    (tmp_path / "src" / "ui" / "site.css").write_text("main {}\n")  # not bundled
    assert static_files.app_bundle_folder(tmp_path) == folder
    (tmp_path / "src" / "ui" / "x.js").write_text("export const x = 2;\n")
    assert static_files.app_bundle_folder(tmp_path) != folder


def test_the_bundles_are_served_and_cached_for_good(built: Path):
    bundle = settings.RS3D_APP_BUNDLE_STATIC
    assert Path(finders.find(f"{bundle}/upload/main.js")) == built / "upload" / "main.js"
    assert static_files.is_immutable("", f"/static/{bundle}/main.js")  # another build gets another URL
    assert not static_files.is_immutable("", "/static/rs3d-bundle/main.js")
    assert not static_files.is_immutable("", "/static/rs3d/main.js")  # the modules keep their names


@pytest.mark.parametrize("debug", [False, True])
def test_pages_load_the_bundle_and_with_debug_the_modules(web, settings, debug: bool):
    settings.DEBUG = debug
    page = web.get("/areas/new/").content.decode()
    folder = "rs3d" if debug else settings.RS3D_APP_BUNDLE_STATIC
    assert f'<script type="module" src="/static/{folder}/upload/main.js"></script>' in page


def test_the_system_check_names_scripts_missing_from_the_collected_files(tmp_path: Path):
    from django.core import checks
    from django.test import override_settings

    with override_settings(DEBUG=False, STATIC_ROOT=tmp_path):  # nothing collected there
        warnings = [w for w in checks.run_checks() if w.id == "rs3d.W001"]
        assert sorted(w.msg.split()[0] for w in warnings) == sorted(
            [f"{settings.RS3D_APP_BUNDLE_STATIC}/main.js", f"{settings.RS3D_CESIUM_STATIC}/index.js"]
        )
        assert all("scripts/setup.sh" in w.hint for w in warnings)
        with override_settings(DEBUG=True):  # the finders serve frontend/src: nothing needs collecting
            assert not [w for w in checks.run_checks() if w.id == "rs3d.W001"]
    for name, file in (("RS3D_APP_BUNDLE_STATIC", "main.js"), ("RS3D_CESIUM_STATIC", "index.js")):
        (tmp_path / getattr(settings, name)).mkdir(parents=True)
        (tmp_path / getattr(settings, name) / file).write_text("export {};\n")
    with override_settings(DEBUG=False, STATIC_ROOT=tmp_path):
        assert not [w for w in checks.run_checks() if w.id == "rs3d.W001"]
