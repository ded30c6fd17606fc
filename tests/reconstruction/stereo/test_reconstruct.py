"""End to end: a small crop of the real Pléiades pair through CARS, checked against s2p's DSM."""

import laspy
import numpy as np
import pytest
import rasterio

from reconstruction.errors import ProcessingError
from reconstruction.stereo import compare_dsm, reconstruct_stereo


def test_a_missing_cars_says_how_to_install_it(pleiades, tmp_path, monkeypatch):
    monkeypatch.setenv("RS3D_CARS", str(tmp_path / "nowhere" / "cars"))
    with pytest.raises(ProcessingError, match=r"CNES CARS 1\.3\.0, which is not installed.*scripts/setup\.sh"):
        reconstruct_stereo([pleiades / "img_01.tif", pleiades / "img_02.tif"], tmp_path / "work")


def test_a_pleiades_crop_gives_the_s2p_heights(cars_installed, pleiades, pleiades_crop, tmp_path):
    reports: list[tuple[str, float, str]] = []
    products = reconstruct_stereo(
        pleiades_crop, tmp_path / "work", epsg=32740, progress=lambda *r: reports.append(r), timeout_s=900
    )

    fractions = [fraction for _, fraction, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {stage for stage, _, _ in reports} == {"stereo"}

    with rasterio.open(products.dsm) as dsm, rasterio.open(products.ortho) as ortho:
        assert dsm.crs.to_epsg() == 32740 and dsm.nodata == -9999.0
        assert ortho.count == 3 and ortho.dtypes == ("uint8",) * 3
        assert ortho.transform == dsm.transform and ortho.shape == dsm.shape
        heights = dsm.read(1, masked=True)
    assert 2200 < float(np.ma.median(heights)) < 2450
    cloud = laspy.read(products.points)
    assert cloud.header.parse_crs().to_epsg() == 32740
    assert len(cloud.points) == heights.count()
    assert abs(float(np.median(cloud.z)) - float(np.ma.median(heights))) < 0.05
    assert products.quality["valid_share"] > 0.3
    assert products.quality["library"] == "cars 1.3.0" and products.quality["images"] == 2
    assert products.quality["peak_memory_mb"] > 0
    assert products.quality["initial_elevation"]["source"] == "tie points"

    # s2p's DSM covers the whole pair; the crop sees a ~100 m wide part of it.
    result = compare_dsm(products.dsm, pleiades / "reference_dsm_s2p.tif")
    assert result.compared_pixels > 10_000
    assert result.median_abs < 0.75, result
    assert result.p90_abs < 2.5, result
    assert abs(result.bias) < 1.0, result


def test_cars_dies_with_the_reconstruction_that_started_it(cars_installed, pleiades_crop, tmp_path):
    """A cancelled or lost job kills its reconstruction process; CARS (in its own session) must go too."""
    import subprocess
    import sys
    import time

    import psutil

    code = (
        "import sys; from pathlib import Path; from reconstruction.stereo import reconstruct_stereo\n"
        "reconstruct_stereo([Path(p) for p in sys.argv[1:3]], Path(sys.argv[3]), epsg=32740)"
    )
    work = tmp_path / "work"
    parent = subprocess.Popen([sys.executable, "-c", code, *map(str, pleiades_crop), str(work)])
    try:
        cars = None
        deadline = time.monotonic() + 120
        while cars is None and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.5)
            cars = next((c for c in psutil.Process(parent.pid).children() if "cars" in " ".join(c.cmdline())), None)
        assert cars is not None, "CARS did not start"
    finally:
        parent.kill()
        parent.wait()
    psutil.wait_procs([cars], timeout=10)
    assert not cars.is_running() or cars.status() == psutil.STATUS_ZOMBIE
