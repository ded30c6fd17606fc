"""Views to fuse: a label image (class codes, optional confidence) and the camera that took it.

``views.json`` lists them; relative paths are read from the folder holding ``views.json``::

    {"views": [
        {"name": "north",                                  # optional; defaults to the label file's name
         "labels": "north_labels.png",                     # single-band class codes (PNG or GeoTIFF)
         "confidence": "north_confidence.tif",             # optional: float 0..1, or uint8/uint16 scaled to 0..1
         "camera": {"width": 640, "height": 480, ...}},    # a camera object (see camera.py) or a camera JSON path
        ...]}
"""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError
from reconstruction.fusion.camera import Camera, read_camera, read_json


@dataclass(frozen=True, eq=False)
class View:
    """One labelled image and its camera.

    Attributes:
        name: How messages and the report name the view.
        camera: Its calibrated camera (world frame: the point cloud's CRS, metres).
        labels: (H, W) class codes (ASPRS), the same size as the camera's image.
        confidence: (H, W) confidence of each label in [0, 1], or ``None`` (every label counts fully).
    """

    name: str
    camera: Camera
    labels: npt.NDArray[np.uint8]
    confidence: npt.NDArray[np.float32] | None = None


def read_views(path: Path) -> list[View]:
    """Read ``views.json`` with every label image, confidence image and camera it names.

    Raises:
        InputError: a file is missing or unreadable, or an entry lacks ``labels`` or ``camera``.
    """
    data = read_json(path)
    entries = data.get("views") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise InputError(f"'{path.name}' must hold {{\"views\": [...]}} with at least one view.")
    return [_read_view(entry, i, path.parent) for i, entry in enumerate(entries)]


def _read_view(entry: Any, i: int, folder: Path) -> View:
    if not isinstance(entry, dict) or "labels" not in entry or "camera" not in entry:
        raise InputError(f'View {i} in views.json needs at least "labels" (an image path) and "camera".')
    labels_path = folder / str(entry["labels"])
    name = str(entry.get("name", labels_path.name))
    camera_entry = entry["camera"]
    if isinstance(camera_entry, str):
        camera = read_camera(folder / camera_entry)
    else:
        camera = Camera.from_dict(camera_entry, f"camera of view '{name}'")
    labels = _read_band(labels_path, f"label image of view '{name}'")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
        raise InputError(f"The label image of view '{name}' must hold integer class codes 0-255, not {labels.dtype}.")
    confidence = None
    if entry.get("confidence") is not None:
        confidence = _confidence(_read_band(folder / str(entry["confidence"]), f"confidence image of view '{name}'"))
    return View(name=name, camera=camera, labels=labels.astype(np.uint8), confidence=confidence)


def _read_band(path: Path, label: str) -> npt.NDArray[Any]:
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    from reconstruction.io.user_files import LABEL_IMAGE_FORMATS, open_raster

    if not path.is_file():
        raise InputError(f"The {label}, '{path}', does not exist. Check the path in views.json.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # PNG labels carry no georeferencing
            with open_raster(path, f"{label}, '{path.name}',", LABEL_IMAGE_FORMATS) as src:
                if src.count != 1:
                    raise InputError(f"The {label}, '{path.name}', has {src.count} bands; give a single-band image.")
                return src.read(1)
    except RasterioIOError as err:
        raise InputError(f"The {label}, '{path.name}', cannot be read as an image ({err}).") from err


def _confidence(values: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    if np.issubdtype(values.dtype, np.integer):
        return (values / np.iinfo(values.dtype).max).astype(np.float32)
    return values.astype(np.float32)
