"""Stage ``rasters``: the kept part of the surfaces as Cloud-Optimised GeoTIFFs (:mod:`reconstruction.gis`)."""

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction import gis
from reconstruction.chips.extent import Extent
from reconstruction.stages import relative_path
from reconstruction.stages.surfaces import Surfaces


def run_rasters(
    surfaces: Surfaces, ndsm: npt.NDArray[np.float32], extent: Extent, registration: dict[str, Any], out_dir: Path
) -> dict[str, str]:
    """Write DSM, DTM, nDSM, labels (and the model's confidence and height spread); the manifest's ``rasters``.

    The ``register`` stage's registered second image, already written, is listed too.
    """
    rasters = _write_rasters(surfaces, ndsm, out_dir, extent)
    if "second_image" in registration:
        rasters["second_image_registered"] = registration["second_image"]["path"]
    return rasters


def _write_rasters(s: Surfaces, ndsm: npt.NDArray[np.float32], out_dir: Path, extent: Extent) -> dict[str, str]:
    """The kept part of the surfaces as COGs."""
    assert s.labels is not None and s.dtm is not None
    folder = out_dir / "rasters"
    folder.mkdir(exist_ok=True)
    core, crop = extent.core_grid, extent.crop
    written = {
        "dsm": gis.write_cog(crop(s.dsm), core, folder / "dsm.tif", -9999.0),
        "dtm": gis.write_cog(crop(s.dtm), core, folder / "dtm.tif", -9999.0),
        "ndsm": gis.write_cog(crop(ndsm), core, folder / "ndsm.tif", -9999.0),
        "labels": gis.write_cog(crop(s.labels), core, folder / "labels.tif", 0),
    }
    if s.prediction is not None:
        p = s.prediction
        written["confidence"] = gis.write_cog(crop(p.class_confidence), core, folder / "confidence.tif", -1.0)
        written["height_std"] = gis.write_cog(crop(p.height_std), core, folder / "height_std.tif", -9999.0)
    return {name: relative_path(path, out_dir) for name, path in written.items()}
