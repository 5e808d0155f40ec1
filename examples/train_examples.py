#!/usr/bin/env python3
"""Train the four Fixpoint example models and export them to ONNX.

Usage:
    python examples/train_examples.py            # all four models
    python examples/train_examples.py --only kws # one model

For every model NAME this writes ``examples/models/NAME/`` containing

    model.onnx  float model, opset 13, input "input", output "logits",
                dynamic batch dimension, BatchNormalization kept unfolded
    calib.npz   {"input": float32[500, ...]}  unlabeled calibration samples
    eval.npz    {"input": float32[1000, ...], "label": int64[1000]}
    meta.json   name, task, input_name, input_shape, num_classes,
                float_top1_eval (onnxruntime accuracy on eval.npz),
                description, ops

All data is generated locally (scikit-learn's bundled digits set and
procedural numpy generators); nothing is downloaded.  Everything is seeded,
runs on the CPU and finishes in a few minutes on two cores.
"""

import argparse
import functools
import inspect
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_ROOT = os.path.join(HERE, "models")
N_CALIB = 500
N_EVAL = 1000
OPSET = 13
NUM_THREADS = 2


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------


def to_8bit_levels(x):
    """Clip to [0, 1] and round to multiples of 1/255 (like an 8-bit sensor).

    Keeps the arrays float32 but makes the .npz files compress well."""
    return (np.round(np.clip(x, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def to_half_precision(x):
    """Round float32 values to float16 precision (stored back as float32)."""
    return x.astype(np.float16).astype(np.float32)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def hsv_to_rgb(h, s, v):
    """Vectorised HSV -> RGB; h, s, v are arrays of equal shape, h in turns."""
    h = np.mod(h, 1.0) * 6.0
    i = np.floor(h).astype(np.int64) % 6
    f = h - np.floor(h)
    p = v * (1.0 - s)
    q = v * (1.0 - s * f)
    t = v * (1.0 - s * (1.0 - f))
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-1)


def balanced_labels(n, num_classes, rng):
    y = np.arange(n) % num_classes
    return rng.permutation(y).astype(np.int64)


# ---------------------------------------------------------------------------
# dataset 1: scikit-learn digits (8x8) with augmentation
# ---------------------------------------------------------------------------


def load_digits_split(seed, eval_fraction=0.22):
    """Split the 1797 source images (stratified) into train / eval sources."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)
    labels = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    train_idx, eval_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(idx) * eval_fraction))
        eval_idx.extend(idx[:k])
        train_idx.extend(idx[k:])
    train_idx = np.sort(np.array(train_idx))
    eval_idx = np.sort(np.array(eval_idx))
    return (images[train_idx], labels[train_idx]), (images[eval_idx], labels[eval_idx])


def augment_digits(images, labels, n, rng, out_size=8):
    """Label-preserving augmentation of 8x8 digit images.

    Each source image is used (nearly) equally often.  Augmentations:
    optional bilinear upsampling to out_size, random shift of up to +-1 source
    pixel, intensity scaling, a small background offset and additive noise."""
    reps = int(math.ceil(n / len(images)))
    src = np.concatenate([rng.permutation(len(images)) for _ in range(reps)])[:n]
    x = images[src]
    if out_size != 8:
        x = resize_bilinear(x, out_size)
    s = out_size // 8  # one source pixel in output pixels
    padded = np.pad(x, ((0, 0), (s, s), (s, s)))
    dy = rng.integers(-s, s + 1, n)
    dx = rng.integers(-s, s + 1, n)
    out = np.empty_like(x)
    for oy in range(-s, s + 1):
        for ox in range(-s, s + 1):
            m = (dy == oy) & (dx == ox)
            out[m] = padded[m, s + oy : s + oy + out_size, s + ox : s + ox + out_size]
    out *= rng.uniform(0.7, 1.2, (n, 1, 1)).astype(np.float32)
    out += rng.uniform(0.0, 0.15, (n, 1, 1)).astype(np.float32)
    sigma = rng.uniform(0.03, 0.12, (n, 1, 1))
    out += (rng.standard_normal(out.shape) * sigma).astype(np.float32)
    return to_8bit_levels(out), labels[src]


def resize_bilinear(x, size):
    """Bilinear (align_corners=False) resize of [N, H, W] images to size x size."""
    h = x.shape[1]
    coords = (np.arange(size) + 0.5) * h / size - 0.5
    coords = np.clip(coords, 0, h - 1)
    i0 = np.floor(coords).astype(np.int64)
    i1 = np.minimum(i0 + 1, h - 1)
    w = (coords - i0).astype(np.float32)
    rows = x[:, i0, :] * (1 - w)[None, :, None] + x[:, i1, :] * w[None, :, None]
    return rows[:, :, i0] * (1 - w)[None, None, :] + rows[:, :, i1] * w[None, None, :]


def make_mlp_data(seed):
    rng = np.random.default_rng(seed)
    (tr_img, tr_lab), (ev_img, ev_lab) = load_digits_split(seed)
    x_train, y_train = augment_digits(tr_img, tr_lab, 30 * len(tr_img), rng)
    x_calib, _ = augment_digits(tr_img, tr_lab, N_CALIB, rng)
    x_eval, y_eval = augment_digits(ev_img, ev_lab, N_EVAL, rng)

    def flat(a):
        return a.reshape(len(a), 64)

    return flat(x_train), y_train, flat(x_calib), flat(x_eval), y_eval


# ---------------------------------------------------------------------------
# datasets 2 and 3: procedurally rendered shapes (grayscale / colour)
# ---------------------------------------------------------------------------


def shape_alpha(kind, n, rng, size=16, r_range=(3.5, 6.5), jitter=2.5):
    """Soft-edged alpha masks [n, size, size] in [0, 1] for one shape kind."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    c = size / 2.0
    cx = c + rng.uniform(-jitter, jitter, n)[:, None, None]
    cy = c + rng.uniform(-jitter, jitter, n)[:, None, None]
    r = rng.uniform(*r_range, n)[:, None, None]
    th = rng.uniform(-0.35, 0.35, n)[:, None, None]
    w = rng.uniform(0.6, 1.1, n)[:, None, None]  # stroke half-width
    soft = rng.uniform(0.3, 0.7, n)[:, None, None]  # edge softness (px)
    px, py = xx[None] - cx, yy[None] - cy
    if kind == "x_cross":
        th = th + np.pi / 4
    u = np.cos(th) * px + np.sin(th) * py
    v = -np.sin(th) * px + np.cos(th) * py
    rad = np.sqrt(u * u + v * v)
    box = np.maximum(np.abs(u), np.abs(v))
    if kind == "disc":
        sd = r - rad
    elif kind == "ring":
        sd = w - np.abs(rad - r)
    elif kind == "square":
        sd = 0.85 * r - box
    elif kind == "square_outline":
        sd = w - np.abs(box - 0.85 * r)
    elif kind == "triangle":
        ang = np.array([-np.pi / 2, np.pi / 6, 5 * np.pi / 6])  # flat top, apex down
        proj = [np.cos(a) * u + np.sin(a) * v for a in ang]
        sd = 0.55 * r - np.maximum(np.maximum(proj[0], proj[1]), proj[2])
    elif kind in ("plus", "x_cross"):
        bar1 = np.minimum(w - np.abs(v), r - np.abs(u))
        bar2 = np.minimum(w - np.abs(u), r - np.abs(v))
        sd = np.maximum(bar1, bar2)
    elif kind in ("h_stripes", "v_stripes"):
        period = rng.uniform(3.0, 4.5, n)[:, None, None]
        phase = rng.uniform(0, 2 * np.pi, n)[:, None, None]
        coord = v if kind == "h_stripes" else u
        patch = 0.9 * r - box
        stripes = np.sin(2 * np.pi * coord / period + phase) * 1.5
        sd = np.minimum(patch, stripes)
    elif kind == "two_dots":
        d = 0.7 * r
        rd = rng.uniform(1.3, 2.0, n)[:, None, None]
        d1 = np.sqrt((u - d) ** 2 + v**2)
        d2 = np.sqrt((u + d) ** 2 + v**2)
        sd = rd - np.minimum(d1, d2)
    else:
        raise ValueError(kind)
    return sigmoid(sd / soft)


def distractor_alpha(n, rng, size=16, prob=0.5):
    """Small random blobs / short strokes that are not part of the class."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    cx = rng.uniform(0, size, n)[:, None, None]
    cy = rng.uniform(0, size, n)[:, None, None]
    rr = rng.uniform(0.8, 1.6, n)[:, None, None]
    a = sigmoid((rr - np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)) / 0.4)
    a *= (rng.random(n) < prob)[:, None, None]
    return a


GRAY_SHAPES = [
    "disc",
    "ring",
    "square",
    "square_outline",
    "triangle",
    "plus",
    "x_cross",
    "h_stripes",
    "v_stripes",
    "two_dots",
]


def make_gray_shapes(n, rng):
    """10-class grayscale 16x16 shapes: [n, 1, 16, 16] in [0, 1], labels."""
    y = balanced_labels(n, len(GRAY_SHAPES), rng)
    alpha = np.zeros((n, 16, 16))
    for c, kind in enumerate(GRAY_SHAPES):
        m = y == c
        alpha[m] = shape_alpha(kind, int(m.sum()), rng)
    yy, xx = np.mgrid[0:16, 0:16] / 15.0 - 0.5
    bg = rng.uniform(0.0, 0.35, (n, 1, 1))
    bg = bg + rng.uniform(-0.15, 0.15, (n, 1, 1)) * xx + rng.uniform(-0.15, 0.15, (n, 1, 1)) * yy
    contrast = rng.uniform(0.25, 0.65, (n, 1, 1))
    img = bg + contrast * alpha
    img += rng.uniform(0.2, 0.6, (n, 1, 1)) * distractor_alpha(n, rng, prob=0.7)
    img += rng.uniform(0.2, 0.6, (n, 1, 1)) * distractor_alpha(n, rng, prob=0.3)
    sigma = rng.uniform(0.04, 0.16, (n, 1, 1))
    img += rng.standard_normal(img.shape) * sigma
    return to_8bit_levels(img[:, None]), y


COLOUR_SHAPES = ["disc", "square", "triangle", "ring", "plus"]
COLOUR_GROUPS = {"warm": (-0.07, 0.14), "cool": (0.36, 0.66)}


def make_colour_shapes(n, rng):
    """10-class colour 16x16 images: (shape in 5) x (warm / cool hue).

    Returns [n, 3, 16, 16] in [0, 1] and labels (label = 2 * shape + group)."""
    num_classes = len(COLOUR_SHAPES) * len(COLOUR_GROUPS)
    y = balanced_labels(n, num_classes, rng)
    shape_id, group_id = y // 2, y % 2
    alpha = np.zeros((n, 16, 16))
    for s, kind in enumerate(COLOUR_SHAPES):
        m = shape_id == s
        alpha[m] = shape_alpha(kind, int(m.sum()), rng, r_range=(3.0, 6.0))
    hue = np.where(group_id == 0, rng.uniform(*COLOUR_GROUPS["warm"], n), rng.uniform(*COLOUR_GROUPS["cool"], n))
    fg = hsv_to_rgb(hue, rng.uniform(0.5, 1.0, n), rng.uniform(0.55, 1.0, n))
    bg = hsv_to_rgb(rng.random(n), rng.uniform(0.0, 0.45, n), rng.uniform(0.1, 0.6, n))
    fg = fg[:, :, None, None]
    bg = bg[:, :, None, None]
    yy, xx = np.mgrid[0:16, 0:16] / 15.0 - 0.5
    grad = rng.uniform(-0.2, 0.2, (n, 1, 1, 1)) * xx + rng.uniform(-0.2, 0.2, (n, 1, 1, 1)) * yy
    a = alpha[:, None]
    img = bg * (1 - a) + fg * a + grad
    # a distractor blob in a random (any-hue) colour
    da = distractor_alpha(n, rng, prob=0.5)[:, None]
    dcol = hsv_to_rgb(rng.random(n), rng.uniform(0.3, 1.0, n), rng.uniform(0.4, 1.0, n))
    img = img * (1 - da) + dcol[:, :, None, None] * da
    sigma = rng.uniform(0.03, 0.11, (n, 1, 1, 1))
    img += rng.standard_normal(img.shape) * sigma
    return to_8bit_levels(img), y


# ---------------------------------------------------------------------------
# dataset 4: synthesized keyword audio + log-mel features
# ---------------------------------------------------------------------------

SR = 8000
CLIP_LEN = SR  # 1 second
N_FFT = 512
HOP = 250
N_FRAMES = 32
N_MELS = 20
KWS_CLASSES = ["_silence_", "up", "down", "beep_beep", "lo_hi", "aa", "ee", "oo", "ai", "sa"]
VOWELS = {"aa": (750.0, 1180.0, 2500.0), "ee": (290.0, 2250.0, 2950.0), "oo": (320.0, 850.0, 2300.0)}


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(n_mels=N_MELS, n_fft=N_FFT, sr=SR, fmin=60.0, fmax=None):
    fmax = fmax or sr / 2.0
    mel_pts = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz_pts = mel_to_hz(mel_pts)
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        lo, mid, hi = hz_pts[m], hz_pts[m + 1], hz_pts[m + 2]
        up = (bins - lo) / (mid - lo)
        down = (hi - bins) / (hi - mid)
        fb[m] = np.maximum(0.0, np.minimum(up, down))
    # slaney-style area normalisation so that wide high bands are not favoured
    fb *= (2.0 / (hz_pts[2:] - hz_pts[:-2]))[:, None]
    return fb


def log_mel(clips):
    """[N, 8000] waveforms -> [N, N_MELS, N_FRAMES] log-mel energies."""
    need = (N_FRAMES - 1) * HOP + N_FFT
    pad_total = need - clips.shape[1]
    left = pad_total // 2
    x = np.pad(clips, ((0, 0), (left, pad_total - left)))
    idx = np.arange(N_FRAMES)[:, None] * HOP + np.arange(N_FFT)[None, :]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    fb = mel_filterbank()
    out = np.empty((len(clips), N_MELS, N_FRAMES), dtype=np.float32)
    for start in range(0, len(clips), 512):
        frames = x[start : start + 512][:, idx] * window  # [b, T, N_FFT]
        power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2  # [b, T, bins]
        mel = power @ fb.T  # [b, T, mels]
        out[start : start + 512] = np.log(mel + 1e-6).transpose(0, 2, 1)
    return out


def envelope(length, ramp):
    e = np.ones(length)
    r = min(ramp, length // 2)
    if r > 0:
        w = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        e[:r] = w
        e[length - r :] = w[::-1]
    return e


def tone(freq_track, harmonics=(1.0, 0.3, 0.1)):
    """Sum of harmonics following a per-sample frequency track (Hz)."""
    phase = 2 * np.pi * np.cumsum(freq_track) / SR
    out = np.zeros_like(freq_track)
    for k, a in enumerate(harmonics, start=1):
        ok = (k * freq_track) < SR / 2 - 100
        out += a * np.sin(k * phase) * ok
    return out


def vowel(length, f0_start, f0_end, formants_start, formants_end, rng):
    """Additive formant synthesis: harmonic source shaped by moving formants."""
    f0 = np.linspace(f0_start, f0_end, length) * (
        1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 7) * np.arange(length) / SR)
    )
    phase = 2 * np.pi * np.cumsum(f0) / SR
    kmax = int((SR / 2 - 150) / max(f0_start, f0_end))
    # formant tracks at control rate (every 32 samples), repeated to audio rate
    n_ctl = length // 32 + 1
    t = np.linspace(0, 1, n_ctl)[:, None]
    fs = np.asarray(formants_start)[None]
    fe = np.asarray(formants_end)[None]
    forms = fs + (fe - fs) * t  # [n_ctl, 3]
    bw = np.array([90.0, 120.0, 170.0])
    gains = np.array([1.0, 0.6, 0.25])
    f0_ctl = f0[::32][:n_ctl]
    if len(f0_ctl) < n_ctl:
        f0_ctl = np.pad(f0_ctl, (0, n_ctl - len(f0_ctl)), mode="edge")
    k = np.arange(1, kmax + 1)[None, :]  # [1, K]
    hf = f0_ctl[:, None] * k  # [n_ctl, K]
    amp = 0.02 + sum(g * np.exp(-0.5 * ((hf - forms[:, i : i + 1]) / bw[i]) ** 2) for i, g in enumerate(gains))
    amp = np.repeat(amp, 32, axis=0)[:length]  # [length, K]
    return np.sum(amp * np.sin(phase[:, None] * k), axis=1)


def band_noise(length, lo, hi, rng):
    spec = np.fft.rfft(rng.standard_normal(length))
    f = np.fft.rfftfreq(length, 1.0 / SR)
    spec *= (f >= lo) & (f <= hi)
    out = np.fft.irfft(spec, length)
    return out / (np.std(out) + 1e-9)


def synth_keyword(label, rng):
    """One 1-second clip of the given class (background noise added later)."""
    name = KWS_CLASSES[label]
    clip = np.zeros(CLIP_LEN)
    if name == "_silence_":
        return clip
    stretch = rng.uniform(0.8, 1.25)
    dur = {
        "up": 0.4,
        "down": 0.4,
        "beep_beep": 0.34,
        "lo_hi": 0.34,
        "aa": 0.4,
        "ee": 0.4,
        "oo": 0.4,
        "ai": 0.45,
        "sa": 0.45,
    }[name]
    length = int(dur * stretch * SR)
    pitch = 2.0 ** rng.uniform(-0.3, 0.3)  # +-0.3 octave
    if name in ("up", "down"):
        f1, f2 = rng.uniform(300, 500) * pitch, rng.uniform(1400, 2000) * pitch
        if name == "down":
            f1, f2 = f2, f1
        sig = tone(np.geomspace(f1, f2, length))
    elif name == "beep_beep":
        f = rng.uniform(800, 1200) * pitch
        b = int(rng.uniform(0.09, 0.12) * stretch * SR)
        gap = int(rng.uniform(0.08, 0.14) * SR)
        length = 2 * b + gap
        sig = np.zeros(length)
        burst = tone(np.full(b, f)) * envelope(b, 80)
        sig[:b] = burst
        sig[b + gap :] = burst
    elif name == "lo_hi":
        f = rng.uniform(400, 600) * pitch
        half = length // 2
        sig = np.concatenate(
            [
                tone(np.full(half, f)) * envelope(half, 80),
                tone(np.full(length - half, f * rng.uniform(1.5, 1.8))) * envelope(length - half, 80),
            ]
        )
    elif name in VOWELS or name == "ai":
        f0a = rng.uniform(100, 220)
        f0b = f0a * 2.0 ** rng.uniform(-0.2, 0.2)
        fjit = 2.0 ** rng.uniform(-0.12, 0.12)
        if name == "ai":
            fs, fe = np.array(VOWELS["aa"]) * fjit, np.array(VOWELS["ee"]) * fjit
        else:
            fs = fe = np.array(VOWELS[name]) * fjit
        sig = vowel(length, f0a, f0b, fs, fe, rng)
    elif name == "sa":
        n_s = int(rng.uniform(0.13, 0.18) * stretch * SR)
        f0a = rng.uniform(100, 220)
        fjit = 2.0 ** rng.uniform(-0.12, 0.12)
        s_part = band_noise(n_s, 2500, 3800, rng) * 0.35 * envelope(n_s, 120)
        v_part = vowel(length - n_s, f0a, f0a * 0.9, np.array(VOWELS["aa"]) * fjit, np.array(VOWELS["aa"]) * fjit, rng)
        v_part = v_part / (np.std(v_part) + 1e-9) * envelope(length - n_s, 120)
        sig = np.concatenate([s_part, v_part])
    else:
        raise ValueError(name)
    sig = sig * envelope(len(sig), 160)
    sig = sig / (np.sqrt(np.mean(sig**2)) + 1e-9)
    length = len(sig)
    t0 = rng.integers(int(0.04 * SR), CLIP_LEN - length - int(0.04 * SR))
    clip[t0 : t0 + length] = sig * 0.1 * rng.uniform(0.3, 1.0)
    return clip


def background_noise(n, rng):
    """Coloured (white .. pink-ish) noise with log-uniform level."""
    white = rng.standard_normal((n, CLIP_LEN))
    spec = np.fft.rfft(white, axis=1)
    f = np.fft.rfftfreq(CLIP_LEN, 1.0 / SR)
    f[0] = f[1]
    tilt = rng.uniform(0.0, 1.0, (n, 1))
    spec *= (f[None, :] / 1000.0) ** (-tilt / 2)
    noise = np.fft.irfft(spec, CLIP_LEN, axis=1)
    noise /= noise.std(axis=1, keepdims=True)
    level = np.exp(rng.uniform(np.log(0.005), np.log(0.2), (n, 1)))
    return noise * level


def distractor_sound(rng):
    """A short non-keyword event (single tone blip or noise burst)."""
    length = int(rng.uniform(0.04, 0.12) * SR)
    if rng.random() < 0.5:
        sig = tone(np.full(length, rng.uniform(250, 3000)), harmonics=(1.0,))
    else:
        lo = rng.uniform(200, 2500)
        sig = band_noise(length, lo, lo * rng.uniform(1.3, 2.0), rng)
    sig = sig * envelope(length, 60)
    sig = sig / (np.sqrt(np.mean(sig**2)) + 1e-9) * 0.1 * rng.uniform(0.2, 0.8)
    clip = np.zeros(CLIP_LEN)
    t0 = rng.integers(0, CLIP_LEN - length)
    clip[t0 : t0 + length] = sig
    return clip


def make_kws_clips(n, rng):
    y = balanced_labels(n, len(KWS_CLASSES), rng)
    clips = np.stack([synth_keyword(int(label), rng) for label in y])
    for i in np.flatnonzero(rng.random(n) < 0.4):
        clips[i] += distractor_sound(rng)
    clips += background_noise(n, rng)
    return clips, y


def make_kws_data(seed):
    rng_train = np.random.default_rng(seed)
    rng_calib = np.random.default_rng(seed + 1)
    rng_eval = np.random.default_rng(seed + 2)
    feats = {}
    for split, n, rng in (("train", 8000, rng_train), ("calib", N_CALIB, rng_calib), ("eval", N_EVAL, rng_eval)):
        clips, y = make_kws_clips(n, rng)
        feats[split] = (log_mel(clips), y)
    mean = float(feats["train"][0].mean())
    std = float(feats["train"][0].std())

    def norm(a):
        return to_half_precision(((a - mean) / std)[:, None].astype(np.float32))

    return (
        norm(feats["train"][0]),
        feats["train"][1],
        norm(feats["calib"][0]),
        norm(feats["eval"][0]),
        feats["eval"][1],
        mean,
        std,
    )


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------


class MLP(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, num_classes)
        )

    def forward(self, x):
        return self.net(x)


def conv_bn(cin, cout, k=3, stride=1, groups=1, bias=False):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=bias), nn.BatchNorm2d(cout)
    )


class CnnBnRes(nn.Module):
    """Small ResNet: stem, identity block, maxpool, projection block, GAP, FC."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn(1, 16, bias=True)  # Conv with bias followed by BN
        self.b1_conv1 = conv_bn(16, 16)
        self.b1_conv2 = conv_bn(16, 16)
        self.pool = nn.MaxPool2d(2)
        self.b2_conv1 = conv_bn(16, 32)
        self.b2_conv2 = conv_bn(32, 32)
        self.b2_proj = conv_bn(16, 32, k=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = F.relu(self.b1_conv1(x))
        x = F.relu(self.b1_conv2(y) + x)  # identity residual
        x = self.pool(x)
        y = F.relu(self.b2_conv1(x))
        x = F.relu(self.b2_conv2(y) + self.b2_proj(x))  # projection residual
        return self.fc(self.flatten(self.gap(x)))


class DwSepNet(nn.Module):
    """MobileNet-style: depthwise (ReLU6) + pointwise (ReLU), a two-branch
    concat, strided padded depthwise convs, AveragePool, Reshape, FC."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16)
        self.dw1 = conv_bn(16, 16, stride=2, groups=16)
        self.pw1 = conv_bn(16, 32, k=1)
        self.a_dw = conv_bn(32, 32, groups=32)
        self.a_pw = conv_bn(32, 24, k=1)
        self.b_pw = conv_bn(32, 24, k=1)
        self.dw3 = conv_bn(48, 48, stride=2, groups=48)
        self.pw3 = conv_bn(48, 64, k=1)
        self.pool = nn.AvgPool2d(4)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))  # 16x16
        x = F.relu(self.pw1(F.relu6(self.dw1(x))))  # 8x8
        a = F.relu(self.a_pw(F.relu6(self.a_dw(x))))
        b = F.relu(self.b_pw(x))
        x = torch.cat([a, b], dim=1)  # 48 channels
        x = F.relu(self.pw3(F.relu6(self.dw3(x))))  # 4x4
        x = self.pool(x).reshape(-1, 64)  # exports as Reshape [-1, 64]
        return self.fc(x)


class DsCnnKws(nn.Module):
    """DS-CNN keyword spotter; Softmax is appended only for export."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = conv_bn(1, 32)
        self.dw1 = conv_bn(32, 32, stride=2, groups=32)
        self.pw1 = conv_bn(32, 32, k=1)
        self.dw2 = conv_bn(32, 32, groups=32)
        self.pw2 = conv_bn(32, 48, k=1)
        self.dw3 = conv_bn(48, 48, stride=2, groups=48)
        self.pw3 = conv_bn(48, 64, k=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(64, num_classes)
        self.with_softmax = False

    def forward(self, x):
        x = F.relu(self.conv1(x))  # 20x32
        x = F.leaky_relu(self.pw1(F.relu(self.dw1(x))), 0.1)  # 10x16
        x = F.relu(self.pw2(F.relu(self.dw2(x))))
        x = F.relu(self.pw3(F.relu(self.dw3(x))))  # 5x8
        x = self.fc(self.flatten(self.gap(x)))
        if self.with_softmax:
            x = torch.softmax(x, dim=1)
        return x


# ---------------------------------------------------------------------------
# training / export / verification
# ---------------------------------------------------------------------------


def train(model, x_train, y_train, epochs, lr, seed, batch=128, weight_decay=1e-4, log=print):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    n = len(xt)
    steps_per_epoch = n // batch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2)
    for ep in range(epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        tot_loss, correct = 0.0, 0
        for i in range(steps_per_epoch):
            idx = perm[i * batch : (i + 1) * batch]
            xb, yb = xt[idx], yt[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        seen = steps_per_epoch * batch
        if ep == epochs - 1 or ep % max(1, epochs // 5) == 0:
            log(f"  epoch {ep + 1:3d}/{epochs}  loss {tot_loss / seen:.4f}  train-acc {correct / seen:.4f}")
    model.eval()
    return model


def export_onnx(model, example, path):
    """Export with the classic TorchScript exporter, BN kept as separate nodes."""
    model.eval()
    kwargs = dict(
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET,
        # PRESERVE keeps BatchNormalization nodes (in inference form since the
        # module is in eval mode); EVAL + constant folding would fuse BN into Conv.
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=True,
        export_params=True,
    )
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), path, **kwargs)
    m = onnx.load(path)
    if remove_initializer_identities(m):
        onnx.save(m, path)


def remove_initializer_identities(m):
    """The TorchScript exporter de-duplicates equal-valued parameters and then
    emits Identity(initializer) nodes; replace them by plain initializers."""
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    keep, changed = [], False
    for node in g.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[node.input[0]])
            t.name = node.output[0]
            g.initializer.append(t)
            changed = True
        else:
            keep.append(node)
    if changed:
        del g.node[:]
        g.node.extend(keep)
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        unused = [t for t in g.initializer if t.name not in used]
        for t in unused:
            g.initializer.remove(t)
    return changed


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def verify_onnx(path, model, x_example, n_bn_expected):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    assert m.opset_import[0].version == OPSET, m.opset_import
    assert [i.name for i in m.graph.input] == ["input"], [i.name for i in m.graph.input]
    assert [o.name for o in m.graph.output] == ["logits"], [o.name for o in m.graph.output]
    assert isinstance(dims(m.graph.input[0])[0], str), "input batch dim is not dynamic"
    assert isinstance(dims(m.graph.output[0])[0], str), "output batch dim is not dynamic"
    ops = sorted({n.op_type for n in m.graph.node})
    n_bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
    assert n_bn == n_bn_expected, f"expected {n_bn_expected} BatchNormalization nodes, got {n_bn}"
    for n in m.graph.node:
        assert n.domain in ("", "ai.onnx"), f"non-standard op domain {n.domain}"
    # numerical agreement with torch at two batch sizes
    sess = ort_session(path)
    for bs in (1, 7):
        xb = x_example[:bs]
        with torch.no_grad():
            ref = model(torch.from_numpy(xb)).numpy()
        got = sess.run(["logits"], {"input": xb})[0]
        err = float(np.max(np.abs(ref - got)))
        assert err < 1e-4, f"onnxruntime / torch mismatch {err} at batch {bs}"
    return m, inferred, ops, n_bn


def ort_session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def onnx_accuracy(path, x, y, batch=250):
    sess = ort_session(path)
    preds = []
    for i in range(0, len(x), batch):
        preds.append(sess.run(["logits"], {"input": x[i : i + batch]})[0].argmax(1))
    return float(np.mean(np.concatenate(preds) == y))


def count_macs(inferred):
    """Multiply-accumulates of one inference (batch 1) from inferred shapes."""
    g = inferred.graph
    shapes = {vi.name: dims(vi) for vi in list(g.value_info) + list(g.input) + list(g.output)}
    for t in g.initializer:
        shapes[t.name] = list(t.dims)
    macs = 0
    for n in g.node:
        if n.op_type == "Conv":
            w = shapes[n.input[1]]
            out = shapes[n.output[0]]
            macs += int(np.prod(out[1:])) * int(np.prod(w[1:]))
        elif n.op_type in ("Gemm", "MatMul"):
            a = shapes[n.input[0]]
            out = shapes[n.output[0]]
            trans_a = any(at.name == "transA" and at.i for at in n.attribute)
            k = a[0] if trans_a else a[-1]
            macs += int(np.prod([d for d in out[1:]])) * int(k)
    return macs


def write_outputs(name, model, x_calib, x_eval, y_eval, description, n_bn, log=print):
    out_dir = os.path.join(OUT_ROOT, name)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    assert x_calib.dtype == np.float32 and x_eval.dtype == np.float32
    assert len(x_calib) == N_CALIB and len(x_eval) == N_EVAL
    export_onnx(model, torch.from_numpy(x_eval[:2]), path)
    m, inferred, ops, n_bn_found = verify_onnx(path, model, x_calib, n_bn)
    acc = onnx_accuracy(path, x_eval, y_eval)
    with torch.no_grad():
        torch_acc = float((model(torch.from_numpy(x_eval)).argmax(1).numpy() == y_eval).mean())
    np.savez_compressed(os.path.join(out_dir, "calib.npz"), input=x_calib)
    np.savez_compressed(os.path.join(out_dir, "eval.npz"), input=x_eval, label=y_eval.astype(np.int64))
    meta = {
        "name": name,
        "task": "classification",
        "input_name": "input",
        "input_shape": list(x_eval.shape[1:]),
        "num_classes": int(model_num_classes(model)),
        "float_top1_eval": round(acc, 6),
        "description": description,
        "ops": ops,
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    params = sum(p.numel() for p in model.parameters())
    macs = count_macs(inferred)
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    log(
        f"  [{name}] onnx top1 {acc:.4f} (torch {torch_acc:.4f})  params {params}  "
        f"MACs {macs}  BN nodes {n_bn_found}  folder {size / 1e6:.2f} MB"
    )
    log(f"  [{name}] ops: {', '.join(ops)}")
    return {"name": name, "acc": acc, "params": params, "macs": macs, "ops": ops, "bytes": size}


def model_num_classes(model):
    fc = model.net[-1] if isinstance(model, MLP) else model.fc
    return fc.out_features


def n_batchnorm(model):
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


# ---------------------------------------------------------------------------
# the four recipes
# ---------------------------------------------------------------------------


def build_mlp(log):
    x_tr, y_tr, x_ca, x_ev, y_ev = make_mlp_data(seed=101)
    log(f"  data: train {x_tr.shape} calib {x_ca.shape} eval {x_ev.shape}")
    torch.manual_seed(1)
    model = train(MLP(), x_tr, y_tr, epochs=20, lr=3e-3, seed=1, log=log)
    desc = (
        "3-layer MLP (64-128-64-10, Gemm+Relu) on scikit-learn 8x8 digits, "
        "flattened row-major to 64 values. Pixels scaled to [0,1] (x/16), then "
        "augmented (+-1 px shift, intensity x0.7-1.2, +0-0.15 offset, gaussian "
        "noise) and rounded to 1/255 steps. The 1797 source images are split "
        "78/22 (stratified) before augmentation: train+calib come from the "
        "train split, eval from the held-out split."
    )
    return model, x_ca, x_ev, y_ev, desc


def build_cnn_bn_res(log):
    x_tr, y_tr = make_gray_shapes(16000, np.random.default_rng(201))
    x_ca, _ = make_gray_shapes(N_CALIB, np.random.default_rng(202))
    x_ev, y_ev = make_gray_shapes(N_EVAL, np.random.default_rng(203))
    log(f"  data: train {x_tr.shape} calib {x_ca.shape} eval {x_ev.shape}")
    torch.manual_seed(2)
    model = train(CnnBnRes(), x_tr, y_tr, epochs=10, lr=4e-3, seed=2, log=log)
    desc = (
        "Small ResNet-style CNN (Conv+BN+ReLU blocks, identity residual Add, "
        "projection residual Add with 1x1 conv, MaxPool, GlobalAveragePool, "
        "Flatten, Gemm) on a procedural 16x16 grayscale shapes dataset with 10 "
        "classes: " + ", ".join(GRAY_SHAPES) + ". Random position/size/rotation/"
        "stroke width/edge softness, background level and gradient, distractor "
        "blobs and gaussian noise; values in [0,1] rounded to 1/255 steps. "
        "Train, calib and eval are drawn from independent random streams."
    )
    return model, x_ca, x_ev, y_ev, desc


def build_dwsep(log):
    x_tr, y_tr = make_colour_shapes(24000, np.random.default_rng(301))
    x_ca, _ = make_colour_shapes(N_CALIB, np.random.default_rng(302))
    x_ev, y_ev = make_colour_shapes(N_EVAL, np.random.default_rng(303))
    log(f"  data: train {x_tr.shape} calib {x_ca.shape} eval {x_ev.shape}")
    torch.manual_seed(3)
    model = train(DwSepNet(), x_tr, y_tr, epochs=12, lr=4e-3, seed=3, log=log)
    desc = (
        "MobileNet-style depthwise-separable CNN (Conv stem, depthwise 3x3 "
        "Conv+BN+ReLU6(Clip), pointwise 1x1 Conv+BN+ReLU, padded stride-2 "
        "depthwise convs, two-branch channel Concat, AveragePool 4x4, Reshape, "
        "Gemm) on a procedural 16x16 RGB dataset: 10 classes = shape {"
        + ", ".join(COLOUR_SHAPES)
        + "} x hue group {warm (red..yellow), cool "
        "(green..blue)}; label = 2*shape + (0 warm, 1 cool). Random background "
        "colour/gradient, distractor blob, gaussian noise; CHW layout, values in "
        "[0,1] rounded to 1/255 steps. Train, calib and eval use independent "
        "random streams."
    )
    return model, x_ca, x_ev, y_ev, desc


def build_kws(log):
    t0 = time.time()
    x_tr, y_tr, x_ca, x_ev, y_ev, mean, std = make_kws_data(seed=401)
    log(f"  data: train {x_tr.shape} calib {x_ca.shape} eval {x_ev.shape} ({time.time() - t0:.1f}s to synthesize)")
    torch.manual_seed(4)
    model = train(DsCnnKws(), x_tr, y_tr, epochs=15, lr=4e-3, seed=4, log=log)
    model.with_softmax = True
    desc = (
        "DS-CNN keyword spotter (Conv+BN+ReLU, depthwise-separable blocks, one "
        "LeakyRelu(0.1), GlobalAveragePool, Flatten, Gemm, final Softmax: the "
        "'logits' output holds probabilities) on synthesized 1 s / 8 kHz audio, "
        "10 classes: " + ", ".join(KWS_CLASSES) + " (chirps, tone patterns, "
        "formant-synthesized vowels/diphthong, fricative+vowel, and background "
        "noise only) with random pitch, duration, onset, level and coloured "
        "background noise; 40% of clips also contain a short non-keyword blip "
        "or noise burst. Features: log-mel, 512-pt Hann FFT, hop 250, "
        f"{N_MELS} mel bands (60-4000 Hz) x {N_FRAMES} frames, natural log(+1e-6), "
        f"standardised with train mean {mean:.4f} / std {std:.4f}, rounded to "
        "float16 precision; layout [1, mels, frames]. Train, calib and eval use "
        "independent random streams."
    )
    return model, x_ca, x_ev, y_ev, desc


RECIPES = {
    "mlp": build_mlp,
    "cnn_bn_res": build_cnn_bn_res,
    "dwsep": build_dwsep,
    "kws": build_kws,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(RECIPES), help="build only this model")
    ap.add_argument(
        "--threads",
        type=int,
        default=NUM_THREADS,
        help="torch CPU threads (default 2; the committed files were "
        "made with 2, other values may change the last float bits)",
    )
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    names = [args.only] if args.only else list(RECIPES)
    results = []
    t_all = time.time()
    for name in names:
        t0 = time.time()
        print(f"== {name}", flush=True)
        log = functools.partial(print, flush=True)
        model, x_ca, x_ev, y_ev, desc = RECIPES[name](log)
        with_bn = n_batchnorm(model)
        results.append(write_outputs(name, model, x_ca, x_ev, y_ev, desc, with_bn, log=log))
        print(f"  {name} done in {time.time() - t0:.1f}s", flush=True)
    print(f"\n{'model':12s} {'top1':>7s} {'params':>8s} {'MACs':>9s} {'size':>8s}  ops")
    for r in results:
        print(
            f"{r['name']:12s} {r['acc']:7.4f} {r['params']:8d} {r['macs']:9d} "
            f"{r['bytes'] / 1e6:6.2f}MB  {' '.join(r['ops'])}"
        )
    print(f"total {time.time() - t_all:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
