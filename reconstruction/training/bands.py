"""Network input bands: R, G, B, and near-infrared with a flag that says whether the image had one.

A network built with ``in_channels = 5`` reads R, G, B, NIR and a NIR-available flag (1 where the
orthophoto had a near-infrared band, 0 where it did not, with NIR set to 0): one model serves RGB and
RGB+NIR orthophotos. Training drops the NIR of some crops (:func:`drop_nir`) so the model also
learns to work without it. ``in_channels = 3`` is RGB only (a NIR band is ignored); ``4`` needs NIR.
"""

import numpy as np
import numpy.typing as npt

from reconstruction.errors import InputError

F32 = npt.NDArray[np.float32]

#: Input layouts by channel count.
LAYOUTS: dict[int, str] = {3: "R, G, B", 4: "R, G, B, NIR", 5: "R, G, B, NIR, NIR-available flag"}


def network_input(image: F32, in_channels: int) -> F32:
    """The bands a network with ``in_channels`` inputs reads, from an RGB or RGB+NIR image.

    Args:
        image: ``(3, H, W)`` R, G, B or ``(4, H, W)`` R, G, B, NIR, scaled to 0..1.
        in_channels: 3, 4 or 5 (see :data:`LAYOUTS`).

    Returns:
        ``(in_channels, H, W)`` float32 (a view of ``image`` when nothing has to be added).

    Raises:
        InputError: the image has fewer than 3 bands, or the network needs NIR that the image lacks.
    """
    bands = image.shape[0]
    if image.ndim != 3 or bands < 3:
        raise InputError(f"the network reads an RGB or RGB+NIR image, got shape {image.shape}")
    if in_channels not in LAYOUTS:
        raise InputError(f"no input layout for {in_channels} channels; known: {sorted(LAYOUTS)}")
    if in_channels == 3:
        return image[:3]
    if in_channels == 4:
        if bands < 4:
            raise InputError("this model needs a near-infrared band (R, G, B, NIR); the orthophoto has only RGB")
        return image[:4]
    out = np.zeros((5, *image.shape[1:]), np.float32)
    out[: min(bands, 4)] = image[:4]
    out[4] = 1.0 if bands >= 4 else 0.0
    return out


def drop_nir(image: F32) -> F32:
    """``image`` as if the orthophoto had no NIR band: RGB only (the flag channel is added later)."""
    return image[:3]
