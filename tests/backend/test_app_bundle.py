"""The app's pages load their JavaScript as one bundled file each (frontend/build.mjs), never a stale one.

The viewer's entry module imports ~40 small modules from ``frontend/src``, one request each on the first view,
and Cesium's whole ES module build; the build step bundles each page's entry into one file under
``frontend/build/rs3d-bundle/<digest>/``, named after the sources it is made from
(``settings.RS3D_APP_BUNDLE_STATIC``), the viewer's with the part of Cesium it uses, and the viewer page's style
sheets into one. With DEBUG the pages load the modules themselves.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from backend.areas.models import Area
from backend.serving import static_files
from tests.backend.test_permissions import make_area
from tests.conftest import ROOT, require

FRONTEND = ROOT / "frontend"
BUNDLES = FRONTEND / "build" / "rs3d-bundle"
ENTRIES = ["main.js", "progress/main.js", "upload/main.js"]

#: A static import or re-export of another module (``import{a}from"./api.js"``, ``import"x"``, ``export*from"y"``);
#: not the source of a worker Cesium makes at run time (``new Worker(blob of `import "${url}";`)``).
STATIC_IMPORT = re.compile(r"""(?<!`)(?:\bfrom|\bimport)\s*["'`]""")
#: A run-time import, with what it imports.
DYNAMIC_IMPORT = re.compile(r"""\bimport\(([^)]*)\)""")


def _node() -> str:
    node = shutil.which("node")
    require(node is not None, "Node.js is not installed (scripts/setup.sh installs it)")
    require((FRONTEND / "node_modules" / "esbuild").is_dir(), "esbuild is not installed: run scripts/setup.sh")
    return str(node)


def _build() -> str:
    done = subprocess.run([_node(), str(FRONTEND / "build.mjs")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _cesium_symbols(src: Path) -> subprocess.CompletedProcess[str]:
    """build.mjs's ``cesiumSymbols`` on the modules under ``src``, printed as JSON."""
    script = f"const m = await import({json.dumps((FRONTEND / 'build.mjs').as_uri())});"
    script += f"console.log(JSON.stringify(await m.cesiumSymbols({json.dumps(str(src))})));"
    return subprocess.run(
        [_node(), "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


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
    assert sorted(p.relative_to(built).as_posix() for p in built.rglob("*.css")) == ["viewer/page.css"]
    for name in [*ENTRIES, "viewer/page.css"]:  # each with its source map
        assert (built / f"{name}.map").is_file()
        assert f"sourceMappingURL={Path(name).name}.map" in (built / name).read_text()


def test_each_bundle_is_self_contained_and_the_viewers_holds_the_part_of_cesium_it_uses(built: Path):
    for name in ENTRIES:
        code = (built / name).read_text()
        assert not STATIC_IMPORT.search(code), f"{name} still imports other modules"
        assert not DYNAMIC_IMPORT.search(code), f"{name} imports {DYNAMIC_IMPORT.findall(code)} at run time"
        assert "/static/rs3d/" not in code and "index.js" not in code
    viewer = (built / "main.js").read_text()
    assert "CESIUM_BASE_URL" in viewer and "rs3d-cesium-base-url" in viewer  # Cesium's folder, set from the page
    # Tree-shaken: a CesiumWidget, not the Viewer and its Knockout widgets; no SPZ decoder, only meshopt's decoder.
    assert "cesium-widget" in viewer and "cesium-viewer" not in viewer and "knockout" not in viewer.lower()
    assert "Gaussian splats are not supported by rs3d's viewer build" in viewer
    assert "meshopt_decodeVertexBuffer" in viewer
    assert "meshopt_simplify" not in viewer and "meshopt_encodeVertexBuffer" not in viewer
    index = FRONTEND / "node_modules" / "cesium" / "Build" / "Cesium" / "index.js"
    assert len(viewer.encode()) < 0.8 * index.stat().st_size  # Cesium's whole build is 4.8 MB
    for upload in ("upload/main.js", "progress/main.js"):
        assert len((built / upload).read_bytes()) < 200_000  # no Cesium in the other pages
    style = (built / "viewer" / "page.css").read_text()  # site.css, Cesium's CesiumWidget.css, viewer.css
    assert "--rs3d-header-height" in style and ".cesium-widget-credits" in style and "#status" in style
    assert "@import" not in style


def test_the_build_sees_every_use_of_cesium_or_stops(tmp_path: Path):
    (tmp_path / "viewer").mkdir()
    (tmp_path / "viewer" / "cesium.js").write_text("export const Cesium = await import('x');\n")
    (tmp_path / "a.js").write_text(
        'import { Cesium } from "./viewer/cesium.js";\n'
        '/** @param {Cesium.Viewer} v */\nexport const a = (v) => new Cesium.Cartesian3(Cesium["Math"].PI, 0, 0);\n'
    )
    (tmp_path / "b.js").write_text('import "./viewer/cesium.js";\nexport const b = 1;\n')
    done = _cesium_symbols(tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["Cartesian3", "Math"]  # not Viewer, named only in a comment
    for code, said in (
        ("const { Cartesian3 } = Cesium;", "uses Cesium other than as Cesium.Name"),
        ("const f = (n) => Cesium[n];", "uses Cesium other than as Cesium.Name"),
        ("export { Cesium };", "uses Cesium other than as Cesium.Name"),
    ):
        (tmp_path / "c.js").write_text(f'import {{ Cesium }} from "./viewer/cesium.js";\n{code}\n')
        done = _cesium_symbols(tmp_path)
        assert done.returncode != 0 and f"c.js {said}" in done.stderr, (code, done.stderr)
    (tmp_path / "c.js").write_text('import { Cesium as C } from "./viewer/cesium.js";\nC.Viewer;\n')
    done = _cesium_symbols(tmp_path)
    assert done.returncode != 0 and "c.js imports ./viewer/cesium.js other than as" in done.stderr, done.stderr


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
    (tmp_path / "src" / "ui" / "favicon.svg").write_text("<svg/>\n")  # not bundled
    assert static_files.app_bundle_folder(tmp_path) == folder
    (tmp_path / "src" / "ui" / "site.css").write_text("main {}\n")  # bundled into the viewer page's style sheet
    css = static_files.app_bundle_folder(tmp_path)
    assert css != folder
    (tmp_path / "src" / "ui" / "x.js").write_text("export const x = 2;\n")
    assert static_files.app_bundle_folder(tmp_path) not in (folder, css)


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


@pytest.mark.parametrize("debug", [False, True])
def test_the_viewer_page_links_its_bundle_or_cesium_and_its_style_sheets(client, user, settings, debug: bool):
    settings.DEBUG = debug
    area = make_area(user, Area.Visibility.PUBLIC)
    page = client.get(f"/areas/{area.pk}/view/").content.decode()
    cesium = f"/static/{settings.RS3D_CESIUM_STATIC}/"
    assert f'<meta name="rs3d-cesium-base-url" content="{cesium}">' in page  # Cesium's Workers and Assets
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
    preloads = re.findall(r'<link rel="modulepreload" href="([^"]+)">', page)
    if debug:  # the modules of frontend/src, which import Cesium's whole build
        assert styles == [
            "/static/rs3d/ui/site.css",
            f"{cesium}Widgets/CesiumWidget/CesiumWidget.css",
            "/static/rs3d/viewer/viewer.css",
        ]
        assert preloads == [f"{cesium}index.js"]
    else:  # one script with the part of Cesium it uses, one style sheet
        assert styles == [f"/static/{settings.RS3D_APP_BUNDLE_STATIC}/viewer/page.css"]
        assert preloads == []
    assert re.findall(r"<script [^>]*src=", page) == ['<script type="module" src=']
    # The icon is in the page: no request for it (Chromium asked twice per page for /static/rs3d/ui/favicon.svg).
    (icon,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon.startswith("data:image/svg+xml,")
    assert unquote(icon.removeprefix("data:image/svg+xml,")) == (FRONTEND / "src/ui/favicon.svg").read_text().strip()


def test_the_system_check_names_scripts_missing_from_the_collected_files(tmp_path: Path):
    from django.core import checks
    from django.test import override_settings

    needed = [
        f"{settings.RS3D_APP_BUNDLE_STATIC}/main.js",
        f"{settings.RS3D_APP_BUNDLE_STATIC}/viewer/page.css",
        f"{settings.RS3D_CESIUM_STATIC}/Workers/createGeometry.js",  # Cesium's workers and assets
    ]
    with override_settings(DEBUG=False, STATIC_ROOT=tmp_path):  # nothing collected there
        warnings = [w for w in checks.run_checks() if w.id == "rs3d.W001"]
        assert sorted(w.msg.split()[0] for w in warnings) == sorted(needed)
        assert all("scripts/setup.sh" in w.hint for w in warnings)
        with override_settings(DEBUG=True):  # the finders serve frontend/src: nothing needs collecting
            assert not [w for w in checks.run_checks() if w.id == "rs3d.W001"]
    for path in needed:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("export {};\n")
    with override_settings(DEBUG=False, STATIC_ROOT=tmp_path):
        assert not [w for w in checks.run_checks() if w.id == "rs3d.W001"]
