"""CityNet, its blocks and the model registry."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from reconstruction.errors import ConfigError, InputError
from reconstruction.models import (
    CLASSES,
    AttentionGate,
    CityNet,
    ModelConfig,
    MultiScaleResidualFusion,
    ResidualBlock,
    get_model,
    list_models,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("in_channels", [3, 4])
@pytest.mark.parametrize("size", [(64, 64), (96, 160)])
def test_outputs_have_the_input_size_and_heights_are_non_negative(in_channels, size):
    torch.manual_seed(0)
    model = CityNet(in_channels=in_channels, width=8, depth=4).eval()
    with torch.no_grad():
        out = model(torch.rand(2, in_channels, *size))
    assert set(out) == {"logits", "height", "height_logvar"}
    assert out["logits"].shape == (2, len(CLASSES), *size)
    assert out["height"].shape == out["height_logvar"].shape == (2, 1, *size)
    assert (out["height"] >= 0).all()
    assert all(torch.isfinite(v).all() for v in out.values())


def test_default_network_has_two_to_five_million_parameters():
    # Measured: 3,750,804 parameters for CityNet() (width 32, depth 4).
    assert 2_000_000 <= _n_parameters(CityNet()) <= 5_000_000


def test_class_table_matches_the_asprs_codes():
    assert [(c.channel, c.name, c.asprs) for c in CLASSES] == [
        (0, "ground", 2),
        (1, "road", 11),
        (2, "building", 6),
        (3, "tree", 5),
        (4, "low_vegetation", 3),
        (5, "water", 9),
    ]


def test_sides_must_be_multiples_of_two_to_the_depth():
    model = CityNet(width=8, depth=3)
    assert model.size_multiple == 8
    with pytest.raises(InputError, match="multiples of 8"):
        model(torch.rand(1, 3, 60, 64))
    with pytest.raises(InputError, match="pad"):
        model(torch.rand(1, 4, 64, 64))


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = CityNet(in_channels=4, width=8, depth=3)
    x = torch.rand(2, 4, 32, 32)
    out = model(x)
    target = torch.randint(0, len(CLASSES), (2, 32, 32))
    error = (out["height"] - 5 * x[:, :1]).abs()
    loss = (
        F.cross_entropy(out["logits"], target)
        + (0.5 * error**2 * torch.exp(-out["height_logvar"]) + 0.5 * out["height_logvar"]).mean()
    )
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_same_seed_gives_identical_outputs():
    x = torch.rand(1, 3, 64, 64)
    outputs = []
    for _ in range(2):
        torch.manual_seed(42)
        model = CityNet(width=8).eval()
        with torch.no_grad():
            outputs.append(model(x))
    assert all(torch.equal(outputs[0][k], outputs[1][k]) for k in outputs[0])
    torch.manual_seed(43)
    with torch.no_grad():
        other = CityNet(width=8).eval()(x)
    assert not torch.equal(outputs[0]["logits"], other["logits"])


def test_it_overfits_a_tiny_synthetic_batch():
    # Two 32 x 32 images of 4 x 4 colour blocks: the class is the dominant colour channel, the height 10 x red.
    torch.manual_seed(0)
    colours = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    x = F.interpolate(colours, scale_factor=4.0, mode="nearest")
    target, height = x.argmax(1) * 2, 10 * x[:, :1]
    model = CityNet(width=16, depth=3)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for _ in range(120):
        out = model(x)
        ce = F.cross_entropy(out["logits"], target)
        error = (out["height"] - height).abs()
        nll = (0.5 * error.detach() ** 2 * torch.exp(-out["height_logvar"]) + 0.5 * out["height_logvar"]).mean()
        optimiser.zero_grad()
        (ce + error.mean() + 0.1 * nll).backward()
        optimiser.step()
        history.append((ce.item(), error.mean().item()))
    (ce0, mae0), (ce1, mae1) = history[0], history[-1]
    assert ce1 < 0.2 * ce0
    assert mae1 < 0.2 * mae0


def test_residual_and_fusion_blocks_keep_or_halve_the_size():
    x = torch.rand(2, 8, 16, 12)
    assert ResidualBlock(8, 16)(x).shape == (2, 16, 16, 12)
    assert ResidualBlock(8, 16, stride=2)(x).shape == (2, 16, 8, 6)
    assert MultiScaleResidualFusion(8, 12)(x).shape == (2, 12, 16, 12)
    assert MultiScaleResidualFusion(8, 8, branches=2)(x).shape == (2, 8, 16, 12)
    with pytest.raises(ValueError, match="multiple of branches"):
        MultiScaleResidualFusion(8, 10)


@pytest.mark.parametrize("gate_size", [(16, 12), (8, 6)])
def test_attention_gate_keeps_the_skip_shape_with_weights_in_0_1(gate_size):
    torch.manual_seed(0)
    gate = AttentionGate(skip_channels=8, gate_channels=16)
    skip, signal = torch.randn(2, 8, 16, 12), torch.randn(2, 16, *gate_size)
    alpha = gate.coefficients(skip, signal)
    assert alpha.shape == (2, 1, 16, 12)
    assert alpha.min() >= 0 and alpha.max() <= 1
    gated = gate(skip, signal)
    assert gated.shape == skip.shape
    assert torch.allclose(gated, skip * alpha)


def test_registry_builds_citynet_and_names_the_valid_models():
    assert list_models() == ["citynet"]
    model = get_model("citynet", width=8, depth=2)
    assert isinstance(model, CityNet) and model.size_multiple == 4
    assert isinstance(ModelConfig(width=8, depth=2, in_channels=4).build(), CityNet)
    with pytest.raises(ConfigError, match="choose one of: citynet"):
        get_model("segformer")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown or missing argument"):
        get_model("citynet", colour=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "unet"),
        ("in_channels", 6),
        ("in_channels", 2),
        ("n_classes", 1),
        ("width", 30),
        ("width", 512),
        ("depth", 0),
    ],
)
def test_model_config_rejects_out_of_range_fields(field, value):
    with pytest.raises(ConfigError, match=f"model.{field}"):
        ModelConfig(**{field: value})


def test_citynet_rejects_bad_sizes():
    with pytest.raises(ConfigError, match="width"):
        CityNet(width=6)


@pytest.mark.parametrize(
    "statement",
    [
        "import reconstruction",
        "import reconstruction.models",
        "from reconstruction.models import ModelConfig, list_models; ModelConfig(width=16)",
        "import reconstruction.training",
    ],
)
def test_importing_the_package_does_not_import_torch(statement):
    code = f"import sys; {statement}; assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
