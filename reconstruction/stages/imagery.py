"""Stage ``imagery``: the orthophoto on the working grid, and as web imagery (an overlay PNG and XYZ tiles)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rasterio.enums import Resampling

from reconstruction import tiles3d
from reconstruction.config import PipelineConfig
from reconstruction.io import RasterInfo, read_onto_grid, to_rgb8
from reconstruction.progress import ProgressCallback
from reconstruction.stages.inputs import Area


@dataclass
class Photo:
    """The orthophoto resampled onto the working grid.

    Attributes:
        image: every band, float32 ``(bands, rows, cols)``, NaN where unknown.
        rgb: display colours ``(3, rows, cols)``.
        nir: the 4th band of an RGB+NIR orthophoto as 8 bits (for the model), else None.
        entry: the manifest's ``imagery`` entry (``{}`` for a chip: the merge cuts the web imagery once).
    """

    image: npt.NDArray[np.float32]
    rgb: npt.NDArray[np.uint8]
    nir: npt.NDArray[np.uint8] | None
    entry: dict[str, Any]


def run_imagery(area: Area, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback) -> Photo:
    """Resample the orthophoto onto the grid and, for a whole area, write its web imagery."""
    ortho = area.ortho
    image = read_onto_grid(ortho, area.grid, Resampling.average)
    rgb = to_rgb8(image[:3], ortho.dtype)
    nir = to_rgb8(image[3:4], ortho.dtype)[0] if image.shape[0] > 3 else None
    entry = {} if area.extent.chip else write_imagery(ortho, cfg, out_dir, on_progress)
    return Photo(image, rgb, nir, entry)


def write_imagery(
    ortho: RasterInfo, cfg: PipelineConfig, out_dir: Path, on_progress: ProgressCallback
) -> dict[str, Any]:
    """The orthophoto as a draped overlay PNG and an XYZ tile pyramid; the manifest's ``imagery`` entry."""
    (out_dir / "imagery").mkdir(exist_ok=True)
    rectangle = tiles3d.write_overlay_png(ortho, out_dir / "imagery" / "ortho.png", cfg.output.overlay_max_px)
    pyramid = tiles3d.write_xyz_tiles(
        ortho,
        out_dir / "imagery" / "ortho",
        lambda fraction: on_progress("imagery", fraction, "Cutting the orthophoto into web tiles"),
    )
    return {
        "ortho": {
            "path": "imagery/ortho.png",
            "rectangle_wgs84": list(rectangle),
            "tiles": pyramid.to_dict("imagery/ortho"),
        }
    }
