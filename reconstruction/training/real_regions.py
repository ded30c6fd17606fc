"""The real regions the project holds out for itself: an image, heights and (where known) classes from LiDAR.

Every region is a true orthophoto with its LiDAR truth on the same 0.5 m cells, so a network can be scored on
real imagery and no labelling: Montpellier's IGN orthophoto with its LiDAR HD (:func:`samples_from_area`), and
colourised LiDAR whose points' own colours are rasterised into the image
(:func:`reconstruction.pointcloud.true_ortho.true_orthophoto`, as a LiDAR-only area gets its imagery): IGN LiDAR
HD rural fields (RGB + NIR), two IGN blocks of houses (RGB + NIR; their classes were overwritten, so their ground
comes from the morphological filter and they have no class truth) and NEON Florida (RGB).

Building truth: the LiDAR's building class (ASPRS 6) where the file is classified; on the blocks of houses, whose file
has no usable classes, every cell more than :data:`BUILDING_MIN_M` above ground (trees included: it is an upper
bound on the buildings there). The data live in ``../shared/data`` beside the project (``RS3D_SHARED_DATA`` overrides).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reconstruction.training.samples import IGNORE, Sample

#: Where the project's shared real data live unless ``RS3D_DATA`` says otherwise.
DATA_ROOT = Path(os.environ.get("RS3D_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
#: Height above ground of a building cell where no class says so, metres.
BUILDING_MIN_M = 2.5
#: Channel of the building class in the network's output (see ``models.CLASSES``).
BUILDING = 2


@dataclass(frozen=True)
class RealRegion:
    """One held-out real region on the network's grid.

    Attributes:
        sample: image (RGB or RGB + NIR, 0..1), class channels (255 unknown) and height above ground.
        building: ``(H, W)`` truth of building cells.
        building_from: how ``building`` was decided (``"class 6"`` or ``"height > 2.5 m"``).
        image_from: where the image comes from.
    """

    sample: Sample
    building: npt.NDArray[np.bool_]
    building_from: str
    image_from: str

    @property
    def name(self) -> str:
        """The region's name."""
        return self.sample.region

    @property
    def has_classes(self) -> bool:
        """Whether any cell has class truth."""
        return bool((self.sample.labels != IGNORE).any())


#: Region name -> (LAZ path relative to the data root, orthophoto or None for the points' colours).
REGIONS: dict[str, tuple[str, str | None]] = {
    "montpellier": ("montpellier/lidar_77055_627760.laz", "montpellier/ortho_rgb_20cm.tif"),
    "ign_rural": ("real/colourised_lidar/ign_rural_rgbnir.laz", None),
    "ign_houses_874": ("real/colourised_lidar/ign_houses_874000_6617000_rgbnir.laz", None),
    "ign_houses_876": ("real/colourised_lidar/ign_houses_876000_6617000_rgbnir.laz", None),
    "neon_florida": ("real/colourised_lidar/neon_florida_rgb.laz", None),
}


def available_regions(root: Path = DATA_ROOT) -> list[str]:
    """Names of the :data:`REGIONS` whose files are present under ``root``."""
    return [name for name, (laz, ortho) in REGIONS.items() if all((root / p).is_file() for p in (laz, ortho) if p)]


def load_region(name: str, root: Path = DATA_ROOT, resolution: float = 0.5) -> RealRegion:
    """One of :data:`REGIONS` on ``resolution`` metre cells.

    Raises:
        KeyError: no such region.
        InputError: its files are missing or unreadable.
    """
    from reconstruction.training.lidar import rasterise_lidar, samples_from_area

    laz, ortho = REGIONS[name]
    if ortho is not None:
        sample = samples_from_area(root / ortho, root / laz, resolution)[0]
        sample = Sample(sample.image, sample.labels, sample.height, name)
        return RealRegion(sample, sample.labels == BUILDING, "class 6", "IGN orthophoto")
    import laspy

    las = laspy.read(str(root / laz))
    classes = np.asarray(las.classification)
    if (classes == 2).any():
        raster = rasterise_lidar(root / laz, resolution)
        labels, height, left, top = raster.labels, raster.height, raster.left, raster.top
    else:
        labels, height, left, top = _unclassified(las, resolution)
    image = _true_ortho(las, left, top, labels.shape, resolution)
    unknown = ~np.isfinite(height)
    if (classes == 2).any():  # a classified file: its building class (none at all in NEON's savanna)
        building, rule = labels == BUILDING, "class 6"
    else:
        building, rule = np.nan_to_num(height) > BUILDING_MIN_M, f"height > {BUILDING_MIN_M} m"
    labels = labels.copy()
    labels[unknown] = IGNORE
    return RealRegion(Sample(image, labels, height, name), building & ~unknown, rule, "LiDAR points' colours")


def _unclassified(
    las: object, resolution: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], float, float]:
    """No class truth: labels all unknown, height = DSM above the morphological filter's DTM."""
    from reconstruction.config.stages import GroundConfig
    from reconstruction.terrain import extract_dtm

    x, y, z = (np.asarray(v, dtype=np.float64) for v in (las.x, las.y, las.z))  # type: ignore[attr-defined]
    left, top = np.floor(x.min() / resolution) * resolution, np.ceil(y.max() / resolution) * resolution
    w = max(1, int(np.ceil(round((x.max() - left) / resolution, 6))))
    h = max(1, int(np.ceil(round((top - y.min()) / resolution, 6))))
    col = np.clip(((x - left) / resolution).astype(np.int64), 0, w - 1)
    row = np.clip(((top - y) / resolution).astype(np.int64), 0, h - 1)
    order = np.argsort(z, kind="stable")
    dsm = np.full(h * w, np.nan, dtype=np.float32)
    dsm[(row * w + col)[order]] = z[order]
    surface = dsm.reshape(h, w)
    dtm, _ = extract_dtm(surface, resolution, GroundConfig())
    height = np.where(np.isfinite(surface), np.maximum(surface - dtm, 0.0), np.nan).astype(np.float32)
    return np.full((h, w), IGNORE, dtype=np.int64), height, float(left), float(top)


def _true_ortho(
    las: object, left: float, top: float, shape: tuple[int, int], resolution: float
) -> npt.NDArray[np.float32]:
    """The points' colours as a true orthophoto on the region's cells, 0..1 (unknown cells take grey)."""
    from affine import Affine
    from pyproj import CRS

    from reconstruction.io import Grid
    from reconstruction.io.lidar import LidarPoints
    from reconstruction.pointcloud.true_ortho import true_orthophoto

    names = set(las.point_format.dimension_names)  # type: ignore[attr-defined]
    xyz = np.column_stack([np.asarray(v, dtype=np.float64) for v in (las.x, las.y, las.z)])  # type: ignore[attr-defined]
    rgb = np.column_stack([np.asarray(getattr(las, c)) for c in ("red", "green", "blue")]).astype(np.uint16)
    nir = np.asarray(las.nir).astype(np.uint16) if "nir" in names else None  # type: ignore[attr-defined]
    points = LidarPoints(xyz, np.asarray(las.classification, dtype=np.uint8), rgb=rgb, nir=nir)  # type: ignore[attr-defined]
    grid = Grid(CRS.from_epsg(2154), Affine(resolution, 0.0, left, 0.0, -resolution, top), shape[1], shape[0])
    ortho = true_orthophoto(points, grid).astype(np.float32)
    known = (ortho > 0).all(axis=0)
    ortho[:, ~known] = 128.0
    return ortho / 255.0
