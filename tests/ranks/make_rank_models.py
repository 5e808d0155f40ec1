#!/usr/bin/env python3
"""Export the rank-2..5 test models from torch to ONNX (needs torch: ``pip install torch==2.13.0``).

The exported files are committed next to this script (models/, a few kB each) so the tests run
without torch. Weights are random (seeded): the tests check layouts and bit-exactness, and the
agreement with float, not a task.

    python tests/ranks/make_rank_models.py
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger("make_rank_models")
MODELS = Path(__file__).resolve().parent / "models"


class Video(nn.Module):
    """[1, T, C, H, W] clip -> frames stacked on channels [1, T*C, H, W] -> conv -> pool -> logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = clip.shape
        x = torch.relu(self.conv(clip.reshape(n, t * c, h, w)))
        return self.fc(x.mean(dim=(2, 3)))


class Volume(nn.Module):
    """[1, C, D, H, W] volume -> permute depth ahead of channels -> [1, D*C, H, W] -> conv -> logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 6, 3, padding=1)
        self.fc = nn.Linear(6, 3)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        n, c, d, h, w = volume.shape
        x = volume.permute(0, 2, 1, 3, 4).reshape(n, d * c, h, w)
        x = torch.relu(self.conv(x))
        return self.fc(x.mean(dim=(2, 3)))


class Gate5d(nn.Module):
    """Elementwise on a 5-D input: sigmoid gate, residual add, scale, then reshape to 4-D and conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(6, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = (torch.sigmoid(x) * x + x) * 0.5
        n, a, b, h, w = y.shape
        return self.conv(y.reshape(n, a * b, h, w))


class YoloHead(nn.Module):
    """YOLO-style head: conv [N, A*K, H, W] -> [N, A, K, H, W] -> permute to [N, A, H, W, K] ->
    sigmoid; outputs the 5-D grid and the flat [N, A*H*W, K] predictions."""

    def __init__(self, anchors: int = 3, outputs: int = 6) -> None:
        super().__init__()
        self.anchors, self.outputs = anchors, outputs
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.head = nn.Conv2d(8, anchors * outputs, 1)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.head(torch.relu(self.stem(image)))
        n, _, h, w = x.shape
        grid = torch.sigmoid(x.reshape(n, self.anchors, self.outputs, h, w).permute(0, 1, 3, 4, 2))
        return grid, grid.reshape(n, self.anchors * h * w, self.outputs)


class YoloDecode(nn.Module):
    """The YOLO head decoded in the model: 5-D predictions [N, A, H, W, K] cut on the last axis into
    centre, size and confidence; sigmoid / exp and constant grid offsets and anchor sizes, broadcast."""

    def __init__(self, anchors: int = 3, outputs: int = 6, size: int = 4) -> None:
        super().__init__()
        self.anchors, self.outputs = anchors, outputs
        self.head = nn.Conv2d(3, anchors * outputs, 3, stride=2, padding=1)
        ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        self.register_buffer("grid", torch.stack([xs, ys], -1).reshape(1, 1, size, size, 2).float())
        self.register_buffer("anchor", torch.tensor([[1.0, 1.5], [2.0, 1.0], [0.5, 0.75]]).reshape(1, anchors, 1, 1, 2))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.head(image)
        n, _, h, w = x.shape
        p = x.reshape(n, self.anchors, self.outputs, h, w).permute(0, 1, 3, 4, 2)
        xy = (torch.sigmoid(p[..., 0:2]) * 2.0 - 0.5 + self.grid) * 2.0
        wh = torch.exp(p[..., 2:4] * 0.5) * self.anchor
        return xy, wh, torch.sigmoid(p[..., 4:])


class TwoRanks(nn.Module):
    """Two inputs of different ranks: a 5-D clip [1, T, C, H, W] and a 2-D feature vector [1, F]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, padding=1)
        self.meta = nn.Linear(5, 6)
        self.fc = nn.Linear(6, 3)

    def forward(self, clip: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = clip.shape
        x = torch.relu(self.conv(clip.reshape(n, t * c, h, w))).mean(dim=(2, 3))
        return self.fc(torch.relu(x + self.meta(meta)))


class Pick(nn.Module):
    """Gather with a scalar index: channel 0 of a feature map [N, H, W] and step 0 of a sequence [N, F]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, image: torch.Tensor, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.sigmoid(self.conv(image)[:, 0])
        return mask, torch.tanh(seq[:, 0])


# name -> (module, {input name: per-sample shape}, output names, torch seed)
SPECS = {
    "video": (Video, {"clip": (3, 2, 8, 8)}, ["logits"], 3),
    "volume": (Volume, {"volume": (2, 4, 6, 6)}, ["logits"], 4),
    "gate5d": (Gate5d, {"x": (2, 3, 4, 4)}, ["y"], 0),
    "yolo_head5d": (YoloHead, {"image": (3, 8, 8)}, ["grid", "boxes"], 5),
    "yolo_decode5d": (YoloDecode, {"image": (3, 8, 8)}, ["xy", "wh", "conf"], 6),
    "two_ranks": (TwoRanks, {"clip": (2, 2, 6, 6), "meta": (5,)}, ["logits"], 2),
    "pick": (Pick, {"image": (3, 5, 5), "seq": (4, 6)}, ["mask", "first"], 1),
}


def export(name: str) -> Path:
    module_type, inputs, outputs, seed = SPECS[name]
    torch.manual_seed(seed)
    model = module_type().eval()
    args = tuple(torch.randn(1, *shape) for shape in inputs.values())
    path = MODELS / f"{name}.onnx"
    torch.onnx.export(
        model,
        args,
        str(path),
        input_names=list(inputs),
        output_names=outputs,
        opset_version=13,
        dynamo=False,
        dynamic_axes={n: {0: "batch"} for n in [*inputs, *outputs]},
    )
    return path


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    MODELS.mkdir(exist_ok=True)
    for name in SPECS:
        log.info("%s", export(name))


if __name__ == "__main__":
    main()
