"""Tiled inference: run a dense network over a large image in overlapping, blended windows."""

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from reconstruction.errors import ConfigError, InputError, ProcessingError
from reconstruction.progress import ProgressCallback

F32 = npt.NDArray[np.float32]

#: Log-variances are clipped to this range before ``exp`` (std from 4.5e-5 to 22000 m).
_LOGVAR_RANGE = (-20.0, 20.0)


def predict_tiled(
    model: nn.Module,
    image: F32,
    tile: int = 256,
    overlap: int = 64,
    batch_size: int = 8,
    device: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, F32]:
    """Predict classes, heights and height uncertainty over a whole image, window by window.

    Windows of ``tile x tile`` pixels advance by ``tile - overlap``. Each window's outputs are weighed
    by a separable cosine ramp that is 0 in the outer ``overlap / 4`` pixels of the window (where
    the network sees zero padding), rises across the middle half of the overlap and is 1 inside;
    neighbouring ramps sum to 1, so seams vanish and a fully convolutional network in eval mode
    reproduces its untiled output away from the window edges. The image is reflect-padded by
    ``overlap / 2`` on every side and up to the window grid; windows are cut on the fly, so memory
    holds the image, the float32 outputs and at most ``batch_size`` windows. Results are deterministic
    for a given device and thread count.

    Args:
        model: a network returning ``{"logits", "height", "height_logvar"}`` for ``(B, C, h, w)``
            input (e.g. :class:`reconstruction.models.CityNet`); if it has ``size_multiple``, window
            sides are rounded up to it. It is moved to ``device`` in channels-last layout and run in
            eval mode; every submodule's training flag is restored afterwards.
        image: ``(C, H, W)`` float32 image, scaled as the network was trained (e.g. reflectance 0..1).
        tile: window side in pixels (rounded up to ``size_multiple``; shrunk for smaller images).
        overlap: pixels shared by neighbouring windows, ``0 <= overlap < tile``.
        batch_size: windows per forward pass.
        device: ``"cuda"``, ``"cpu"``, ...; default CUDA when available. On CUDA the forward pass runs
            under float16 autocast; on the CPU in float32.
        on_progress: ``on_progress("inference", fraction, message)`` after every batch, ending at 1.0;
            it may raise :class:`reconstruction.errors.Cancelled`.

    Returns:
        ``"probabilities"``: ``(n_classes, H, W)`` softmax class probabilities, blended;
        ``"height"``: ``(H, W)`` height in metres; ``"height_std"``: ``(H, W)`` standard deviation
        of the height in metres, ``exp(logvar / 2)`` of the blended log-variance. All float32.

    Raises:
        ConfigError: ``tile``, ``overlap`` or ``batch_size`` is out of range.
        InputError: ``image`` is not a ``(C, H, W)`` array.
        ProcessingError: the device ran out of memory (lower ``batch_size`` or ``tile``).
    """
    if image.ndim != 3 or min(image.shape) < 1:
        raise InputError(f"predict_tiled expects a (C, H, W) image, got shape {image.shape}")
    if tile < 1 or not 0 <= overlap < tile or batch_size < 1:
        raise ConfigError(
            f"predict_tiled needs tile >= 1, 0 <= overlap < tile and batch_size >= 1; "
            f"got tile={tile}, overlap={overlap}, batch_size={batch_size}"
        )
    multiple = int(getattr(model, "size_multiple", 1))
    _, height, width = image.shape
    rows = _Axis(height, tile, overlap, multiple)
    cols = _Axis(width, tile, overlap, multiple)
    weight = np.outer(rows.weight, cols.weight)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    modes = [(module, module.training) for module in model.modules()]
    # Channels-last runs faster under oneDNN (CPU) and cuDNN; torch's stubs omit this keyword.
    model.to(dev, memory_format=torch.channels_last).eval()  # type: ignore[call-overload]
    try:
        return _run(model, image.astype(np.float32, copy=False), rows, cols, weight, batch_size, dev, on_progress)
    except torch.OutOfMemoryError as err:
        raise ProcessingError(
            f"inference ran out of {dev.type} memory with tile={tile}, batch_size={batch_size}: lower them"
        ) from err
    finally:
        for module, training in modes:
            module.training = training


