import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from reconstruction.stereo import compare_dsm


def _dsm(path, heights, origin=(500_000.0, 7_650_000.0), cell=0.5, nodata=None):
    profile = {"driver": "GTiff", "width": heights.shape[1], "height": heights.shape[0], "count": 1}
    with rasterio.open(
        path,
        "w",
        dtype="float32",
        crs="EPSG:32740",
        transform=from_origin(*origin, cell, cell),
        nodata=nodata,
        **profile,
    ) as dst:
        dst.write(heights.astype(np.float32), 1)
    return path


def test_a_shifted_dsm_shows_its_offset_and_its_noise(tmp_path):
    rng = np.random.default_rng(0)
    reference = np.full((100, 100), 2300.0)
    reference[:10] = np.nan
    noise = rng.normal(0.0, 0.5, reference.shape)
    dsm = reference + 3.0 + noise
    dsm[:, :25] = -9999.0
    result = compare_dsm(_dsm(tmp_path / "dsm.tif", dsm, nodata=-9999.0), _dsm(tmp_path / "ref.tif", reference))

    assert result.valid_share == pytest.approx(0.75, abs=0.01)
    assert result.compared_pixels == 90 * 75
    assert result.bias == pytest.approx(3.0, abs=0.05)
    assert result.median_abs == pytest.approx(3.0, abs=0.05)
    assert result.median_abs_debiased == pytest.approx(0.5 * 0.674, abs=0.05)
    assert result.p90_abs_debiased == pytest.approx(0.5 * 1.645, abs=0.08)


def test_dsms_that_do_not_meet_compare_nothing(tmp_path):
    flat = np.full((20, 20), 10.0)
    result = compare_dsm(
        _dsm(tmp_path / "a.tif", flat), _dsm(tmp_path / "b.tif", flat, origin=(600_000.0, 7_650_000.0))
    )
    assert result.compared_pixels == 0 and result.valid_share == 0.0 and np.isnan(result.median_abs)
