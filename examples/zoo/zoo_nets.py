"""The zoo's PyTorch networks (used by train_zoo.py only; CI never imports torch).

Every network takes and returns what its ONNX graph does: inputs and outputs named in
``NETS[name].inputs`` / ``.outputs``, static shapes apart from the batch. Flatten and reshape use
``torch.flatten`` / a constant ``-1`` batch so the export has no Shape/Gather chains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v: float, divisor: int = 8) -> int:
    """Channel count rounded to a multiple of 8, never below 90% of v (as MobileNet does)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def conv_bn(
    cin: int,
    cout: int,
    k: int = 3,
    stride: int = 1,
    groups: int = 1,
    act: nn.Module | None = None,
    dilation: int = 1,
    dims: int = 2,
) -> nn.Sequential:
    conv = nn.Conv2d if dims == 2 else nn.Conv1d
    bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    layers: list[nn.Module] = [
        conv(cin, cout, k, stride, dilation * (k - 1) // 2, dilation=dilation, groups=groups, bias=False),
        bn(cout),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------------------------------
# MobileNetV2 / EfficientNet-Lite: inverted residuals with ReLU6
# ---------------------------------------------------------------------------------------------


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int, k: int = 3) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn(cin, hidden, 1, act=nn.ReLU6()))
        layers += [conv_bn(hidden, hidden, k, stride, groups=hidden, act=nn.ReLU6()), conv_bn(hidden, cout, 1)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (Sandler et al. 2018), width multiplier 0.35, the standard block table."""

    TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, classes: int = 6, width: float = 0.35, last: int = 512) -> None:
        super().__init__()
        cin = make_divisible(32 * width)
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2, act=nn.ReLU6())]
        for t, c, n, s in self.TABLE:
            cout = make_divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn(cin, last, 1, act=nn.ReLU6()))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(image), 1)
        return self.classifier(torch.flatten(x, 1))


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite style: MBConv blocks (3x3 and 5x5 depthwise), ReLU6, no squeeze-excite."""

    TABLE = [(1, 3, 8, 1, 1), (6, 3, 16, 2, 2), (6, 5, 24, 2, 2), (6, 3, 40, 2, 2), (6, 5, 56, 1, 1)]

    def __init__(self, classes: int = 6) -> None:
        super().__init__()
        cin = 16
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2, act=nn.ReLU6())]
        for t, k, c, n, s in self.TABLE:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t, k))
                cin = c
        layers.append(conv_bn(cin, 256, 1, act=nn.ReLU6()))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(256, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(image), 1)
        return self.classifier(torch.flatten(x, 1))


# ---------------------------------------------------------------------------------------------
# MobileNetV3-Small: HardSwish, squeeze-excite with HardSigmoid
# ---------------------------------------------------------------------------------------------


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        squeeze = make_divisible(channels / 4)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))


class V3Block(nn.Module):
    def __init__(self, cin: int, k: int, hidden: int, cout: int, se: bool, hswish: bool, stride: int) -> None:
        super().__init__()
        act = nn.Hardswish if hswish else nn.ReLU
        layers: list[nn.Module] = []
        if hidden != cin:
            layers.append(conv_bn(cin, hidden, 1, act=act()))
        layers.append(conv_bn(hidden, hidden, k, stride, groups=hidden, act=act()))
        if se:
            layers.append(SqueezeExcite(hidden))
        layers.append(conv_bn(hidden, cout, 1))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV3Small(nn.Module):
    """MobileNetV3-Small (Howard et al. 2019), the standard block table at width 0.5."""

    TABLE = [
        (3, 16, 16, True, False, 2),
        (3, 72, 24, False, False, 2),
        (3, 88, 24, False, False, 1),
        (5, 96, 40, True, True, 2),
        (5, 240, 40, True, True, 1),
        (5, 240, 40, True, True, 1),
        (5, 120, 48, True, True, 1),
        (5, 144, 48, True, True, 1),
        (5, 288, 96, True, True, 2),
        (5, 576, 96, True, True, 1),
        (5, 576, 96, True, True, 1),
    ]

    def __init__(self, classes: int = 6, width: float = 0.5) -> None:
        super().__init__()
        cin = 16
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2, act=nn.Hardswish())]
        for k, exp, c, se, hs, s in self.TABLE:
            cout = make_divisible(c * width)
            layers.append(V3Block(cin, k, make_divisible(exp * width), cout, se, hs, s))
            cin = cout
        last = make_divisible(576 * width)
        layers.append(conv_bn(cin, last, 1, act=nn.Hardswish()))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(last, 256), nn.Hardswish(), nn.Linear(256, classes))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(image), 1)
        return self.classifier(torch.flatten(x, 1))


