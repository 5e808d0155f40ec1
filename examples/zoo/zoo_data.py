#!/usr/bin/env python3
"""Synthetic data of the model zoo: one deterministic numpy generator per task, no torch.

The same generators feed training (``train_zoo.py``, split ``train``) and the calibration and
evaluation files that ``make zoo-data`` writes next to each model (splits ``calib`` and ``eval``):

    examples/zoo/NAME/calib.npz   one float32 array per model input, keyed by the ONNX input name
    examples/zoo/NAME/eval.npz    the same, plus integer class labels ``label`` / ``label/<output>``
                                  for the classifier outputs (regressor outputs have no labels:
                                  ``fixpoint eval`` reports their SQNR against float)

Usage:
    python examples/zoo/zoo_data.py            # write missing or stale files of every model
    python examples/zoo/zoo_data.py --force    # rewrite all
    python examples/zoo/zoo_data.py --only yolo_head

A file is stale when it is older than this script. Every split draws from its own seeded stream
(``seed_for(name, split)``), so calibration never overlaps evaluation and reruns give identical files.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("zoo_data")

HERE = Path(__file__).resolve().parent
Arrays = dict[str, np.ndarray]
#: (inputs keyed by ONNX input name, targets keyed by output name: int64 classes or float32 regressions)
Batch = tuple[Arrays, Arrays]

SHAPE_CLASSES = ("disc", "square", "triangle", "ring", "stripes", "checker")
TONE_CLASSES = ("low_tone", "high_tone", "chirp_up", "chirp_down", "tremolo", "noise_burst")


def seed_for(name: str, split: str) -> int:
    """A fixed seed per (model, split): independent streams, stable across Python versions."""
    return zlib.crc32(f"fixpoint-zoo/{name}/{split}".encode())


def to_8bit_levels(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and round to 1/255 steps, like an 8-bit sensor."""
    return (np.round(np.clip(x, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def balanced_labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % classes).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# images: shapes and textures
# ---------------------------------------------------------------------------------------------


def _shape_field(labels: np.ndarray, u: np.ndarray, v: np.ndarray, r: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Signed distance-like field (> 0 inside) of each sample's shape class, in pixels."""
    rad = np.sqrt(u * u + v * v)
    box = np.maximum(np.abs(u), np.abs(v))
    fields = {
        0: r - rad,  # disc
        1: 0.85 * r - box,  # square
        2: 0.5 * r
        - np.maximum.reduce(
            [
                np.cos(a) * u + np.sin(a) * v  # triangle
                for a in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6)
            ]
        ),
        3: 0.22 * r - np.abs(rad - 0.8 * r),  # ring
        4: np.minimum(0.95 * r - box, np.sin(2 * np.pi * v / period) * 2.0),  # stripes
        5: np.minimum(0.95 * r - box, np.sin(2 * np.pi * u / period) * np.sin(2 * np.pi * v / period) * 3.0),  # checker
    }
    out = np.empty_like(u)
    for cls, sd in fields.items():
        m = labels == cls
        out[m] = sd[m]
    return out


def shape_geometry(n: int, size: int, rng: np.random.Generator) -> Arrays:
    """Random centre (cx, cy) and radius r of a shape, in pixels."""
    return {
        "cx": size / 2 + rng.uniform(-0.18, 0.18, n) * size,
        "cy": size / 2 + rng.uniform(-0.18, 0.18, n) * size,
        "r": rng.uniform(0.2, 0.32, n) * size,
    }


def render_shapes(
    labels: np.ndarray, size: int, channels: int, rng: np.random.Generator, geometry: Arrays | None = None
) -> np.ndarray:
    """[n, channels, size, size] images in [0, 1]: one soft-edged shape or texture patch per sample
    on a noisy background of another colour."""
    n = len(labels)
    geo = geometry if geometry is not None else shape_geometry(n, size, rng)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    px, py = xx[None] - geo["cx"][:, None, None], yy[None] - geo["cy"][:, None, None]
    th = rng.uniform(-0.4, 0.4, n)[:, None, None]
    u = np.cos(th) * px + np.sin(th) * py
    v = -np.sin(th) * px + np.cos(th) * py
    r = geo["r"][:, None, None]
    period = (rng.uniform(0.28, 0.4, n)[:, None, None] * r).astype(np.float32)
    soft = rng.uniform(0.4, 1.0, n)[:, None, None]
    alpha = np.clip(_shape_field(labels, u, v, r, period) / soft + 0.5, 0.0, 1.0)
    fg = rng.uniform(0.0, 1.0, (n, channels))
    bg = rng.uniform(0.0, 1.0, (n, channels))
    flip = np.abs(fg.mean(1) - bg.mean(1)) < 0.3  # keep some contrast
    fg[flip] = np.clip(1.0 - bg[flip] + rng.uniform(-0.1, 0.1, (flip.sum(), channels)), 0, 1)
    img = bg[:, :, None, None] * (1 - alpha[:, None]) + fg[:, :, None, None] * alpha[:, None]
    img += rng.normal(0, 1, (n, channels, size, size)) * rng.uniform(0.02, 0.08, (n, 1, 1, 1))
    return to_8bit_levels(img)


def shapes_task(
    size: int, channels: int = 3, input_name: str = "image", output: str = "logits"
) -> Callable[[int, np.random.Generator], Batch]:
    def make(n: int, rng: np.random.Generator) -> Batch:
        labels = balanced_labels(n, len(SHAPE_CLASSES), rng)
        return {input_name: render_shapes(labels, size, channels, rng)}, {output: labels}

    return make


def two_input_task(n: int, rng: np.random.Generator) -> Batch:
    """A grey shape (4 classes) and an 8-feature vector whose first half's sum decides a flag:
    class = shape + 4 * flag, so the label needs both inputs."""
    shape = balanced_labels(n, 4, rng)
    aux = rng.normal(0, 1, (n, 8)).astype(np.float32)
    flag = (aux[:, :4].sum(1) > 0).astype(np.int64)
    image = render_shapes(shape, 32, 1, rng)
    return {"image": image, "aux": np.round(aux * 64) / 64}, {"logits": shape + 4 * flag}


def two_output_task(n: int, rng: np.random.Generator) -> Batch:
    """One shape per image: its class and its box (cx, cy, r as fractions of the image)."""
    size = 32
    labels = balanced_labels(n, len(SHAPE_CLASSES), rng)
    geo = shape_geometry(n, size, rng)
    image = render_shapes(labels, size, 3, rng, geo)
    box = np.stack([geo["cx"], geo["cy"], geo["r"]], axis=1) / size
    return {"image": image}, {"class": labels, "box": box.astype(np.float32)}


MOTION_CLASSES = ("right", "left", "down", "up")
CLIP_FRAMES, CLIP_SIZE = 4, 24


def motion_task(n: int, rng: np.random.Generator) -> Batch:
    """A clip [N, T, 1, H, W] (frames, then a grey channel, as a video loader gives them) of a blob
    moving 2-3 pixels per frame on a noisy background; the class is its direction."""
    labels = balanced_labels(n, len(MOTION_CLASSES), rng)
    step = rng.uniform(2.0, 3.0, n)
    dx = np.select([labels == 0, labels == 1], [step, -step], 0.0)
    dy = np.select([labels == 2, labels == 3], [step, -step], 0.0)
    half = (CLIP_FRAMES - 1) * 3.0 / 2  # the middle of the path stays this far from the border + 4
    cx = rng.uniform(4.0 + half, CLIP_SIZE - 4.0 - half, n) - dx * (CLIP_FRAMES - 1) / 2
    cy = rng.uniform(4.0 + half, CLIP_SIZE - 4.0 - half, n) - dy * (CLIP_FRAMES - 1) / 2
    radius = rng.uniform(2.5, 4.0, n)
    v, u = np.mgrid[0:CLIP_SIZE, 0:CLIP_SIZE].astype(np.float32)
    frames = []
    for t in range(CLIP_FRAMES):
        d2 = (u[None] - (cx + dx * t)[:, None, None]) ** 2 + (v[None] - (cy + dy * t)[:, None, None]) ** 2
        blob = np.clip(radius[:, None, None] + 0.5 - np.sqrt(d2), 0.0, 1.0)
        frames.append(0.15 + 0.7 * blob + rng.normal(0, 0.05, blob.shape))
    clip = to_8bit_levels(np.stack(frames, axis=1)[:, :, None])
    return {"clip": clip}, {"logits": labels}


# ---------------------------------------------------------------------------------------------
# detection and segmentation
# ---------------------------------------------------------------------------------------------

DET_SIZE, DET_GRID = 64, 8


def detector_task(n: int, rng: np.random.Generator) -> Batch:
    """1-3 filled rectangles on a noisy background; target per grid cell (YOLO style, cell = 8 px):
    [objectness, x offset in cell, y offset in cell, width / image, height / image]."""
    size, grid = DET_SIZE, DET_GRID
    cell = size // grid
    img = rng.uniform(0.0, 0.4, (n, 3, 1, 1)) + rng.normal(0, 0.05, (n, 3, size, size))
    target = np.zeros((n, grid * grid, 5), np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    for k in range(3):
        present = (rng.uniform(size=n) < 0.75) if k else np.ones(n, bool)
        w, h = rng.uniform(8, 24, n), rng.uniform(8, 24, n)
        cx, cy = rng.uniform(w / 2, size - w / 2), rng.uniform(h / 2, size - h / 2)
        col = rng.uniform(0.55, 1.0, (n, 3))
        inside = (
            (np.abs(xx[None] - cx[:, None, None] + 0.5) <= w[:, None, None] / 2)
            & (np.abs(yy[None] - cy[:, None, None] + 0.5) <= h[:, None, None] / 2)
            & present[:, None, None]
        )
        img = np.where(inside[:, None], col[:, :, None, None], img)
        gx, gy = np.minimum((cx // cell).astype(int), grid - 1), np.minimum((cy // cell).astype(int), grid - 1)
        rows = np.flatnonzero(present)
        target[rows, gy[rows] * grid + gx[rows]] = np.stack(
            [np.ones(n), cx / cell - gx, cy / cell - gy, w / size, h / size], axis=1
        )[rows]
    return {"image": to_8bit_levels(img)}, {"detections": target}


def segmenter_task(n: int, rng: np.random.Generator, size: int = 48) -> Batch:
    """Grey images of 1-3 merged blobs (metaballs) over a gradient and noise; target the blob mask."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    field = np.zeros((n, size, size), np.float32)
    for k in range(3):
        present = (rng.uniform(size=n) < 0.7) if k else np.ones(n, bool)
        cx, cy = rng.uniform(8, size - 8, n), rng.uniform(8, size - 8, n)
        s = rng.uniform(4, 9, n)
        d2 = (xx[None] - cx[:, None, None]) ** 2 + (yy[None] - cy[:, None, None]) ** 2
        field += present[:, None, None] * np.exp(-d2 / (2 * s[:, None, None] ** 2))
    mask = (field > 0.5).astype(np.float32)
    grad = rng.uniform(-0.2, 0.2, (n, 1, 1)) * (xx[None] / size - 0.5)
    base = rng.uniform(0.1, 0.4, (n, 1, 1))
    fg = base + rng.uniform(0.3, 0.5, (n, 1, 1))
    img = base + grad + mask * (fg - base) + rng.normal(0, 0.06, (n, size, size))
    return {"image": to_8bit_levels(img[:, None])}, {"mask": mask[:, None]}


# ---------------------------------------------------------------------------------------------
# signals: tones and chirps, sinusoid windows
# ---------------------------------------------------------------------------------------------

AUDIO_RATE, AUDIO_LEN = 4000, 512


def audio_task(n: int, rng: np.random.Generator) -> Batch:
    """[n, 1, 512] waveforms at 4 kHz of six kinds (TONE_CLASSES) in noise, random level and phase."""
    labels = balanced_labels(n, len(TONE_CLASSES), rng)
    t = np.arange(AUDIO_LEN, dtype=np.float64)[None] / AUDIO_RATE
    dur = AUDIO_LEN / AUDIO_RATE
    f0 = np.where(labels == 1, rng.uniform(900, 1400, n), rng.uniform(150, 450, n))[:, None]
    f1 = rng.uniform(1000, 1500, n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    up = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * dur))
    down = 2 * np.pi * (f1 * t - (f1 - f0) * t * t / (2 * dur))
    tremolo = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(20, 40, n)[:, None] * t)
    burst = np.zeros((n, AUDIO_LEN))
    start = rng.integers(0, AUDIO_LEN // 2, n)
    idx = np.arange(AUDIO_LEN)[None]
    burst[(idx >= start[:, None]) & (idx < start[:, None] + AUDIO_LEN // 3)] = 1.0
    choices = [
        np.sin(2 * np.pi * f0 * t + phase),
        np.sin(2 * np.pi * f0 * t + phase),
        np.sin(up + phase),
        np.sin(down + phase),
        tremolo * np.sin(2 * np.pi * f0 * t + phase),
        burst * rng.normal(0, 1.2, (n, AUDIO_LEN)),
    ]
    wave = np.choose(labels[:, None], choices)
    wave = wave * rng.uniform(0.3, 1.0, (n, 1)) + rng.normal(0, 1, (n, AUDIO_LEN)) * rng.uniform(0.02, 0.15, (n, 1))
    wave = np.clip(wave, -1.0, 1.0)
    return {"audio": (np.round(wave * 127) / 127).astype(np.float32)[:, None]}, {"logits": labels}


# MFCC-like frames of spoken keywords: each keyword is a sequence of "phones", each phone a
# spectral envelope over the cepstral bands; two keywords may share phones in another order, so
# the class is in the order, not in the average frame (a recurrent net must keep state).
KWS_FRAMES, KWS_BANDS = 32, 10
KWS_CLASSES = ("ab", "ba", "abc", "cab", "aa", "silence")
_KWS_PHONES = {"a": (1.6, 0.2), "b": (5.5, 0.5), "c": (8.2, 0.9)}  # band centre, tilt


def _kws_phone(phone: str, bands: np.ndarray, jitter: float) -> np.ndarray:
    centre, tilt = _KWS_PHONES[phone]
    return 1.4 * np.exp(-0.5 * ((bands - centre - jitter) / 1.3) ** 2) - 0.3 + tilt * (bands / KWS_BANDS - 0.5)


def kws_task(n: int, rng: np.random.Generator) -> Batch:
    """[n, 32, 10] MFCC-like frames (batch, time, band) of six keywords (KWS_CLASSES) at a random
    position, speed and level, in noise; 'silence' is noise alone."""
    labels = balanced_labels(n, len(KWS_CLASSES), rng)
    bands = np.arange(KWS_BANDS, dtype=np.float64)
    frames = rng.normal(0, 1, (n, KWS_FRAMES, KWS_BANDS)) * rng.uniform(0.1, 0.3, (n, 1, 1))
    for k in range(n):
        word = KWS_CLASSES[labels[k]]
        if word == "silence":
            continue
        length = int(rng.integers(16, 27))
        start = int(rng.integers(0, KWS_FRAMES - length + 1))
        level = rng.uniform(0.6, 1.2)
        edges = np.linspace(0, length, len(word) + 1)
        for p, phone in enumerate(word):
            a, b = start + int(edges[p]), start + int(edges[p + 1])
            frames[k, a:b] += level * _kws_phone(phone, bands, rng.uniform(-0.5, 0.5))
    return {"mfcc": frames.astype(np.float32)}, {"logits": labels}


# 3-axis accelerometer windows of a machine: normal vibration, or one of four anomalies somewhere
# in the window (a recurrent net must notice a change in time, not a level)
SENSOR_STEPS, SENSOR_AXES = 48, 3
SENSOR_CLASSES = ("normal", "spike", "drift", "stuck", "chatter")


def sensor_task(n: int, rng: np.random.Generator) -> Batch:
    """[n, 48, 3] sensor windows (batch, time, axis): a noisy vibration of random frequency, phase
    and level per axis, with one anomaly kind (SENSOR_CLASSES) from a random step on."""
    labels = balanced_labels(n, len(SENSOR_CLASSES), rng)
    t = np.arange(SENSOR_STEPS, dtype=np.float64)[None, :, None]
    x = rng.uniform(0.4, 1.0, (n, 1, SENSOR_AXES)) * np.sin(
        rng.uniform(0.3, 0.7, (n, 1, 1)) * t + rng.uniform(0, 6.3, (n, 1, SENSOR_AXES))
    )
    x += rng.normal(0, 0.08, x.shape)
    start = rng.integers(8, SENSOR_STEPS - 12, n)
    after = t[0, :, 0][None] >= start[:, None]  # [n, T]
    axis = rng.integers(0, SENSOR_AXES, n)
    for k in range(n):
        kind, a, s0 = SENSOR_CLASSES[labels[k]], axis[k], start[k]
        if kind == "spike":
            x[k, s0 : s0 + 2, a] += rng.choice([-1, 1]) * rng.uniform(1.5, 2.5)
        elif kind == "drift":
            x[k, :, a] += after[k] * (t[0, :, 0] - s0) * rng.choice([-1, 1]) * rng.uniform(0.05, 0.09)
        elif kind == "stuck":
            x[k, s0:, :] = x[k, s0, :]
        elif kind == "chatter":
            x[k, s0 : s0 + 10, a] += rng.uniform(0.6, 1.0) * np.where(np.arange(min(10, SENSOR_STEPS - s0)) % 2, 1, -1)
    return {"sensor": x.astype(np.float32)}, {"logits": labels}


AE_LEN = 64


def autoencoder_task(n: int, rng: np.random.Generator) -> Batch:
    """[n, 64] windows of one or two sinusoids (random frequency, phase, level) with a little noise;
    the target is the clean window."""
    t = np.arange(AE_LEN)[None] / AE_LEN
    clean = np.zeros((n, AE_LEN))
    for k in range(2):
        amp = rng.uniform(0.3, 0.8, (n, 1)) * ((rng.uniform(size=(n, 1)) < 0.6) if k else 1.0)
        clean += amp * np.sin(2 * np.pi * rng.uniform(1, 6, (n, 1)) * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    clean = np.clip(clean, -1, 1)
    noisy = np.clip(clean + rng.normal(0, 0.03, clean.shape), -1, 1)
    return {"window": (np.round(noisy * 127) / 127).astype(np.float32)}, {"reconstruction": clean.astype(np.float32)}


# ---------------------------------------------------------------------------------------------
# the zoo's data table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZooData:
    """Data of one zoo model: its generator, file sizes and which outputs are classifiers."""

    make: Callable[[int, np.random.Generator], Batch]
    classifier_outputs: tuple[str, ...]  # get labels in eval.npz; the others are regressors
    n_calib: int = 128
    n_eval: int = 500


DATA: dict[str, ZooData] = {
    "mobilenetv2_035": ZooData(shapes_task(96), ("logits",), n_eval=400),
    "mobilenetv3_small": ZooData(shapes_task(64), ("logits",)),
    "efficientnet_lite": ZooData(shapes_task(64), ("logits",)),
    "resnet_silu": ZooData(shapes_task(32), ("logits",)),
    "yolo_head": ZooData(detector_task, (), n_eval=200),
    "unet": ZooData(segmenter_task, (), n_eval=200),
    "tcn_audio": ZooData(audio_task, ("logits",)),
    "autoencoder_tanh": ZooData(autoencoder_task, ()),
    "two_inputs": ZooData(two_input_task, ("logits",)),
    "two_outputs": ZooData(two_output_task, ("class",)),
    "video_motion": ZooData(motion_task, ("logits",)),
    "lstm_kws": ZooData(kws_task, ("logits",)),
    "gru_anomaly": ZooData(sensor_task, ("logits",)),
    "kw_transformer": ZooData(kws_task, ("logits",)),  # lstm_kws's task (own seeds: own samples)
}


#: One line per model for docs/zoo.md: the network and the task its data poses.
DESCRIPTIONS: dict[str, str] = {
    "mobilenetv2_035": "MobileNetV2 (standard block table) at width 0.35 on 96x96 RGB; 6 shape/texture classes.",
    "mobilenetv3_small": "MobileNetV3-Small at width 0.5 on 64x64 RGB: HardSwish, squeeze-excite with "
    "HardSigmoid; 6 shape/texture classes.",
    "efficientnet_lite": "EfficientNet-Lite style: MBConv 3x3/5x5, ReLU6, no squeeze-excite, 64x64 RGB; "
    "6 shape/texture classes.",
    "resnet_silu": "ResNet with SiLU (x * Sigmoid(x)) and projection shortcuts, 32x32 RGB; 6 shape/texture classes.",
    "yolo_head": "YOLO-style detector on 64x64 RGB: stride-16 features upsampled (Resize) and concatenated "
    "with stride-8 ones; per 8x8 cell Sigmoid(objectness, x, y, w, h), output (N, 64, 5); "
    "1-3 rectangles per image.",
    "unet": "UNet-style segmenter on 48x48 grey: ConvTranspose up one level, bilinear Resize up the other; "
    "per-pixel mask logits of 1-3 merged blobs.",
    "tcn_audio": "Conv1d TCN on raw (N, 1, 512) 4 kHz waveforms: strided stem, dilated residual blocks; "
    "6 classes of tones, chirps, tremolo and noise bursts.",
    "autoencoder_tanh": "Fully connected autoencoder 64-32-12-32-64 with Tanh; denoises windows of one or two "
    "sinusoids.",
    "two_inputs": "Two inputs: a 32x32 grey shape (4 classes) and an 8-feature vector whose first half's sum "
    "sets a flag; 8 classes = shape + 4 * flag.",
    "two_outputs": "Two outputs: class of the shape in a 32x32 RGB image (`class`, 6 classes) and its box "
    "(`box`: centre x, y and radius as fractions of the image).",
    "lstm_kws": "LSTM keyword spotter (hidden 32) on (N, 32, 10) MFCC-like frames, the last hidden state "
    "into a Gemm; 6 keywords that differ in the order of their phones (numpy-trained: "
    "train_recurrent.py).",
    "gru_anomaly": "GRU anomaly detector (hidden 24) on (N, 48, 3) accelerometer windows, the last hidden "
    "state into a Gemm; normal vibration or a spike, drift, stuck sensor or chatter from a random "
    "step on (numpy-trained: train_recurrent.py).",
    "kw_transformer": "Keyword transformer on lstm_kws's (N, 32, 10) MFCC-like frames: linear frame embedding "
    "plus learned positions, 2 pre-norm encoder blocks (d_model 32, 4 heads, MLP 64 with exact "
    "Gelu), LayerNorm, mean over time, a linear head; 6 keywords.",
    "video_motion": "A rank-5 input: a clip (N, 4, 1, 24, 24) of 4 grey frames, reshaped to frames-as-channels "
    "(N, 4, 24, 24) for 2-D convs; 4 classes, the direction a blob moves.",
}


def generate(name: str, split: str, n: int) -> Batch:
    """``n`` samples of model ``name``'s task from the ``split`` stream (train / calib / eval)."""
    return DATA[name].make(n, np.random.default_rng(seed_for(name, split)))


def file_arrays(name: str, split: str) -> Arrays:
    """What ``NAME/<split>.npz`` holds: inputs by name; for eval, labels of the classifier outputs
    (``label`` when the model has one output, else ``label/<output>``)."""
    spec = DATA[name]
    inputs, targets = generate(name, split, spec.n_calib if split == "calib" else spec.n_eval)
    arrays = dict(inputs)
    if split == "eval":
        single = len(targets) == 1
        for out in spec.classifier_outputs:
            arrays["label" if single else f"label/{out}"] = targets[out]
    return arrays


def write_files(names: list[str], force: bool = False, root: Path = HERE) -> list[Path]:
    """Write the calib/eval files of ``names`` that are missing or older than this script."""
    stamp = Path(__file__).stat().st_mtime
    written = []
    for name in names:
        for split in ("calib", "eval"):
            path = root / name / f"{split}.npz"
            if not force and path.is_file() and path.stat().st_mtime >= stamp:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}.npz")  # parallel test workers
            np.savez(tmp, **file_arrays(name, split))
            tmp.replace(path)
            written.append(path)
            log.info("wrote %s", path.relative_to(root.parent.parent) if root == HERE else path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(DATA), help="one model (repeatable)")
    parser.add_argument("--force", action="store_true", help="rewrite files that are up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="zoo-data: %(message)s")
    written = write_files(args.only or sorted(DATA), force=args.force)
    if not written:
        log.info("up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