class _Axis:
    """Window placement and blending ramp along one image axis.

    Attributes:
        size: window side in pixels.
        starts: window origins in image coordinates (the first is ``-overlap // 2``).
        weight: ``(size,)`` blending weight of a window's pixels.
    """

    def __init__(self, length: int, tile: int, overlap: int, multiple: int) -> None:
        margin = overlap // 2
        padded = length + 2 * margin
        self.size = min(_round_up(tile, multiple), _round_up(padded, multiple))
        step = max(1, self.size - overlap)
        count = 1 if padded <= self.size else math.ceil((padded - self.size) / step) + 1
        self.starts = [-margin + k * step for k in range(count)]
        self.weight = _ramp(self.size, overlap)
        self.length = length

    def crop(self, start: int) -> tuple[slice, slice]:
        """Slices of the image and of the window where window ``start`` overlaps the image."""
        lo, hi = max(start, 0), min(start + self.size, self.length)
        return slice(lo, hi), slice(lo - start, hi - start)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _ramp(size: int, overlap: int) -> F32:
    """Blending weight of one window side: 0 near the edges, cosine ramp, 1 in the middle.

    With ``d`` a pixel centre's distance to the nearest window edge, the weight is 0 for
    ``d < overlap / 4``, 1 for ``d > 3 overlap / 4`` and ``(1 - cos(pi t)) / 2`` in between, so the
    weights of two windows ``size - overlap`` apart sum to 1 over their overlap.
    """
    if overlap == 0:
        return np.ones(size, np.float32)
    distance = np.minimum(np.arange(size) + 0.5, size - np.arange(size) - 0.5)
    t = np.clip((distance - overlap / 4) / (overlap / 2), 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)


def _reflect(start: int, size: int, length: int) -> npt.NDArray[np.intp]:
    """Indices ``start .. start + size - 1`` folded into ``0 .. length - 1`` by mirror reflection."""
    if length == 1:
        return np.zeros(size, np.intp)
    period = 2 * (length - 1)
    index = np.abs(np.arange(start, start + size)) % period
    return np.where(index >= length, period - index, index).astype(np.intp)


def _windows(image: F32, rows: _Axis, cols: _Axis) -> Iterator[tuple[int, int, F32]]:
    """Yield ``(row_start, col_start, window)``, each ``(C, rows.size, cols.size)``, reflect-padded."""
    for r in rows.starts:
        r_index = _reflect(r, rows.size, image.shape[1])
        for c in cols.starts:
            yield r, c, image[:, r_index[:, None], _reflect(c, cols.size, image.shape[2])[None, :]]


def _run(
    model: nn.Module,
    image: F32,
    rows: _Axis,
    cols: _Axis,
    weight: F32,
    batch_size: int,
    device: torch.device,
    on_progress: ProgressCallback | None,
) -> dict[str, F32]:
    """Forward every window batch and accumulate weighted outputs into the image-sized arrays."""
    _, height, width = image.shape
    total = len(rows.starts) * len(cols.starts)
    sums: dict[str, F32] = {}
    weight_sum = np.zeros((height, width), np.float32)
    done = 0
    batch: list[tuple[int, int, F32]] = []
    for item in _windows(image, rows, cols):
        batch.append(item)
        if len(batch) == batch_size or done + len(batch) == total:
            outputs = _forward(model, np.stack([w for _, _, w in batch]), device)
            for k, (r, c, _) in enumerate(batch):
                (ys, wy), (xs, wx) = rows.crop(r), cols.crop(c)
                local = weight[wy, wx]
                weight_sum[ys, xs] += local
                for name, value in outputs.items():
                    if name not in sums:
                        sums[name] = np.zeros((value.shape[1], height, width), np.float32)
                    sums[name][:, ys, xs] += value[k][:, wy, wx] * local
            done += len(batch)
            batch.clear()
            if on_progress is not None:
                on_progress("inference", done / total, f"{done} of {total} windows")
    logvar = np.clip(sums["height_logvar"][0] / weight_sum, *_LOGVAR_RANGE)
    return {
        "probabilities": sums["probabilities"] / weight_sum,
        "height": sums["height"][0] / weight_sum,
        "height_std": np.exp(0.5 * logvar).astype(np.float32),
    }


def _forward(model: nn.Module, windows: F32, device: torch.device) -> dict[str, F32]:
    """Run one batch ``(B, C, h, w)``; return float32 probabilities, heights and log-variances on the host."""
    x = torch.from_numpy(windows).to(device, memory_format=torch.channels_last)
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
        out = model(x)
    return {
        "probabilities": torch.softmax(out["logits"].float(), dim=1).cpu().numpy(),
        "height": out["height"].float().cpu().numpy(),
        "height_logvar": out["height_logvar"].float().cpu().numpy(),
    }
