"""The local east-north-up frame of a tileset, glTF axes, normals and colours shared by the mesh layers.

A layer's root tile ``transform`` places an ENU frame (origin at the centre of the layer, heights in the
CRS's vertical datum taken as ellipsoidal heights, as for the point clouds) in ECEF. Content is authored
in glTF axes (ENU ``x, z, -y``): 3D Tiles rotates glTF's Y up back to Z up.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError
from pyproj.transformer import TransformerGroup

from reconstruction.errors import CRSError

Float64s = npt.NDArray[np.float64]
Int64s = npt.NDArray[np.int64]


#: ECEF to longitude, latitude and ellipsoidal height (WGS 84): a conversion, cheap to create.
_GEODETIC = Transformer.from_crs(CRS.from_epsg(4978), CRS.from_epsg(4979), always_xy=True)

#: Fewest points a thread of :meth:`EnuFrame.__call__` is given: below this, threads cost more than they save.
_POINTS_PER_THREAD = 50_000


@dataclass(frozen=True)
class EnuFrame:
    """CRS coordinates to the ENU frame at ``origin`` (ECEF metres); ``matrix`` maps ENU to ECEF (4x4)."""

    ecef: Transformer
    origin: Float64s
    rotation: Float64s  # rows: east, north, up in ECEF
    matrix: Float64s

    @classmethod
    def at(cls, crs: CRS, centre_xyz: Float64s, corners_xy: Float64s | None = None) -> "EnuFrame":
        """The ENU frame at ``centre_xyz`` (``crs`` metres), for data within ``corners_xy`` ((K, 2), if given).

        Raises:
            CRSError: ``crs`` cannot be transformed to ECEF.
        """
        try:
            ecef = _ecef_transformer(crs, centre_xyz, corners_xy)
            origin = np.asarray(ecef.transform(*centre_xyz), dtype=np.float64)
            lon, lat = _GEODETIC.transform(*origin)[:2]
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
        lo, hi = bounds(xyz)
        corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]], [hi[0], hi[1]]])
        return cls.at(crs, (lo + hi) / 2, corners)

    def __call__(self, xyz: Float64s, jobs: int = 1) -> Float64s:
        """(N, 3) CRS coordinates to ENU metres, in up to ``jobs`` threads (PROJ runs without the GIL)."""
        out = np.empty((len(xyz), 3), np.float64)
        threads = max(1, min(jobs, len(xyz) // _POINTS_PER_THREAD))
        edges = np.linspace(0, len(xyz), threads + 1).astype(np.int64)
        parts = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        if threads == 1:
            self._enu(xyz, out, parts[0])
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda part: self._enu(xyz, out, part), parts))
        return out

    def _enu(self, xyz: Float64s, out: Float64s, part: slice) -> None:
        """ENU of the points ``part`` of ``xyz``, written to ``out[part]``."""
        x, y, z = self.ecef.transform(xyz[part, 0], xyz[part, 1], xyz[part, 2])
        dx, dy, dz = x - self.origin[0], y - self.origin[1], z - self.origin[2]
        for axis, (rx, ry, rz) in enumerate(self.rotation):
            out[part, axis] = dx * rx + dy * ry + dz * rz


def bounds(xyz: Float64s) -> tuple[Float64s, Float64s]:
    """Lower and upper corner of the bounding box of (N, 3) points (per column: faster than ``min(axis=0)``)."""
    lo = np.array([xyz[:, k].min() for k in range(xyz.shape[1])])
    hi = np.array([xyz[:, k].max() for k in range(xyz.shape[1])])
    return lo, hi


def _ecef_transformer(crs: CRS, centre_xyz: Float64s, corners_xy: Float64s | None) -> Transformer:
    """``crs`` to ECEF (always x, y), as ``Transformer.from_crs`` transforms the data, made faster when it can be.

    ``from_crs`` keeps every candidate operation and picks one per point (the most accurate available whose
    area of use holds the point), and making it costs up to 0.1 s (Amsterdam's RD New: two datum shifts).
    When there is one candidate, or the data's corners all lie in the best one's area of use, that operation
    is what it would use for every point: it is made from its PROJ pipeline alone (about 1 ms).
    """
    group = TransformerGroup(crs, CRS.from_epsg(4978), always_xy=True)
    if group.transformers:
        best = group.transformers[0]
        area = best.area_of_use
        if len(group.transformers) == 1:
            return Transformer.from_pipeline(best.definition)
        if area is not None and corners_xy is not None:
            x, y, z = best.transform(corners_xy[:, 0], corners_xy[:, 1], np.full(len(corners_xy), centre_xyz[2]))
            lon, lat = _GEODETIC.transform(x, y, z)[:2]
            inside = (area.west <= lon) & (lon <= area.east) & (area.south <= lat) & (lat <= area.north)
            if area.west <= area.east and np.all(inside):
                return Transformer.from_pipeline(best.definition)
    return Transformer.from_crs(crs, CRS.from_epsg(4978), always_xy=True)


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
