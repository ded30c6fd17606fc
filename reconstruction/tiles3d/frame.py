"""The local east-north-up frame of a tileset, glTF axes, normals and colours shared by the mesh layers.

A layer's root tile ``transform`` places an ENU frame (origin at the centre of the layer, heights in the
CRS's vertical datum taken as ellipsoidal heights, as for the point clouds) in ECEF. Content is authored
in glTF axes (ENU ``x, z, -y``): 3D Tiles rotates glTF's Y up back to Z up.
"""

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from reconstruction.errors import CRSError

Float64s = npt.NDArray[np.float64]
Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EnuFrame:
    """CRS coordinates to the ENU frame at ``origin`` (ECEF metres); ``matrix`` maps ENU to ECEF (4x4)."""

    ecef: Transformer
    origin: Float64s
    rotation: Float64s  # rows: east, north, up in ECEF
    matrix: Float64s

    @classmethod
    def at(cls, crs: CRS, centre_xyz: Float64s) -> "EnuFrame":
        """The ENU frame at ``centre_xyz`` (``crs`` metres).

        Raises:
            CRSError: ``crs`` cannot be transformed to ECEF.
        """
        try:
            ecef = Transformer.from_crs(crs, CRS.from_epsg(4978), always_xy=True)
            geodetic = Transformer.from_crs(crs, CRS.from_epsg(4979), always_xy=True)
            lon, lat = geodetic.transform(*centre_xyz)[:2]
            origin = np.asarray(ecef.transform(*centre_xyz), dtype=np.float64)
        except ProjError as err:
            raise CRSError(f"Cannot place {crs.name} on the globe ({err}); give the data a projected CRS.") from err
        if not np.isfinite(origin).all():
            raise CRSError(f"The layer's centre has no ECEF position in {crs.name}; check the CRS.")
        sl, cl = math.sin(math.radians(lon)), math.cos(math.radians(lon))
        sp, cp = math.sin(math.radians(lat)), math.cos(math.radians(lat))
        rotation = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
        matrix = np.eye(4)
        matrix[:3, :3] = rotation.T
        matrix[:3, 3] = origin
        return cls(ecef, origin, rotation, matrix)

    @classmethod
    def around(cls, crs: CRS, xyz: Float64s) -> "EnuFrame":
        """The ENU frame at the centre of the bounding box of ``xyz`` ((N, 3) ``crs`` metres)."""
        return cls.at(crs, (xyz.min(axis=0) + xyz.max(axis=0)) / 2)

    def __call__(self, xyz: Float64s) -> Float64s:
        """(N, 3) CRS coordinates to ENU metres."""
        x, y, z = self.ecef.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
        return np.asarray((np.column_stack([x, y, z]) - self.origin) @ self.rotation.T, dtype=np.float64)


def y_up(enu: Float64s) -> Float64s:
    """ENU (x east, y north, z up) to glTF axes (x, z, -y); 3D Tiles rotates glTF Y-up back to Z-up."""
    return np.column_stack([enu[:, 0], enu[:, 2], -enu[:, 1]])


def face_normals(vertices: Float64s, triangles: Int64s) -> Float64s:
    """Area-weighted normals of counter-clockwise triangles ((M, 3), length = twice the area)."""
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    return np.asarray(np.cross(b - a, c - a), dtype=np.float64)


def unit(vectors: Float64s, fallback: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Float64s:
    """Rows scaled to length 1; zero rows become ``fallback``."""
    length = np.linalg.norm(vectors, axis=1, keepdims=True)
    out = np.tile(np.asarray(fallback, dtype=np.float64), (len(vectors), 1))
    return np.divide(vectors, length, out=out, where=length > 0)


def smooth_normals(vertices: Float64s, triangles: Int64s) -> Float64s:
    """Per-vertex unit normals: the area-weighted mean of the normals of the triangles around each vertex."""
    weighted = face_normals(vertices, triangles)
    summed = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(summed, triangles[:, k], weighted)
    return unit(summed)


def linear_rgba(srgb: tuple[int, int, int]) -> npt.NDArray[np.uint8]:
    """COLOR_0 bytes of an sRGB colour: converted to linear values (glTF vertex colours are linear), opaque."""
    value = np.asarray(srgb, dtype=np.float64) / 255
    linear = np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)
    return np.append(np.round(linear * 255), 255).astype(np.uint8)
