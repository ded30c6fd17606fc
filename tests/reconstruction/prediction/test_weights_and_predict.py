"""Weights files round-trip, and predict_area resamples to the model's GSD and back."""

import numpy as np
import pytest
import torch

from reconstruction.errors import InputError
from reconstruction.models import CLASSES, ModelConfig
from reconstruction.prediction.predict import predict_area
from reconstruction.prediction.weights import WeightsInfo, export_weights, load_weights
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.training.checkpoints import load_checkpoint
from reconstruction.training.config import DataConfig, TrainConfig
from reconstruction.training.loop import train
from reconstruction.training.samples import samples_from_scene


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    scene = generate_scene(SceneConfig(size_m=32.0, gsd_m=0.5, ortho_gsd_m=0.25, seed=1))
    cfg = TrainConfig(
        model=ModelConfig(width=8, depth=2),
        data=DataConfig(train_scenes=(1,)),
        tile=32,
        batch_size=2,
        steps=2,
        device="cpu",
        run_dir=folder,
        val_every=10,
        checkpoint_every=10,
    )
    return train(cfg, samples_from_scene(scene), []).last_checkpoint


def test_exported_weights_are_half_size_and_predict_like_the_checkpoint(tiny_checkpoint, tmp_path):
    out = export_weights(tiny_checkpoint, tmp_path / "tiny.pt", "tiny", "0.1", 0.5, {"data": "one town"})
    model, info = load_weights(out)
    assert (info.name, info.version, info.gsd_m, info.card) == ("tiny", "0.1", 0.5, {"data": "one town"})
    assert info.classes == tuple(c.name for c in CLASSES) and info.label == "tiny 0.1"
    assert out.stat().st_size < tiny_checkpoint.stat().st_size / 2  # no optimiser, float16
    x = torch.rand(1, 3, 32, 32)
    reference = load_checkpoint(tiny_checkpoint)
    with torch.no_grad():
        a, b = model(x), reference(x)
    assert torch.allclose(a["height"], b["height"], atol=0.05)
    assert (a["logits"].argmax(1) == b["logits"].argmax(1)).float().mean() > 0.95


def test_unknown_names_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(InputError, match="no model named 'nope'.*citynet-v1"):
        load_weights("nope")
    bogus = tmp_path / "bogus.pt"
    torch.save({"hello": 1}, bogus)
    with pytest.raises(InputError, match="not an rs3d weights file"):
        load_weights(bogus)


def test_predict_area_returns_the_grid_shape_at_any_gsd(tiny_checkpoint):
    model = load_checkpoint(tiny_checkpoint)
    info = WeightsInfo("tiny", "0", ModelConfig(width=8, depth=2), 0.5, tuple(c.name for c in CLASSES))
    rgb = np.random.default_rng(0).integers(0, 255, (3, 50, 60), dtype=np.uint8)
    valid = np.ones((50, 60), bool)
    valid[:5] = False
    for resolution in (0.2, 0.5, 1.5):
        p = predict_area(model, info, rgb, resolution, valid, device="cpu")
        assert p.asprs.shape == p.height.shape == p.class_confidence.shape == p.height_std.shape == (50, 60)
        assert set(np.unique(p.asprs[5:])) <= {c.asprs for c in CLASSES}
        assert (p.asprs[:5] == 0).all() and np.isnan(p.height[:5]).all() and (p.class_confidence[:5] == 0).all()
        assert (p.height[5:] >= 0).all() and (p.class_confidence[5:] >= 1 / len(CLASSES) - 1e-6).all()
    with pytest.raises(InputError, match="0.1 to 2.0 m"):
        predict_area(model, info, rgb, 5.0)
