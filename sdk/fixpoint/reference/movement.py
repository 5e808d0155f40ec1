"""Numpy references of the transpose and slice kernels (runtime/src/kernels/fp_transpose_*.c,
fp_slice_*.c). Both move values without changing them, so the references are exact index maps
over the 4 stored dims (N, H, W, C)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def transpose(x, *, perm: Sequence[int]) -> np.ndarray:
    """Output dim i is input dim perm[i]: out[i0, i1, i2, i3] = x[j] with j[perm[k]] = i_k."""
    x = np.asarray(x)
    if sorted(int(p) for p in perm) != list(range(x.ndim)):
        raise ValueError(f"perm {list(perm)} is not a permutation of {x.ndim} dims")
    return np.transpose(x, [int(p) for p in perm])


def slice_(x, *, begin: Sequence[int], stride: Sequence[int], out_shape: Sequence[int]) -> np.ndarray:
    """out[i0, .., i3] = x[begin[0] + i0 * stride[0], .., begin[3] + i3 * stride[3]]; every index
    must lie inside x (the kernel refuses the params otherwise)."""
    x = np.asarray(x)
    index = []
    for b, s, n, d in zip(begin, stride, out_shape, x.shape):
        taps = int(b) + int(s) * np.arange(int(n))
        if int(s) == 0 or int(n) < 1 or taps.min() < 0 or taps.max() >= d:
            raise ValueError(f"slice begin {list(begin)} stride {list(stride)} out {list(out_shape)} "
                             f"leaves the input {list(x.shape)}")
        index.append(taps)
    return x[np.ix_(*index)]
