"""RGB or RGB+NIR input: band layouts, NIR dropout in the crops, and training with a NIR band."""

from pathlib import Path

import numpy as np
import pytest
import torch

from reconstruction.errors import InputError
from reconstruction.models import ModelConfig
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.training.bands import network_input
from reconstruction.training.config import DataConfig, TrainConfig
from reconstruction.training.dataset import TileDataset
from reconstruction.training.loop import train
from reconstruction.training.samples import Sample, samples_from_scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def nir_town() -> Sample:
    (sample,) = samples_from_scene(generate_scene(SceneConfig(size_m=40.0, seed=2, nir=True, season="autumn")))
    return sample


def test_network_input_layouts() -> None:
    rgbn = np.random.default_rng(0).random((4, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(network_input(rgbn, 3), rgbn[:3])
    np.testing.assert_array_equal(network_input(rgbn, 4), rgbn)
    five = network_input(rgbn, 5)
    np.testing.assert_array_equal(five[:4], rgbn)
    assert (five[4] == 1).all()
    from_rgb = network_input(rgbn[:3], 5)
    np.testing.assert_array_equal(from_rgb[:3], rgbn[:3])
    assert (from_rgb[3:] == 0).all()
    with pytest.raises(InputError, match="near-infrared"):
        network_input(rgbn[:3], 4)


def test_crops_drop_nir_at_the_configured_rate_and_mix_rgb_samples(nir_town: Sample) -> None:
    rgb_only = Sample(nir_town.image[:3].copy(), nir_town.labels, nir_town.height, "rgb")
    data = TileDataset([nir_town, rgb_only], tile=32, length=400, seed=1, in_channels=5, nir_dropout=0.5)
    flags = np.array([float(data[i]["image"][4].mean()) for i in range(len(data))])
    nir = np.array([float(data[i]["image"][3].abs().sum()) for i in range(len(data))])
    assert set(np.unique(flags)) == {0.0, 1.0}
    assert (nir[flags == 0] == 0).all() and (nir[flags == 1] > 0).all()
    # Half the NIR crops (about half the crops come from the NIR town) lose their NIR: ~25 % flagged.
    assert 0.15 < flags.mean() < 0.35
    keep = TileDataset([nir_town], tile=32, length=50, seed=1, in_channels=5, nir_dropout=0.0)
    assert all(float(keep[i]["image"][4].min()) == 1.0 for i in range(50))
    plain = TileDataset([nir_town], tile=32, length=5, seed=1, augment=False, in_channels=5, nir_dropout=1.0)
    assert all(float(plain[i]["image"][4].min()) == 1.0 for i in range(5))  # no augmentation, no dropout
    # The same index gives the same crop (exact resume).
    np.testing.assert_array_equal(data[7]["image"].numpy(), data[7]["image"].numpy())


def test_training_with_nir_input_reduces_the_loss(tmp_path: Path, nir_town: Sample) -> None:
    cfg = TrainConfig(
        model=ModelConfig(in_channels=5, width=8, depth=2),
        data=DataConfig(nir=True, nir_dropout=0.3),
        tile=32,
        batch_size=4,
        steps=40,
        lr=5e-3,
        device="cpu",
        run_dir=tmp_path,
        checkpoint_every=40,
        val_every=40,
        val_crops=4,
    )
    result = train(cfg, [nir_town], [])
    losses = [r["train_total"] for r in result.history]
    assert np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8])
    # The weights read five input channels, and the NIR and flag channels were trained (they moved from
    # their initial values, which the run drew from the same seed).
    trained = torch.load(result.last_checkpoint, weights_only=True)["model"]["stem.body.0.0.weight"]
    torch.manual_seed(cfg.seed)
    initial = cfg.model.build().state_dict()["stem.body.0.0.weight"]
    assert trained.shape[1] == 5
    assert (trained[:, 3] - initial[:, 3]).abs().max() > 1e-3
    assert (trained[:, 4] - initial[:, 4]).abs().max() > 1e-3
