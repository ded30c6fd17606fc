"""The labelled test scene, built once per session (about 2 s)."""

import pytest

from tests.reconstruction.fusion.scene import Scene, build_scene


@pytest.fixture(scope="session")
def scene() -> Scene:
    """Ground, road, two box buildings and a tree crown, with five exact label images (scene.py)."""
    return build_scene()
