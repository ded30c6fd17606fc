"""Training loop: loss goes down, checkpoints resume to the same weights, evaluation and the CLI work."""

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from reconstruction.errors import Cancelled, ConfigError, InputError
from reconstruction.models import ModelConfig
from reconstruction.synthetic import SceneConfig, generate_scene
from reconstruction.training.checkpoints import load_checkpoint
from reconstruction.training.config import TrainConfig, load_train_config
from reconstruction.training.evaluation import evaluate
from reconstruction.training.loop import train
from reconstruction.training.samples import Sample, samples_from_scene

QUICK = Path(__file__).parents[3] / "reconstruction" / "training" / "configs" / "quick.toml"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scenes() -> list[Sample]:
    return [
        s
        for seed in (1, 2)
        for s in samples_from_scene(generate_scene(SceneConfig(size_m=40.0, gsd_m=0.5, ortho_gsd_m=0.25, seed=seed)))
    ]


def _cfg(run_dir: Path, **kw: object) -> TrainConfig:
    base = TrainConfig(
        model=ModelConfig(width=8, depth=2),
        tile=32,
        batch_size=2,
        steps=20,
        lr=5e-3,
        device="cpu",
        run_dir=run_dir,
        checkpoint_every=10,
        val_every=10,
        val_crops=4,
    )
    return replace(base, **kw)


def test_training_reduces_loss_and_writes_checkpoints(tmp_path, scenes):
    cfg = _cfg(tmp_path, val_every=1)
    result = train(cfg, scenes, scenes)
    val = [r["val_loss"] for r in result.history]
    assert len(result.history) == 20 and result.steps == 20
    assert val[-1] < val[0]
    assert result.last_checkpoint.is_file() and result.best_checkpoint is not None
    assert result.best_val_loss == pytest.approx(min(val))
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, 21))


def test_resume_gives_the_uninterrupted_result(tmp_path, scenes):
    full = _cfg(tmp_path / "full", steps=12, checkpoint_every=4, val_every=4)
    train(full, scenes[:1], scenes[1:])

    def stop_at_six(stage: str, fraction: float, message: str) -> None:
        if message.startswith("step 6/"):
            raise Cancelled("stop")

    part = replace(full, run_dir=tmp_path / "part")
    with pytest.raises(Cancelled):
        train(part, scenes[:1], scenes[1:], stop_at_six)
    resumed = train(replace(part, resume=True), scenes[:1], scenes[1:])
    assert [r["step"] for r in resumed.history] == list(range(5, 13))  # restarted after the step-4 checkpoint

    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "part" / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 12
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    logs = [(tmp_path / run / "log.jsonl").read_text().splitlines() for run in ("full", "part")]
    assert [json.loads(x)["train_total"] for x in logs[0]] == [json.loads(x)["train_total"] for x in logs[1]]


def test_resume_refuses_another_model(tmp_path, scenes):
    cfg = _cfg(tmp_path, steps=2, checkpoint_every=1)
    train(cfg, scenes[:1], [])
    with pytest.raises(ConfigError, match="run_dir"):
        train(replace(cfg, model=ModelConfig(width=12, depth=2), resume=True), scenes[:1], [])


def test_evaluate_returns_sane_metrics(tmp_path, scenes):
    result = train(_cfg(tmp_path, steps=4), scenes[:1], [])
    metrics = evaluate(load_checkpoint(result.last_checkpoint), scenes[1:], tile=64)
    assert set(metrics["iou"]) == {"ground", "road", "building", "tree", "low_vegetation", "water"}
    assert 0.0 <= metrics["miou"] <= 1.0 and 0.0 <= metrics["overall_accuracy"] <= 1.0
    assert 0.0 <= metrics["height_mae_m"] <= metrics["height_rmse_m"] < 100.0
    assert metrics["labelled_pixels"] == metrics["height_pixels"] == 80 * 80
    assert metrics["regions"] == ["synthetic-2"]


def test_config_checks():
    with pytest.raises(ConfigError, match="tile"):
        TrainConfig(model=ModelConfig(depth=3), tile=20)
    with pytest.raises(ConfigError, match="share seeds"):
        load_train_config_from_text("[data]\ntrain_scenes = [1]\nval_scenes = [1]\n")
    with pytest.raises(ConfigError, match="Unknown config key"):
        load_train_config_from_text("stepz = 3\n")
    cfg = load_train_config(QUICK)
    assert cfg.model.width == 8 and cfg.data.val_scenes == (100,)


def load_train_config_from_text(text: str) -> TrainConfig:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text)
        return load_train_config(path)


def test_cli_train_then_evaluate(tmp_path):
    run_dir = tmp_path / "run"
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "reconstruction", "train", "--config", str(QUICK), "--steps", "3"]
    cmd += ["--run-dir", str(run_dir), "--device", "cpu", "--no-progress", "--seed", "5"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert (run_dir / "last.pt").is_file() and len((run_dir / "log.jsonl").read_text().splitlines()) == 3
    assert torch.load(run_dir / "last.pt", weights_only=True)["seed"] == 5  # the override, not the config's 0
    again = [*cmd[:-1], "6", "--resume", "--steps", "4"]  # resuming with other crops would mix two runs
    done = subprocess.run(again, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode != 0 and "trained with seed 5, not 6" in done.stderr
    report = tmp_path / "eval.json"
    last = str(run_dir / "last.pt")
    cmd = [sys.executable, "-m", "reconstruction", "evaluate", "--model", last, "--baseline"]
    cmd += ["--synthetic", "7", "--scene-size", "40", "--report", str(report), "--device", "cpu"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "mIoU-3" in done.stdout and "colour baseline" in done.stdout
    metrics = json.loads(report.read_text())
    assert set(metrics) == {last, "colour baseline"}
    assert math.isfinite(metrics[last]["height_mae_m"]) and metrics[last]["regions"] == ["synthetic-7"]
    assert metrics["colour baseline"]["height_mae_m"] > 0  # flat ground under a town's buildings


def test_a_checkpoint_exports_to_weights_on_the_grid_it_learnt_on(tmp_path, scenes):
    from reconstruction.prediction.weights import load_weights, weights_from_checkpoint

    result = train(_cfg(tmp_path / "run-a", steps=2, checkpoint_every=2, val_every=2), scenes, scenes)
    out = weights_from_checkpoint(result.last_checkpoint)  # what `evaluate --real --model last.pt` scores
    model, info = load_weights(out)
    assert out == tmp_path / "run-a" / "last.weights.pt"
    assert (info.name, info.version, info.gsd_m, info.trust) == ("run-a", "step 2", 0.5, None)
    trained = load_checkpoint(result.last_checkpoint)
    for name, value in model.state_dict().items():  # the same network, stored in float16
        assert torch.allclose(value, trained.state_dict()[name], atol=1e-2)
    with pytest.raises(InputError, match="not an rs3d training checkpoint"):
        weights_from_checkpoint(out)
