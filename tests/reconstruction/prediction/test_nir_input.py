"""RGB+NIR orthophotos reach the network: predict_area and the pipeline CLI feed a fourth band as NIR."""

import json
from pathlib import Path

import numpy as np
import pytest

import reconstruction.prediction.predict as predict_module
from reconstruction.cli import main
from reconstruction.errors import InputError
from reconstruction.models import ModelConfig
from reconstruction.prediction.predict import predict_area
from reconstruction.prediction.weights import export_weights, load_weights
from reconstruction.synthetic import SceneConfig, generate_scene, write_scene
from reconstruction.training.config import DataConfig, TrainConfig
from reconstruction.training.loop import train
from reconstruction.training.samples import samples_from_scene

TOWN = SceneConfig(size_m=48.0, seed=4, nir=True)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _weights(folder: Path, in_channels: int) -> Path:
    """A tiny network with ``in_channels`` inputs, trained 3 steps on a NIR town, exported as weights."""
    cfg = TrainConfig(
        model=ModelConfig(in_channels=in_channels, width=8, depth=2),
        data=DataConfig(nir=True),
        tile=32,
        batch_size=2,
        steps=3,
        device="cpu",
        num_threads=1,
        run_dir=folder / "run",
        val_every=10,
        checkpoint_every=10,
    )
    checkpoint = train(cfg, samples_from_scene(generate_scene(TOWN)), []).last_checkpoint
    return export_weights(checkpoint, folder / f"nir{in_channels}.pt", f"tiny-{in_channels}", "0.1", 0.5)


@pytest.fixture(scope="module")
def five_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _weights(tmp_path_factory.mktemp("five"), 5)


@pytest.fixture(scope="module")
def town_bands() -> tuple[np.ndarray, np.ndarray]:
    ortho = generate_scene(TOWN).ortho
    return ortho[:3], ortho[3]


def test_a_nir_model_uses_the_band_and_the_flag(five_channel: Path, town_bands: tuple) -> None:
    rgb, nir = town_bands
    model, info = load_weights(five_channel)
    assert info.model.in_channels == 5
    with_nir = predict_area(model, info, rgb, 0.25, device="cpu", nir=nir)
    without = predict_area(model, info, rgb, 0.25, device="cpu")
    assert with_nir.height.shape == rgb.shape[1:]
    assert not np.allclose(with_nir.height, without.height)
    # NIR = 0 with the flag set is not the same input as "no NIR" (flag 0).
    dark = predict_area(model, info, rgb, 0.25, device="cpu", nir=np.zeros_like(nir))
    assert not np.allclose(dark.height, without.height)
    with pytest.raises(InputError, match="does not match"):
        predict_area(model, info, rgb, 0.25, device="cpu", nir=nir[:-1])


def test_rgb_models_ignore_nir_and_nir_only_models_need_it(tmp_path: Path, town_bands: tuple) -> None:
    rgb, nir = town_bands
    model, info = load_weights("citynet-v1")
    assert info.model.in_channels == 3  # v1 stays loadable: its file says it reads RGB
    a = predict_area(model, info, rgb, 0.25, device="cpu", nir=nir)
    b = predict_area(model, info, rgb, 0.25, device="cpu")
    np.testing.assert_array_equal(a.asprs, b.asprs)
    model4, info4 = load_weights(_weights(tmp_path, 4))
    with pytest.raises(InputError, match="near-infrared"):
        predict_area(model4, info4, rgb, 0.25, device="cpu")


def test_the_pipeline_cli_feeds_the_fourth_band_as_nir(
    five_channel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_scene(generate_scene(TOWN), tmp_path / "town")
    seen: list[np.ndarray | None] = []
    original = predict_module.predict_area

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(kwargs.get("nir"))
        return original(*args, **kwargs)

    monkeypatch.setattr(predict_module, "predict_area", spy)
    out = tmp_path / "out"
    code = main(
        ["run", "--ortho", str(files["ortho"]), "--model", str(five_channel), "--out", str(out), "--progress", "none"]
    )
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["height_source"] == "predicted" and manifest["model"]["name"] == "tiny-5"
    assert len(seen) == 1 and seen[0] is not None
    ortho = generate_scene(TOWN).ortho
    # The model saw the NIR band (on the 0.5 m working grid: a 2 x 2 average of the 0.25 m band).
    expected = ortho[3].reshape(seen[0].shape[0], 2, seen[0].shape[1], 2).mean(axis=(1, 3))
    assert np.abs(seen[0].astype(float) - expected).max() <= 1.0
