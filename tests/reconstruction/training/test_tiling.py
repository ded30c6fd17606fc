"""Tiled inference matches the untiled network, covers odd sizes, reports progress and bounds memory."""

import numpy as np
import pytest
import torch

from reconstruction.errors import Cancelled, ConfigError, InputError
from reconstruction.models import CityNet
from reconstruction.training.tiling import _ramp, predict_tiled

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class CountingModel(torch.nn.Module):
    """Wraps a network and records the batch size of every call."""

    def __init__(self, inner: CityNet) -> None:
        super().__init__()
        self.inner = inner
        self.size_multiple = inner.size_multiple
        self.batches: list[int] = []
        self.shapes: set[tuple[int, ...]] = set()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.batches.append(x.shape[0])
        self.shapes.add(tuple(x.shape[1:]))
        return self.inner(x)


def _tiny_model() -> CityNet:
    torch.manual_seed(0)
    return CityNet(width=8, depth=2).eval()


def _image(bands: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(1).random((bands, height, width), dtype=np.float32)


def _untiled(model: CityNet, image: np.ndarray) -> dict[str, np.ndarray]:
    _, height, width = image.shape
    m = model.size_multiple
    padded = np.pad(image, ((0, 0), (0, -height % m), (0, -width % m)), mode="reflect")
    with torch.no_grad():
        out = model(torch.from_numpy(padded)[None])
    return {
        "probabilities": torch.softmax(out["logits"], 1)[0, :, :height, :width].numpy(),
        "height": out["height"][0, 0, :height, :width].numpy(),
        "height_std": torch.exp(0.5 * out["height_logvar"])[0, 0, :height, :width].numpy(),
    }


def test_tiled_equals_untiled_in_the_interior_for_an_odd_size():
    model, image = _tiny_model(), _image(3, 300, 217)
    progress = []
    tiled = predict_tiled(model, image, tile=128, overlap=64, batch_size=3, on_progress=lambda *a: progress.append(a))
    reference = _untiled(model, image)
    assert tiled["probabilities"].shape == (len(model.classes), 300, 217)
    assert tiled["height"].shape == tiled["height_std"].shape == (300, 217)
    assert all(v.dtype == np.float32 for v in tiled.values())
    interior = np.s_[..., 16:-16, 16:-16]  # the image border sees reflect padding here, zeros untiled
    for name in tiled:
        np.testing.assert_allclose(tiled[name][interior], reference[name][interior], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(tiled[name], reference[name], rtol=0.05, atol=0.01)
    np.testing.assert_allclose(tiled["probabilities"].sum(0), 1.0, atol=1e-5)
    assert [p[0] for p in progress] == ["inference"] * len(progress)
    fractions = [p[1] for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_windows_are_batched_and_never_more_than_batch_size_at_once():
    model = CountingModel(_tiny_model())
    out = predict_tiled(model, _image(3, 150, 120), tile=64, overlap=16, batch_size=4)
    # 150 + 16 rows in windows of 64 every 48: 4 rows of windows; 120 + 16 columns: 3 columns.
    assert sum(model.batches) == 12
    assert model.batches == [4, 4, 4]
    assert model.shapes == {(3, 64, 64)}
    assert out["probabilities"].shape == (6, 150, 120)
    assert model.training and not model.inner.training  # eval mode inside, each module's flag restored


def test_images_smaller_than_a_tile_get_one_window_rounded_to_the_size_multiple():
    model = CountingModel(_tiny_model())
    out = predict_tiled(model, _image(3, 20, 37), tile=256, overlap=64)
    assert model.batches == [1] and model.shapes == {(3, 84, 104)}  # 20 + 64 -> 84; 37 + 64 -> 101 -> 104
    assert out["height"].shape == (20, 37) and np.isfinite(out["height"]).all()


def test_training_flag_is_restored_and_results_are_deterministic():
    model = _tiny_model().train()
    image = _image(3, 70, 70)
    first = predict_tiled(model, image, tile=64, overlap=32)
    assert model.training
    second = predict_tiled(model, image, tile=64, overlap=32)
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_blending_ramps_sum_to_one_over_the_overlap():
    tile, overlap = 64, 32
    ramp = _ramp(tile, overlap)
    step = tile - overlap
    np.testing.assert_allclose(ramp[step:] + ramp[:overlap], 1.0, atol=1e-6)
    assert ramp[: overlap // 4].max() == 0.0 and ramp[tile // 2] == 1.0
    assert np.array_equal(_ramp(8, 0), np.ones(8, np.float32))


def test_a_progress_callback_can_cancel():
    def cancel(stage: str, fraction: float, message: str) -> None:
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        predict_tiled(_tiny_model(), _image(3, 100, 100), tile=64, overlap=16, batch_size=1, on_progress=cancel)


def test_bad_arguments_raise_domain_errors():
    model, image = _tiny_model(), _image(3, 32, 32)
    with pytest.raises(ConfigError, match="overlap"):
        predict_tiled(model, image, tile=64, overlap=64)
    with pytest.raises(ConfigError, match="batch_size"):
        predict_tiled(model, image, batch_size=0)
    with pytest.raises(InputError, match=r"\(C, H, W\)"):
        predict_tiled(model, image[0])
