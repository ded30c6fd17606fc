"""Fixtures for the stereo tests: the real Pléiades pair, cut to a small window around one ground point."""

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.rpc import RPC
from rasterio.transform import RPCTransformer

from reconstruction.stereo.cars import ROOT
from tests.conftest import require


def crop_view(source: Path, out: Path, lon: float, lat: float, height: float, side: int) -> Path:
    """Cut a ``side`` x ``side`` window of ``source`` centred on the ground point (lon, lat, height),
    shifting the RPC image offsets so that the crop keeps a valid camera model."""
    with rasterio.open(source) as src:
        with RPCTransformer(src.rpcs) as transformer:
            row, col = transformer.rowcol(lon, lat, zs=height)
        row0 = int(np.clip(row - side // 2, 0, src.height - side))
        col0 = int(np.clip(col - side // 2, 0, src.width - side))
        data = src.read(window=((row0, row0 + side), (col0, col0 + side)))
        rpcs = src.rpcs.to_dict()
        profile = {"driver": "GTiff", "width": side, "height": side, "count": src.count, "dtype": src.dtypes[0]}
    rpcs["line_off"] -= row0
    rpcs["samp_off"] -= col0
    with rasterio.open(out, "w", rpcs=RPC(**rpcs), **profile) as dst:
        dst.write(data)
    return out


@pytest.fixture(scope="session")
def pleiades(shared_data: Path) -> Path:
    """The Pléiades pair and its s2p reference DSM."""
    folder = shared_data / "stereo" / "pleiades_pair"
    require((folder / "reference_dsm_s2p.tif").is_file(), f"{folder} is incomplete")
    return folder


@pytest.fixture(scope="session")
def pleiades_crop(pleiades: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Both Pléiades views cut to 256 x 256 pixels around the centre of the reference DSM."""
    folder = tmp_path_factory.mktemp("pleiades_crop")
    with rasterio.open(pleiades / "reference_dsm_s2p.tif") as ref:
        x, y = (ref.bounds.left + ref.bounds.right) / 2, (ref.bounds.bottom + ref.bounds.top) / 2
        to_lonlat = Transformer.from_crs(ref.crs, "EPSG:4326", always_xy=True)
        centre = ref.read(1)[ref.height // 2 - 20 : ref.height // 2 + 20, ref.width // 2 - 20 : ref.width // 2 + 20]
    lon, lat = to_lonlat.transform(x, y)
    height = float(np.nanmedian(centre))
    return [crop_view(pleiades / name, folder / name, lon, lat, height, 256) for name in ("img_01.tif", "img_02.tif")]


@pytest.fixture(scope="session")
def cars_installed() -> None:
    """CARS in its own virtualenv (scripts/setup.sh makes it), or skip (fail with CI=true)."""
    exe = Path(os.environ.get("RS3D_CARS") or ROOT / ".venv-cars" / "bin" / "cars")
    require(exe.is_file(), f"CARS is not installed at {exe} (run bash scripts/setup.sh, or set RS3D_CARS)")
