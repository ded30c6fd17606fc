import math

import numpy as np
import pytest
from pyproj import CRS, Transformer

from reconstruction.errors import CRSError
from reconstruction.tiles3d.frame import EnuFrame


def _plain_enu(crs: CRS, xyz: np.ndarray) -> np.ndarray:
    """ENU of ``xyz`` through PROJ's own choice of operation per point (``from_crs``), at the bbox centre."""
    ecef = Transformer.from_crs(crs, CRS.from_epsg(4978), always_xy=True)
    geodetic = Transformer.from_crs(crs, CRS.from_epsg(4979), always_xy=True)
    centre = (xyz.min(axis=0) + xyz.max(axis=0)) / 2
    lon, lat = (math.radians(v) for v in geodetic.transform(*centre)[:2])
    origin = np.asarray(ecef.transform(*centre))
    sl, cl, sp, cp = math.sin(lon), math.cos(lon), math.sin(lat), math.cos(lat)
    rotation = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
    return (np.column_stack(ecef.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])) - origin) @ rotation.T


@pytest.mark.parametrize(
    ("epsg", "corner", "extent"),
    [
        (2154, (770_000.0, 6_279_000.0, 40.0), 500.0),  # Lambert-93: one conversion
        (28992, (121_000.0, 487_000.0, 0.0), 800.0),  # RD New: two datum shifts to choose from
        (32631, (500_000.0, 4_800_000.0, 100.0), 2_000.0),  # UTM
        (4326, (2.35, 48.85, 35.0), 0.01),  # degrees, latitude first in the CRS: always x = longitude
        (3857, (260_000.0, 6_250_000.0, 0.0), 1_000.0),
    ],
)
@pytest.mark.parametrize("jobs", [1, 3])
def test_enu_is_what_proj_gives_each_point(epsg, corner, extent, jobs):
    rng = np.random.default_rng(epsg)
    xyz = np.asarray(corner) + rng.uniform([0, 0, 0], [extent, extent, 30], (160_000, 3))
    crs = CRS.from_epsg(epsg)
    frame = EnuFrame.around(crs, xyz)
    enu = frame(xyz, jobs)
    assert np.abs(enu - _plain_enu(crs, xyz)).max() < 1e-6  # metres
    # and the frame's matrix takes ENU back to the ECEF positions
    ecef = np.column_stack(Transformer.from_crs(crs, CRS.from_epsg(4978), always_xy=True).transform(*xyz[:100].T))
    back = enu[:100] @ frame.matrix[:3, :3].T + frame.matrix[:3, 3]
    assert np.abs(back - ecef).max() < 1e-6


def test_threads_change_nothing():
    rng = np.random.default_rng(1)
    xyz = np.asarray([121_000.0, 487_000.0, 0.0]) + rng.uniform(0, 500, (200_000, 3))
    frame = EnuFrame.around(CRS.from_epsg(28992), xyz)
    assert np.array_equal(frame(xyz, 1), frame(xyz, 4))


def test_a_crs_off_the_globe_is_refused():
    local = CRS.from_wkt(
        'ENGCRS["site",EDATUM["site datum"],CS[Cartesian,2],AXIS["x",east,LENGTHUNIT["metre",1]],'
        'AXIS["y",north,LENGTHUNIT["metre",1]]]'
    )
    with pytest.raises(CRSError):
        EnuFrame.around(local, np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 1.0]]))