# ---------------------------------------------------------------------------------------------
# ResNet with SiLU, TCN, autoencoder
# ---------------------------------------------------------------------------------------------


class SiluBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, cout, 3, stride, act=nn.SiLU()), conv_bn(cout, cout, 3))
        self.short = nn.Identity() if stride == 1 and cin == cout else conv_bn(cin, cout, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.body(x) + self.short(x))


class ResNetSiLU(nn.Module):
    def __init__(self, classes: int = 6) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(3, 16, 3, act=nn.SiLU()), SiluBlock(16, 16, 1), SiluBlock(16, 32, 2), SiluBlock(32, 64, 2)
        )
        self.classifier = nn.Linear(64, classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(image), 1)
        return self.classifier(torch.flatten(x, 1))


class TemporalBlock(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(channels, channels, 3, act=nn.ReLU(), dilation=dilation, dims=1),
            conv_bn(channels, channels, 3, dilation=dilation, dims=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class TCN(nn.Module):
    """Conv1d audio net on raw (N, 1, 512) waveforms: strided stem, dilated residual blocks."""

    def __init__(self, classes: int = 6) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 16, 9, 4, act=nn.ReLU(), dims=1),
            conv_bn(16, 24, 5, 2, act=nn.ReLU(), dims=1),
            TemporalBlock(24, 1),
            TemporalBlock(24, 2),
            TemporalBlock(24, 4),
            conv_bn(24, 32, 3, 2, act=nn.ReLU(), dims=1),
        )
        self.classifier = nn.Linear(32, classes)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool1d(self.features(audio), 1)
        return self.classifier(torch.flatten(x, 1))


class AutoencoderTanh(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 12), nn.Tanh(), nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 64)
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return self.net(window)


# ---------------------------------------------------------------------------------------------
# detector, segmenter, several inputs / outputs
# ---------------------------------------------------------------------------------------------


def leaky(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return conv_bn(cin, cout, k, stride, act=nn.LeakyReLU(0.1))


class YoloHead(nn.Module):
    """Tiny YOLO-style detector: stride-16 features upsampled (Resize) and concatenated with the
    stride-8 ones, one 5-channel prediction per 8x8 cell, Sigmoid, then (N, 64 cells, 5): a 4-D
    Transpose to channels-last and a Reshape that merges the grid (the usual YOLO head export)."""

    def __init__(self) -> None:
        super().__init__()
        self.p3 = nn.Sequential(leaky(3, 16, 3, 2), leaky(16, 32, 3, 2), leaky(32, 48, 3, 2))
        self.p4 = nn.Sequential(leaky(48, 64, 3, 2), leaky(64, 32, 1))
        self.head = nn.Sequential(leaky(80, 64, 3), nn.Conv2d(64, 5, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        p3 = self.p3(image)
        up = F.interpolate(self.p4(p3), scale_factor=2.0, mode="nearest")
        y = torch.sigmoid(self.head(torch.cat([up, p3], 1)))
        return y.permute(0, 2, 3, 1).reshape(-1, 64, 5)


class UNet(nn.Module):
    """Two-level UNet on (N, 1, 48, 48): ConvTranspose up one level, bilinear Resize up the other."""

    def __init__(self) -> None:
        super().__init__()
        relu = nn.ReLU
        self.enc1 = conv_bn(1, 8, 3, act=relu())
        self.enc2 = conv_bn(8, 16, 3, act=relu())
        self.mid = conv_bn(16, 32, 3, act=relu())
        self.up2 = nn.ConvTranspose2d(32, 16, 2, 2)
        self.dec2 = conv_bn(32, 16, 3, act=relu())
        self.dec1 = conv_bn(24, 8, 3, act=relu())
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(image)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([F.relu(self.up2(m)), e2], 1))
        up = F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.out(self.dec1(torch.cat([up, e1], 1)))


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            conv_bn(1, 8, 3, 2, act=nn.ReLU()),
            conv_bn(8, 16, 3, 2, act=nn.ReLU()),
            conv_bn(16, 24, 3, 2, act=nn.ReLU()),
        )
        self.aux = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 8))

    def forward(self, image: torch.Tensor, aux: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(F.adaptive_avg_pool2d(self.conv(image), 1), 1)
        return self.head(torch.cat([x, self.aux(aux)], 1))


class TwoOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            conv_bn(3, 16, 3, 2, act=nn.ReLU()),
            conv_bn(16, 24, 3, 2, act=nn.ReLU()),
            conv_bn(24, 32, 3, 2, act=nn.ReLU()),
        )
        self.fc = nn.Sequential(nn.Linear(32 * 16, 48), nn.ReLU())
        self.cls = nn.Linear(48, 6)
        self.box = nn.Linear(48, 3)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.fc(torch.flatten(self.conv(image), 1))
        return self.cls(x), self.box(x)


