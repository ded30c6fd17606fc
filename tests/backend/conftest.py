"""Fixtures for the Django suites: an isolated media folder and generated input files."""

import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Every test writes into its own media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def scene_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 100 m city (ortho.tif, dsm.tif, ...), made by the CLI in a child process."""
    folder = tmp_path_factory.mktemp("scene")
    subprocess.run(
        [sys.executable, "-m", "reconstruction", "synthetic", "--out", str(folder), "--size", "100", "--seed", "4"],
        check=True,
        capture_output=True,
    )
    return {name: folder / f"{name}.tif" for name in ("ortho", "dsm", "dtm", "labels")}


@pytest.fixture
def api() -> APIClient:
    """DRF test client."""
    return APIClient()


def listing(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, relative."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")} if folder.exists() else set()
