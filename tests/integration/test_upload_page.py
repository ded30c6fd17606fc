"""The upload page in a real browser: drop files, checks before sending, chunks that survive a broken link."""

import base64
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from playwright.sync_api import Page, Route

from tests.integration.test_browser import ARTIFACTS, _watch

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHUNK_BYTES = 256 * 1024


def _drop(page: Page, files: list[Path]) -> None:
    """Drop ``files`` on the form as a user dragging them from a file manager would."""
    payload = [[f.name, base64.b64encode(f.read_bytes()).decode()] for f in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name));
            }
            return transfer;
        }""",
        payload,
    )
    page.dispatch_event("form.upload", "drop", {"dataTransfer": transfer})


def _field(page: Page, name: str):
    return page.locator(f"input[name={name}]").locator("xpath=ancestor::div[contains(@class,'field')]")


def test_dropped_files_travel_in_chunks_survive_a_break_and_reconstruct(browser, stack, scene):
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/new/")
    assert not _field(page, "epsg").is_visible()  # asked only when a file lacks a CRS
    page.evaluate(f"document.querySelector('form.upload').dataset.chunkBytes = '{CHUNK_BYTES}'")
    _drop(page, [scene["dsm"], scene["ortho"]])  # any order: each goes to its field by its content
    # A locator wait, not wait_for_function: the upload page's CSP has no 'unsafe-eval',
    # and Playwright evaluates a predicate string with eval.
    page.locator(".upload-file").nth(1).wait_for()
    assert "3 bands" in _field(page, "ortho").locator(".upload-file").inner_text()
    assert "1 band, float" in _field(page, "dsm").locator(".upload-file").inner_text()
    assert not _field(page, "epsg").is_visible()
    page.fill("input[name=name]", "Dropped town")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)

    puts: list[str] = []
    broken: list[str] = []

    def break_the_second_chunk(route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        puts.append(route.request.headers.get("content-range", ""))
        if len(puts) == 2 and not broken:
            broken.append(puts[-1])
            route.abort("connectionreset")  # the network fails mid-upload
        else:
            route.continue_()

    page.route(re.compile(r".*/api/uploads/[0-9a-f-]+/$"), break_the_second_chunk)
    progress_seen = []
    page.expose_function("reportProgress", lambda value: progress_seen.append(value))
    page.evaluate(
        """() => new MutationObserver(() => window.reportProgress(
            document.querySelector('form.upload').dataset.progress)).observe(
            document.querySelector('form.upload'), { attributes: true, attributeFilter: ['data-progress'] })"""
    )
    with page.expect_navigation(url=re.compile(r"/jobs/\d+/$"), timeout=180_000):
        page.click("form.upload button[type=submit]")
    chunks = -(-scene["ortho"].stat().st_size // CHUNK_BYTES) + -(-scene["dsm"].stat().st_size // CHUNK_BYTES)
    assert broken and len(puts) == chunks + 1  # every chunk once, the broken one twice
    assert broken[0] in puts[2:], "the chunk that broke was sent again from the same byte"
    values = [float(v) for v in progress_seen if v]
    assert len(values) >= chunks and values[-1] == 1.0 and values == sorted(values)
    page.wait_for_selector('#job[data-status="succeeded"]', timeout=300_000)
    assert [e for e in watched.errors if "ERR_CONNECTION_RESET" not in e] == []  # only the broken chunk failed
    page.close()


def test_wrong_files_are_caught_before_anything_is_sent(browser, stack, scene, tmp_path):
    with rasterio.open(scene["ortho"]) as src:
        data, transform = src.read(), src.transform
    plain = tmp_path / "no_crs.tif"
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": 3, "dtype": "uint8"}
    with rasterio.open(plain, "w", transform=transform, **profile) as dst:
        dst.write(data)
    lost = tmp_path / "not_georeferenced.tif"
    with rasterio.open(lost, "w", **profile) as dst:
        dst.write(np.zeros_like(data))
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/new/")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/api/uploads/" in r.url else None)
    page.set_input_files("input[name=lidar]", str(scene["ortho"]))
    problem = _field(page, "lidar").locator(".upload-problem")
    problem.wait_for()
    assert "is a GeoTIFF, not a LAS/LAZ point cloud" in problem.inner_text()
    assert page.locator("form.upload button[type=submit]").is_disabled()
    page.set_input_files("input[name=lidar]", [])
    page.set_input_files("input[name=ortho]", str(lost))
    _field(page, "ortho").locator(".upload-problem").wait_for()
    assert "is not georeferenced" in _field(page, "ortho").locator(".upload-problem").inner_text()
    page.set_input_files("input[name=ortho]", str(plain))
    _field(page, "ortho").locator(".upload-hint").wait_for()
    assert "carries no coordinate reference system" in _field(page, "ortho").inner_text()
    assert _field(page, "epsg").is_visible() and not page.locator("form.upload button[type=submit]").is_disabled()
    page.fill("input[name=epsg]", "2154")  # answered: the hint goes, the field stays
    _field(page, "ortho").locator(".upload-hint").wait_for(state="detached")
    assert _field(page, "epsg").is_visible()
    assert sent == []
    page.close()


def test_tiles_and_their_sidecars_dropped_together_land_in_one_field_and_upload(browser, stack, scene, tmp_path):
    """A planner drops what a national portal gave them: GeoTIFF tiles, and a JPEG tile with its world file."""
    from rasterio.windows import Window

    from tests.hostile_files import world_file_text, write_image

    with rasterio.open(scene["ortho"]) as src:
        half = src.width // 2
        west = src.profile | {"width": half, "transform": src.transform}
        with rasterio.open(tmp_path / "west.tif", "w", **west) as dst:
            dst.write(src.read(window=Window(0, 0, half, src.height)))
        world = world_file_text(src.transform)
    jpeg = write_image(tmp_path / "photo.jpg", scene["ortho"], "JPEG")
    (tmp_path / "photo.jgw").write_text(world)
    (tmp_path / "stray.jgw").write_text(world)
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/new/")
    _drop(page, [tmp_path / "photo.jgw", tmp_path / "west.tif", jpeg, scene["dsm"], tmp_path / "stray.jgw"])
    ortho = _field(page, "ortho")
    ortho.locator(".upload-file").nth(3).wait_for()
    lines = ortho.locator(".upload-file").all_inner_texts()
    assert [line.split(" · ")[0] for line in lines] == ["west.tif", "photo.jpg", "photo.jgw", "stray.jgw"]
    assert "placed by photo.jgw" in lines[1]
    assert "1 band, float" in _field(page, "dsm").locator(".upload-file").inner_text()
    problem = ortho.locator(".upload-problem")
    assert "stray.jgw georeferences stray.*, which is not among these files" in problem.inner_text()
    assert page.locator("form.upload button[type=submit]").is_disabled()
    assert _field(page, "epsg").is_visible()  # a world file places the JPEG but names no CRS

    _drop(page, [tmp_path / "stray.jgw"])  # a dropped file of the same name replaces the earlier one: still stray
    assert ortho.locator(".upload-file").count() == 4
    page.set_input_files("input[name=ortho]", [str(tmp_path / "west.tif"), str(jpeg), str(tmp_path / "photo.jgw")])
    ortho.locator(".upload-problem").wait_for(state="detached")
    assert ortho.locator(".upload-file").count() == 3
    page.fill("input[name=name]", "Tiles as published")
    with rasterio.open(scene["ortho"]) as src:
        page.fill("input[name=epsg]", str(src.crs.to_epsg()))
    with page.expect_navigation(url=re.compile(r"/jobs/\d+/\?warned=1$"), timeout=180_000):  # the EPSG given
        page.click("form.upload button[type=submit]")
    assert watched.errors == []
    page.close()
