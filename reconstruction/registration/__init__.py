"""Co-registration of a second image or a DSM to a reference raster, with a semantic consistency constraint.

- :func:`register_raster` -- register one raster to another and write it on the reference's extent.
- :class:`RegistrationReport` -- what was found: transform (plain data), matches, inliers, errors in metres.
- :class:`CheckPoints`, :class:`CheckPointErrors` -- points of known truth and the errors on them.
- :class:`RegistrationConfig` -- detector, model, thresholds (also ``PipelineConfig.registration``).

One step per module: ``sources`` (read both onto matching grids), ``represent`` (gradient magnitude),
``matching`` (SIFT/ORB/AKAZE + ratio test), ``semantics`` (class maps, agreement, boundary weights),
``estimation`` (weighted RANSAC, degeneracy), ``warp`` (resample and write), ``report``.
"""

from reconstruction.config import RegistrationConfig
from reconstruction.registration.register import register_raster
from reconstruction.registration.report import CheckPointErrors, CheckPoints, RegistrationReport

__all__ = ["CheckPointErrors", "CheckPoints", "RegistrationConfig", "RegistrationReport", "register_raster"]
