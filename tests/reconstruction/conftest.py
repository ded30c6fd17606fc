"""Fixtures for the library's tests: small synthetic scenes written to disk."""

from pathlib import Path

import pytest

from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene, write_scene


@pytest.fixture(scope="session")
def small_scene() -> SyntheticScene:
    """A 120 m generated city at 0.5 m (DSM 240 x 240)."""
    return generate_scene(SceneConfig(size_m=120.0, seed=3))


@pytest.fixture(scope="session")
def small_scene_files(small_scene: SyntheticScene, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small scene written as GeoTIFFs (ortho, dsm, dtm, labels)."""
    return write_scene(small_scene, tmp_path_factory.mktemp("scene"))
