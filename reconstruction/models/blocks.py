"""Building blocks of the networks: residual, attention-gate and multi-scale residual fusion units."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    """Convolution (same padding, no bias) followed by batch normalisation."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels))


class ResidualBlock(nn.Module):
    """ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN plus a shortcut, then ReLU (He et al. 2016).

    The shortcut is the identity when shape is kept, else a 1x1 convolution with the block's stride
    followed by BN (a projection shortcut).

    Shapes:
        ``(B, in_channels, H, W) -> (B, out_channels, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        """Create the block.

        Args:
            in_channels: channels of the input.
            out_channels: channels of the output.
            stride: 1 keeps the resolution, 2 halves it (on the first convolution and the shortcut).
        """
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(in_channels, out_channels, 3, stride),
            nn.ReLU(inplace=True),
            _conv_bn(out_channels, out_channels, 3),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = _conv_bn(in_channels, out_channels, 1, stride)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: ``(B, in_channels, H, W)`` features.

        Returns:
            ``(B, out_channels, H / stride, W / stride)`` features.
        """
        return F.relu(self.body(x) + self.shortcut(x))


class AttentionGate(nn.Module):
    """Additive attention gate on a skip connection (Oktay et al. 2018, Attention U-Net).

    The skip features ``x`` and the decoder's gating signal ``g`` are projected to ``inter_channels``
    by 1x1 convolutions, added, passed through ReLU, a 1x1 convolution to one channel and a sigmoid:
    the result ``alpha`` in [0, 1] weighs every skip pixel. A gating signal at a coarser resolution is
    projected first and resized bilinearly to the skip's size.

    Shapes:
        ``x``: ``(B, skip_channels, H, W)``, ``g``: ``(B, gate_channels, H', W')`` ->
        ``(B, skip_channels, H, W)``; coefficients ``(B, 1, H, W)``.
    """

    def __init__(self, skip_channels: int, gate_channels: int, inter_channels: int | None = None) -> None:
        """Create the gate.

        Args:
            skip_channels: channels of the skip features (the gated tensor).
            gate_channels: channels of the decoder's gating signal.
            inter_channels: channels of the joint embedding; default ``max(1, skip_channels // 2)``.
        """
        super().__init__()
        inter = inter_channels or max(1, skip_channels // 2)
        self.theta_x = nn.Conv2d(skip_channels, inter, 1, bias=False)
        self.phi_g = nn.Conv2d(gate_channels, inter, 1, bias=True)
        self.psi = nn.Sequential(nn.Conv2d(inter, 1, 1, bias=True), nn.BatchNorm2d(1), nn.Sigmoid())

    def coefficients(self, x: Tensor, g: Tensor) -> Tensor:
        """Attention coefficients.

        Args:
            x: ``(B, skip_channels, H, W)`` skip features.
            g: ``(B, gate_channels, H', W')`` gating signal, ``H' <= H``, ``W' <= W``.

        Returns:
            ``(B, 1, H, W)`` weights in [0, 1].
        """
        gate = self.phi_g(g)
        if gate.shape[-2:] != x.shape[-2:]:
            gate = F.interpolate(gate, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.psi(F.relu(self.theta_x(x) + gate))

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        """Gate the skip features.

        Args:
            x: ``(B, skip_channels, H, W)`` skip features.
            g: ``(B, gate_channels, H', W')`` gating signal from the decoder.

        Returns:
            ``(B, skip_channels, H, W)``: ``x`` weighted pixel by pixel.
        """
        return x * self.coefficients(x, g)


class MultiScaleResidualFusion(nn.Module):
    """Multi-scale residual fusion block (MRFED encode/decode block, size-preserving variant).

    As in the MRFED paper's figure 3: a 1x1 convolution sets the width and the result is split into
    ``branches`` equal channel groups ``x_1 .. x_n``; ``y_1 = x_1`` and ``y_i`` is ``x_i`` through
    ``i - 1`` stacked 3x3 conv-BN-ReLU units, so the branches see receptive fields 1, 3, 5, 7, ...
    pixels. The ``y_i`` are concatenated, fused by a 1x1 convolution and added to the block's input
    (identity, or a 1x1 projection when the width changes): bottleneck-style residual fusion.

    Shapes:
        ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, branches: int = 4) -> None:
        """Create the block.

        Args:
            in_channels: channels of the input.
            out_channels: channels of the output; must be divisible by ``branches``.
            branches: number of parallel scales (the first is the identity).

        Raises:
            ValueError: ``out_channels`` is not a multiple of ``branches``.
        """
        super().__init__()
        if branches < 1 or out_channels % branches:
            raise ValueError(f"out_channels ({out_channels}) must be a positive multiple of branches ({branches})")
        group = out_channels // branches
        self.branches = branches
        self.reduce = nn.Sequential(_conv_bn(in_channels, out_channels, 1), nn.ReLU(inplace=True))
        self.scales = nn.ModuleList(
            nn.Sequential(*(nn.Sequential(_conv_bn(group, group, 3), nn.ReLU(inplace=True)) for _ in range(i)))
            for i in range(branches)
        )
        self.fuse = _conv_bn(out_channels, out_channels, 1)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels:
            self.shortcut = _conv_bn(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: ``(B, in_channels, H, W)`` features.

        Returns:
            ``(B, out_channels, H, W)`` features.
        """
        parts = torch.chunk(self.reduce(x), self.branches, dim=1)
        fused = self.fuse(torch.cat([scale(part) for scale, part in zip(self.scales, parts, strict=True)], dim=1))
        return F.relu(fused + self.shortcut(x))
