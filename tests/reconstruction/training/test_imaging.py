"""Imaging-realism augmentations: shapes kept, off is identity, seeded, and each change does what it says."""

from pathlib import Path

import numpy as np
import pytest
import torch

from reconstruction.errors import ConfigError
from reconstruction.prediction.predict import resample_image
from reconstruction.training.config import AugmentConfig, load_train_config
from reconstruction.training.dataset import TileDataset
from reconstruction.training.imaging import (
    GAIN_RANGE,
    TEMPERATURE_RANGE,
    colour_cast,
    imaging_realism,
    jpeg,
    resample_gsd,
)
from reconstruction.training.samples import Sample


def _image(bands: int = 3, size: int = 64) -> np.ndarray:
    """Smooth colours with sharp edges and fine texture, like a rendered town."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([0.3 + 0.4 * xx, 0.5 - 0.2 * yy, 0.4 + 0.1 * xx * yy, 0.6 - 0.3 * xx][:bands])
    base[:, 16:40, 20:44] = 0.85  # a roof
    base += rng.uniform(-0.08, 0.08, size=base.shape)
    return np.clip(base, 0.0, 1.0).astype(np.float32)


def _high_frequency(image: np.ndarray) -> float:
    """Mean energy of the horizontal and vertical pixel differences."""
    return float((np.diff(image, axis=-1) ** 2).mean() + (np.diff(image, axis=-2) ** 2).mean())


def _jpeg_noise(image: np.ndarray) -> float:
    """Energy of the difference between neighbours across 8-pixel block borders relative to within blocks."""
    d = np.abs(np.diff(image, axis=-1))
    return float(d[..., 7::8].mean() / d.mean())


@pytest.mark.parametrize("bands", [3, 4])
@pytest.mark.parametrize(
    "change",
    [
        lambda im, rng: resample_gsd(im, rng, 0.5, (0.6, 1.0)),
        lambda im, rng: jpeg(im, rng, (30, 90)),
        lambda im, rng: colour_cast(im, rng),
    ],
    ids=["resample", "jpeg", "colour"],
)
def test_shape_dtype_range_and_determinism(change, bands: int) -> None:
    image = _image(bands)
    before = image.copy()
    a = change(image, np.random.default_rng(3))
    b = change(image, np.random.default_rng(3))
    c = change(image, np.random.default_rng(4))
    assert a.shape == image.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(image, before)  # the input is not modified


def test_all_off_is_identity_and_draws_nothing() -> None:
    image, rng = _image(), np.random.default_rng(0)
    state = rng.bit_generator.state
    assert imaging_realism(image, rng, AugmentConfig()) is image
    assert rng.bit_generator.state == state


def test_resampling_at_the_grid_is_identity_and_coarser_removes_detail() -> None:
    image = _image()
    same = resample_gsd(image, np.random.default_rng(0), 0.5, (0.5, 0.5))
    np.testing.assert_allclose(same, image, atol=1e-6)
    coarse = resample_gsd(image, np.random.default_rng(0), 0.5, (1.0, 1.0))
    assert _high_frequency(coarse) < 0.5 * _high_frequency(image)
    assert abs(float(coarse.mean()) - float(image.mean())) < 0.01  # area averaging keeps the radiometry
    with pytest.raises(ValueError, match="coarser"):
        resample_gsd(image, np.random.default_rng(0), 0.5, (0.3, 1.0))


def test_resampling_is_the_upload_resampler() -> None:
    """Down by area, up bilinearly: the same calls an upload at 1 m takes to the 0.5 m grid."""
    image = _image()
    expected = resample_image(resample_image(torch.from_numpy(image)[None], (32, 32)), (64, 64))[0].numpy()
    np.testing.assert_allclose(resample_gsd(image, np.random.default_rng(0), 0.5, (1.0, 1.0)), expected, atol=1e-6)


def test_jpeg_adds_block_artefacts_and_low_quality_loses_more() -> None:
    image = _image()
    low, high = jpeg(image, np.random.default_rng(0), (30, 30)), jpeg(image, np.random.default_rng(0), (90, 90))
    err_low, err_high = float(np.abs(low - image).mean()), float(np.abs(high - image).mean())
    assert err_low > err_high > 0.0
    # Quantised DCT blocks: the high-frequency noise of the image is smoothed away within blocks.
    assert _high_frequency(low) < _high_frequency(image)
    assert _jpeg_noise(low) > _jpeg_noise(image)


def test_colour_cast_gains_stay_in_the_documented_range() -> None:
    image = _image()
    lo = GAIN_RANGE[0] * (1 + TEMPERATURE_RANGE[0])
    hi = GAIN_RANGE[1] * (1 + TEMPERATURE_RANGE[1])
    mid = np.full((3, 8, 8), 0.4, dtype=np.float32)  # far from clipping
    ratios = []
    for seed in range(50):
        out = colour_cast(mid, np.random.default_rng(seed), gamma_range=(1, 1), haze_range=(0, 0))
        ratios.append(out.mean(axis=(1, 2)) / 0.4)
    ratios_arr = np.array(ratios)
    assert ratios_arr.min() >= lo - 1e-5 and ratios_arr.max() <= hi + 1e-5
    assert ratios_arr.std(axis=0).min() > 0.03  # every band moves
    hazy = colour_cast(
        image,
        np.random.default_rng(0),
        gain_range=(1, 1),
        temperature_range=(0, 0),
        haze_range=(0.25, 0.25),
        gamma_range=(1, 1),
    )
    assert hazy[:3].std() < 0.8 * image[:3].std()  # haze lowers contrast
    four = _image(4)
    np.testing.assert_array_equal(colour_cast(four, np.random.default_rng(0))[3], four[3])  # NIR untouched


def test_config_defaults_off_and_checked(tmp_path: Path) -> None:
    assert not AugmentConfig().enabled
    with pytest.raises(ConfigError, match="jpeg_quality"):
        AugmentConfig(jpeg_quality=(0, 90))
    with pytest.raises(ConfigError, match="probability"):
        AugmentConfig(probability=1.5)
    with pytest.raises(ConfigError, match="resample"):
        AugmentConfig(resample=1)  # type: ignore[arg-type]
    path = tmp_path / "train.toml"
    path.write_text("[augment]\nresample = true\ngsd_range_m = [0.5, 0.8]\njpeg = true\n")
    cfg = load_train_config(path)
    assert cfg.augment.resample and cfg.augment.jpeg and not cfg.augment.colour
    assert cfg.augment.gsd_range_m == (0.5, 0.8)
    path.write_text("[augment]\nresample = true\ngsd_range_m = [0.15, 1.0]\n")
    with pytest.raises(ConfigError, match="finer than data.resolution"):
        load_train_config(path)
    path.write_text("[augment]\nlean = true\n")
    with pytest.raises(ConfigError, match="Unknown"):
        load_train_config(path)


def _sample() -> Sample:
    image = _image(size=80)
    labels = np.zeros((80, 80), dtype=np.int64)
    return Sample(image=image, labels=labels, height=np.zeros((80, 80), dtype=np.float32), region="test")


def test_dataset_off_matches_no_imaging_and_on_changes_only_the_image() -> None:
    samples = [_sample()]
    plain = TileDataset(samples, 32, 6, seed=2)
    off = TileDataset(samples, 32, 6, seed=2, imaging=AugmentConfig())
    on = TileDataset(
        samples, 32, 6, seed=2, imaging=AugmentConfig(resample=True, jpeg=True, colour=True, probability=1)
    )
    for i in range(6):
        a, b, c = plain[i], off[i], on[i]
        for key in ("image", "labels", "height"):
            assert torch.equal(a[key], b[key])
        assert torch.equal(a["labels"], c["labels"]) and torch.equal(a["height"], c["height"])
        assert c["image"].shape == a["image"].shape and c["image"].dtype == torch.float32
        assert not torch.equal(a["image"], c["image"])
        assert torch.equal(c["image"], on[i]["image"])  # seeded: the same item twice
