"""ResNet20 for CIFAR (He et al. 2016, Section 4.2): the DSNN paper's base architecture.

A 3x3 stem convolution, 3 stages of 3 basic blocks (two 3x3 convolutions with batch norm each) with
``width``, ``2·width`` and ``4·width`` channels (the 2nd and 3rd stage halve the resolution in their first
block), global average pooling and a linear classifier. Shortcuts are **option A** (parameter free): where
a block changes shape, the input is subsampled with stride 2 and the new channels are zero padding. At the
default width 16 with 3 input channels and 10 classes the network has 269,722 parameters (the paper's
"0.27 M"); its 20 weight layers (19 convolutions + the classifier) are what :func:`convert_to_shift` counts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BasicBlock", "ResNet20", "resnet20"]


class _PadShortcut(nn.Module):
    """Option A: subsample by ``stride`` and zero-pad ``extra`` channels on each side."""

    def __init__(self, stride: int, extra: int) -> None:
        super().__init__()
        self.stride, self.extra = stride, extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.extra, self.extra))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and ReLU, plus the (option A) shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int = 1, bn_momentum: float = 0.1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels, momentum=bn_momentum)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels, momentum=bn_momentum)
        if stride != 1 or in_channels != channels:
            extra = (channels - in_channels) // 2
            if (channels - in_channels) % 2:
                raise ValueError(f"option-A shortcuts need an even channel increase, got {in_channels} -> {channels}")
            self.shortcut: nn.Module = _PadShortcut(stride, extra)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv-bn-relu-conv-bn, plus the shortcut, then ReLU."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    """ResNet20 for small images; see :func:`resnet20`."""

    def __init__(
        self, *, num_classes: int, in_channels: int, width: int, blocks_per_stage: int, bn_momentum: float
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width, momentum=bn_momentum)
        stages = []
        channels = width
        for stage in range(3):
            out = width * 2**stage
            blocks = []
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(BasicBlock(channels, out, stride, bn_momentum))
                channels = out
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of images."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return value


def resnet20(
    num_classes: int = 10,
    in_channels: int = 3,
    *,
    width: int = 16,
    blocks_per_stage: int = 3,
    bn_momentum: float = 0.1,
    seed: int | None = None,
) -> ResNet20:
    """CIFAR ResNet20 (option-A shortcuts), scalable like the NB101 network of the builder.

    Args:
        num_classes: classifier outputs.
        in_channels: image channels (3 for CIFAR-10, 1 for digits).
        width: channels of the first stage (16 in the paper; an even number); stages have width, 2·width, 4·width.
        blocks_per_stage: basic blocks per stage (3 gives ResNet20: 6·3 + 2 = 20 weight layers).
        bn_momentum: PyTorch batch-norm momentum.
        seed: seed of the weight initialisation (the global torch RNG is left as it was); None uses it as is.

    Returns:
        The network (float layers; :func:`ecnas.dsnn.convert_to_shift` turns layers into shift layers).
    """
    _positive("num_classes", num_classes)
    _positive("in_channels", in_channels)
    _positive("blocks_per_stage", blocks_per_stage)
    if _positive("width", width) % 2:
        raise ValueError(f"`width` must be even (option-A shortcuts pad half the new channels each side), got {width}")
    if not 0 < float(bn_momentum) <= 1:
        raise ValueError(f"`bn_momentum` must lie in (0, 1], got {bn_momentum!r}")
    options = {
        "num_classes": num_classes,
        "in_channels": in_channels,
        "width": width,
        "blocks_per_stage": blocks_per_stage,
        "bn_momentum": float(bn_momentum),
    }
    if seed is None:
        return ResNet20(**options)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return ResNet20(**options)
