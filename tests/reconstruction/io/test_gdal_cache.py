"""GDAL's block cache is bounded for every reconstruction process, unless the user chose a size."""

import os

import pytest

from reconstruction.io.gdal_cache import DEFAULT_CACHE_MB, bound_block_cache


def test_the_cache_is_bounded_when_nobody_chose_a_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDAL_CACHEMAX", "")  # recorded, so the test's own value is undone after
    monkeypatch.delenv("GDAL_CACHEMAX")
    assert bound_block_cache() == str(DEFAULT_CACHE_MB)
    assert os.environ["GDAL_CACHEMAX"] == str(DEFAULT_CACHE_MB)


def test_the_user_s_choice_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDAL_CACHEMAX", "512")
    assert bound_block_cache() == "512"
