"""Headless Chromium: the viewer drapes the orthophoto from its XYZ tiles, not from the one big image."""

import pytest

from tests.integration.test_browser import _watch

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_viewer_streams_the_orthophoto_as_xyz_tiles(browser, stack, town):
    imagery = town["imagery"]
    assert imagery["tiles_url"].endswith("/imagery/ortho/{z}/{x}/{y}.webp")
    watched = _watch(browser, stack)
    tiles: list[tuple[str, int]] = []
    watched.page.on("response", lambda r: tiles.append((r.url, r.status)) if "/imagery/ortho" in r.url else None)
    watched.page.goto(f"{stack.url}/areas/{town['id']}/view/")
    watched.page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    watched.page.wait_for_timeout(3000)
    assert tiles, "the viewer asked for no orthophoto tile"
    assert all("/imagery/ortho/" in url and url.endswith(".webp") and status == 200 for url, status in tiles), tiles
    levels = {int(url.split("/imagery/ortho/")[1].split("/")[0]) for url, _ in tiles}
    assert imagery["minzoom"] <= min(levels) and max(levels) <= imagery["maxzoom"]
    assert watched.errors == []
    watched.page.close()
