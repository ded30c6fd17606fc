"""Stereo: a satellite stereo pair or triplet with RPC camera models -> DSM, orthoimage, point cloud.

- :func:`reconstruct_stereo` -- the stage entry: check the views, run CNES CARS, write the products.
- :class:`StereoProducts` -- DSM, orthoimage and LAZ paths plus a quality summary.
- :func:`check_stereo_images` -- refuse unusable views (no RPC, 1 or 4+ images, unreadable, no overlap).
- :class:`StereoImage` -- one checked view.
- :func:`compare_dsm` -- height differences of a DSM against a reference DSM.
- :class:`DsmComparison` -- median / p90 absolute difference, bias, valid share.
"""

from reconstruction.stereo.compare import DsmComparison, compare_dsm
from reconstruction.stereo.inputs import StereoImage, check_stereo_images
from reconstruction.stereo.reconstruct import StereoProducts, reconstruct_stereo

__all__ = [
    "DsmComparison",
    "StereoImage",
    "StereoProducts",
    "check_stereo_images",
    "compare_dsm",
    "reconstruct_stereo",
]
