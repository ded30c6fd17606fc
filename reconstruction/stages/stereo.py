"""Stage ``stereo``: a satellite stereo pair or triplet becomes the area's DSM (and orthophoto).

The work is :mod:`reconstruction.stereo`'s (CARS); this stage keeps its products and records their quality.
"""

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.io import inspect_raster
from reconstruction.progress import ProgressCallback
from reconstruction.stages import relative_path


def run_stereo(
    inputs: PipelineInputs, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback
) -> tuple[PipelineInputs, dict[str, Any]]:
    """Turn a stereo pair or triplet into the DSM (and, without an orthophoto, the orthophoto).

    Returns:
        The inputs with the stereo DSM (and orthoimage) filled in, and the ``stereo`` manifest entry:
        the quality figures and the paths of the kept products; ``{}`` without stereo images.

    Raises:
        InputError: the images are unusable. ProcessingError: CARS failed or is not installed.
    """
    if not inputs.stereo:  # nothing to say: the job's log names only stages that do work
        return inputs, {}
    from reconstruction.stereo import reconstruct_stereo

    epsg = None
    if inputs.ortho:  # produce the DSM in the orthophoto's CRS (its first tile's) when it has an EPSG code
        epsg = inspect_raster(inputs.ortho[0], "orthophoto", inputs.epsg, cfg.limits.max_raster_pixels).crs.to_epsg()
    folder = out_dir / "stereo"
    products = reconstruct_stereo(list(inputs.stereo), folder, epsg=epsg, progress=on_progress)
    # CARS's intermediate files (epipolar grids, disparity maps) are large and of no use afterwards.
    shutil.rmtree(folder / "cars", ignore_errors=True)
    (folder / "initial_elevation.tif").unlink(missing_ok=True)
    kept = {"dsm": products.dsm, "ortho": products.ortho, "points": products.points}
    entry = {**products.quality, "paths": {name: relative_path(path, out_dir) for name, path in kept.items() if path}}
    # The pair is now the DSM (and orthophoto): later stages see an ordinary orthophoto + DSM area.
    ortho = inputs.ortho or (products.ortho,)
    return dataclasses.replace(inputs, ortho=ortho, dsm=(products.dsm,), stereo=()), entry