class VideoMotion(nn.Module):
    """Clip [N, T, C, H, W] -> frames stacked on channels [N, T*C, H, W] -> 2-D convs -> 4 directions."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            conv_bn(4, 16, 3, 2, act=nn.ReLU()),
            conv_bn(16, 24, 3, 2, act=nn.ReLU()),
            conv_bn(24, 32, 3, 2, act=nn.ReLU()),
        )
        self.fc = nn.Linear(32, 4)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = self.conv(clip.reshape(-1, 4, 24, 24))  # constant dims: a static Reshape in the export
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------------------------------------
# keyword transformer: pre-norm encoder blocks on MFCC frames
# ---------------------------------------------------------------------------------------------


class SelfAttention(nn.Module):
    """Multi-head self-attention written out (no nn.MultiheadAttention) so the export is plain
    MatMul / Transpose / Softmax with constant reshapes: batch -1, every other dim a number."""

    def __init__(self, d: int, heads: int, steps: int) -> None:
        super().__init__()
        self.heads, self.dh, self.steps = heads, d // heads, steps
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, self.steps, self.heads, self.dh).transpose(1, 2)  # [N, heads, T, dh]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) * (self.dh**-0.5)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)  # [N, heads, T, dh]
        return self.out(ctx.transpose(1, 2).reshape(-1, self.steps, self.heads * self.dh))


class EncoderBlock(nn.Module):
    def __init__(self, d: int, heads: int, steps: int, mlp: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = SelfAttention(d, heads, steps)
        self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Linear(mlp, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class KwTransformer(nn.Module):
    """Keyword transformer on (N, 32, 10) MFCC-like frames: a linear frame embedding plus a learned
    position embedding, 2 pre-norm encoder blocks (d_model 32, 4 heads, MLP 64 with exact Gelu),
    LayerNorm, mean over time, a linear head; 6 keywords that differ in the order of their phones."""

    def __init__(
        self,
        steps: int = 32,
        bands: int = 10,
        d: int = 32,
        heads: int = 4,
        mlp: int = 64,
        blocks: int = 2,
        classes: int = 6,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(bands, d)
        self.pos = nn.Parameter(torch.randn(steps, d) * 0.1)
        self.blocks = nn.Sequential(*[EncoderBlock(d, heads, steps, mlp) for _ in range(blocks)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, mfcc: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.embed(mfcc) + self.pos)
        return self.head(self.norm(x).mean(dim=1))


@dataclass(frozen=True)
class Net:
    build: Callable[[], nn.Module]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    steps: int  # training steps of batch `batch`
    batch: int = 64
    lr: float = 3e-3


NETS: dict[str, Net] = {
    "mobilenetv2_035": Net(MobileNetV2, ("image",), ("logits",), 300, 48),
    "mobilenetv3_small": Net(MobileNetV3Small, ("image",), ("logits",), 300),
    "efficientnet_lite": Net(EfficientNetLite, ("image",), ("logits",), 300),
    "resnet_silu": Net(ResNetSiLU, ("image",), ("logits",), 300),
    "yolo_head": Net(YoloHead, ("image",), ("detections",), 400),
    "unet": Net(UNet, ("image",), ("mask",), 300, 32),
    "tcn_audio": Net(TCN, ("audio",), ("logits",), 300),
    "autoencoder_tanh": Net(AutoencoderTanh, ("window",), ("reconstruction",), 1500, 128),
    "two_inputs": Net(TwoInputs, ("image", "aux"), ("logits",), 500),
    "two_outputs": Net(TwoOutputs, ("image",), ("class", "box"), 500),
    "video_motion": Net(VideoMotion, ("clip",), ("logits",), 400),
    "kw_transformer": Net(KwTransformer, ("mfcc",), ("logits",), 600, lr=2e-3),
}
