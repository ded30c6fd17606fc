"""Inputs with known truth for the registration tests."""

from pathlib import Path

import pytest

from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene, write_scene


@pytest.fixture(scope="session")
def town() -> SyntheticScene:
    """An 80 m generated town: orthophoto 320 x 320 at 0.25 m, DSM at 0.5 m."""
    return generate_scene(SceneConfig(size_m=80.0, seed=3))


@pytest.fixture(scope="session")
def town_files(town: SyntheticScene, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_scene(town, tmp_path_factory.mktemp("town"))


@pytest.fixture(scope="session")
def town_centre(town: SyntheticScene) -> tuple[float, float]:
    x0, y0 = town.config.origin
    return (x0 + town.config.size_m / 2, y0 + town.config.size_m / 2)
