"""CityNet: one encoder-decoder predicting land-cover classes, height above ground and its uncertainty."""

from typing import Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reconstruction.errors import ConfigError, InputError
from reconstruction.models.blocks import AttentionGate, MultiScaleResidualFusion, ResidualBlock

#: How encoder features reach the decoder (see :class:`CityNet`).
SkipMode = Literal["attention", "concat", "none"]


class LandCoverClass(NamedTuple):
    """One output class of the segmentation head."""

    channel: int
    name: str
    asprs: int


#: Output channels of ``logits``, in order, with their ASPRS LAS class codes.
CLASSES: tuple[LandCoverClass, ...] = (
    LandCoverClass(0, "ground", 2),
    LandCoverClass(1, "road", 11),
    LandCoverClass(2, "building", 6),
    LandCoverClass(3, "tree", 5),
    LandCoverClass(4, "low_vegetation", 3),
    LandCoverClass(5, "water", 9),
)


class _Up(nn.Module):
    """Bilinear x2 upsampling, then 1x1 conv-BN-ReLU to the skip's width: ``(B, C, H, W) -> (B, C', 2H, 2W)``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.project = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Upsample ``x`` by two and project its channels."""
        return self.project(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False))


class _PassThrough(nn.Module):
    """Stands in for an attention gate in the plain U-Net ablation: returns the skip unchanged."""

    def __init__(self, *_: int) -> None:
        super().__init__()

    def forward(self, skip: Tensor, _gating: Tensor) -> Tensor:
        """Return ``skip``."""
        return skip


