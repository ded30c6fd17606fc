"""A large area on real processes: two workers share its chips, one merges them, the web serves the result."""

from pathlib import Path

import pytest

from devtools.processes import stop_processes
from tests.integration.conftest import Stack, upload
from tests.integration.test_browser import ARTIFACTS, _click_until_building, _watch

pytestmark = pytest.mark.integration

#: 80 m chips with a 24 m margin cut the 160 m ``scene`` city into four chips.
CHIPS = {"RS3D_CHIP_SIZE_M": "80", "RS3D_CHIP_MARGIN_M": "24"}
#: reconstruction.chips.plan.ID_BLOCK (not imported: the library's GEOS must stay out of Django's process).
ID_BLOCK = 1_000_000


@pytest.fixture(scope="module")
def chipped(stack: Stack, scene: dict[str, Path]) -> tuple[dict, dict]:
    """The city uploaded and run by two workers in 80 m chips: (upload response, finished job)."""
    # Both workers (the stack's, restarted, and a second one) cut areas into 80 m chips.
    stack.restart_worker(**CHIPS)
    second = stack.start_worker("worker-chips.log", **CHIPS)
    try:
        body = upload(stack, scene, "Chipped town")
        job = stack.wait_for_job(body["job"]["id"], timeout=600)
        assert second.poll() is None, "the second worker died"
    finally:
        stop_processes(second, timeout=60)
        stack.restart_worker()  # as the session started it, for the tests after this one
    return body, job


def test_two_workers_share_the_chips_of_a_large_area(stack: Stack, chipped):
    body, job = chipped
    assert job["status"] == "succeeded", job["error"]
    chips = job["chips"]
    assert [chip["index"] for chip in chips] == [0, 1, 2, 3]
    assert all(chip["status"] == "succeeded" and chip["progress"] == 1.0 for chip in chips), chips
    assert len({chip["worker"] for chip in chips}) >= 2, chips  # "hostname:pid" of each chip's worker

    area = stack.session.get(f"{stack.url}/api/areas/{body['id']}/", timeout=10).json()
    assert area["status"] == "ready" and area["version"] == 1
    for layer in area["layers"]:
        tileset = stack.session.get(stack.url + layer["tileset_url"], timeout=10)
        assert tileset.status_code == 200 and tileset.json()["asset"]["version"], layer["name"]
    for kind, least in (("building", 3), ("tree", 10)):  # as the whole-area runs of this city in test_live
        features = stack.session.get(stack.url + area["features_url"], params={"class": kind}, timeout=10).json()
        assert len(features["features"]) >= least, kind
    folder = stack.home / "media" / "areas" / str(body["id"])
    assert (folder / "v1" / "manifest.json").is_file() and not (folder / ".staging" / f"job-{job['id']}").exists()


@pytest.mark.browser
def test_the_viewer_shows_a_chipped_area_and_its_buildings_pick_their_rows(browser, stack: Stack, chipped):
    body, job = chipped
    assert job["status"] == "succeeded", job["error"]
    area = stack.session.get(f"{stack.url}/api/areas/{body['id']}/", timeout=10).json()
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/{body['id']}/view/")
    page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)  # every chip's tiles loaded
    page.locator('[data-layer="pointcloud"] input[type=checkbox]').first.uncheck()
    feature_id = int(_click_until_building(page))
    assert feature_id >= ID_BLOCK, "building ids of chip k start at (k + 1) * 1e6"
    rows = stack.session.get(f"{stack.url}{area['features_url']}", params={"class": "building"}, timeout=30).json()
    assert [f["properties"]["building_id"] for f in rows["features"]].count(feature_id) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chipped.png"))
    assert watched.errors == [] and watched.outside == []
