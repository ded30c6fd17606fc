"""Fixtures for the Django suites: an isolated media folder and generated input files."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.conftest import generated_city


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Every test writes into its own media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 100 m city (ortho.tif, dsm.tif, ...), made by the CLI in a child process."""
    return generated_city(tmp_path_factory.mktemp("scene"), size_m=100, seed=4)


@pytest.fixture
def api() -> APIClient:
    """DRF test client."""
    return APIClient()


def listing(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, relative."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")} if folder.exists() else set()