def _head(in_channels: int, out_channels: int) -> nn.Sequential:
    """Per-task 1x1 conv-BN-ReLU, then a 1x1 convolution with bias: cheap at full resolution."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 1, bias=False),
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1),
    )


class CityNet(nn.Module):
    """Multi-task U-Net for orthophotos: land-cover logits, height above ground and its log-variance.

    * Encoder (shared): a full-resolution residual stem, then ``depth`` stride-2 residual stages
      (improved U-Net: ResNet blocks in the encoder). Stage ``i`` has ``width * 2**min(i, 3)``
      channels, so widths stop doubling after three stages and the default has 3.75 M
      parameters.
    * Bridge: one multi-scale residual fusion block at 1 / ``2**depth`` resolution (MRFED).
    * Decoder: per stage, bilinear x2 upsampling, an additive attention gate on the encoder skip
      (Attention U-Net), concatenation of skip and upsampled features, and a multi-scale residual
      fusion block (MRFED decode block).
    * Heads on the full-resolution decoder output: class logits; height in metres through softplus
      (never negative); the log-variance ``s = log sigma^2`` (m^2) of the height, for a heteroscedastic
      (aleatoric) loss such as the Gaussian ``0.5 * exp(-s) * (h - h_hat)**2 + 0.5 * s`` (Kendall &
      Gal 2017). A Laplace (L1) loss must keep ``s`` a log-variance: ``s = log(2 b^2)``.

    Inputs are reflectances scaled to about [0, 1]: 3 channels (R, G, B), 4 (R, G, B, NIR) or 5
    (R, G, B, NIR, NIR-available flag; see ``reconstruction.training.bands``). ``H``
    and ``W`` must be multiples of ``size_multiple = 2**depth``; padding larger images to that is the
    caller's job (see :func:`reconstruction.training.tiling.predict_tiled`). The network is fully
    convolutional: in eval mode a pixel's outputs depend only on its neighbourhood.

    Shapes:
        ``(B, in_channels, H, W)`` -> ``{"logits": (B, n_classes, H, W), "height": (B, 1, H, W),
        "height_logvar": (B, 1, H, W)}``.
    """

    #: Channels of the class logits when ``n_classes`` is left at its default.
    classes = CLASSES

    def __init__(
        self,
        in_channels: int = 3,
        n_classes: int = len(CLASSES),
        width: int = 32,
        depth: int = 4,
        skips: SkipMode = "attention",
    ) -> None:
        """Create the network (random weights; loading checkpoints is the caller's job).

        Args:
            in_channels: 3 (RGB), 4 (RGB + NIR) or 5 (RGB + NIR + flag); any positive count is accepted.
            n_classes: channels of ``logits``; the default matches :data:`CLASSES`.
            width: channels of the full-resolution stage; a positive multiple of 4.
            depth: number of stride-2 stages, 1 to 6.
            skips: how encoder features reach the decoder: ``"attention"`` (gated, the default),
                ``"concat"`` (plain U-Net concatenation) or ``"none"`` (an encoder-decoder without
                skips); the last two exist for the ablation baselines of the MRFED paper.

        Raises:
            ConfigError: an argument is out of range.
        """
        super().__init__()
        if skips not in get_args(SkipMode):
            raise ConfigError(f"CityNet skips must be one of {get_args(SkipMode)}, got {skips!r}")
        if in_channels < 1 or n_classes < 1 or width < 4 or width % 4 or not 1 <= depth <= 6:
            raise ConfigError(
                f"CityNet needs in_channels >= 1, n_classes >= 1, width a positive multiple of 4 and depth in 1..6; "
                f"got in_channels={in_channels}, n_classes={n_classes}, width={width}, depth={depth}"
            )
        self.in_channels, self.n_classes, self.width, self.depth = in_channels, n_classes, width, depth
        self.skips = skips
        self.size_multiple = 2**depth
        widths = [width * 2 ** min(i, 3) for i in range(depth + 1)]
        self.stem = ResidualBlock(in_channels, widths[0])
        self.encoder = nn.ModuleList(ResidualBlock(widths[i], widths[i + 1], stride=2) for i in range(depth))
        self.bridge = MultiScaleResidualFusion(widths[-1], widths[-1])
        levels = range(depth - 1, -1, -1)
        self.up = nn.ModuleList(_Up(widths[i + 1], widths[i]) for i in levels)
        gate = AttentionGate if skips == "attention" else _PassThrough
        self.gates = nn.ModuleList(gate(widths[i], widths[i]) for i in levels)
        fused = 1 if skips == "none" else 2
        self.decoder = nn.ModuleList(MultiScaleResidualFusion(fused * widths[i], widths[i]) for i in levels)
        self.segmentation_head = _head(widths[0], n_classes)
        self.height_head = _head(widths[0], 2)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Predict classes, heights and height uncertainty for every pixel.

        Args:
            x: ``(B, in_channels, H, W)`` image, ``H`` and ``W`` multiples of ``size_multiple``.

        Returns:
            ``"logits"``: ``(B, n_classes, H, W)`` unnormalised class scores (softmax over dim 1);
            ``"height"``: ``(B, 1, H, W)`` height above ground in metres, >= 0;
            ``"height_logvar"``: ``(B, 1, H, W)`` log of the height variance (m^2).

        Raises:
            InputError: wrong channel count, or a side that is not a multiple of ``size_multiple``.
        """
        m = self.size_multiple
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-2] % m or x.shape[-1] % m:
            raise InputError(
                f"CityNet expects (B, {self.in_channels}, H, W) with H and W multiples of {m}; "
                f"got {tuple(x.shape)}: pad the image (predict_tiled does) or change in_channels"
            )
        skips = [self.stem(x)]
        for stage in self.encoder:
            skips.append(stage(skips[-1]))
        y = self.bridge(skips.pop())
        for up, gate, fuse in zip(self.up, self.gates, self.decoder, strict=True):
            y = up(y)
            skip = skips.pop()
            y = fuse(y if self.skips == "none" else torch.cat([gate(skip, y), y], dim=1))
        regression = self.height_head(y)
        return {
            "logits": self.segmentation_head(y),
            "height": F.softplus(regression[:, :1]),
            "height_logvar": regression[:, 1:],
        }
