"""cffi (API mode) build of the calibration histogram kernel; cdef read from its header."""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
MODULE = "fixpoint.calibrate._fp_histogram"


def make_ffibuilder() -> FFI:
    builder = FFI()
    builder.cdef((HERE / "histogram_kernel.h").read_text().split("*/", 1)[1])
    builder.set_source(
        MODULE,
        '#include "histogram_kernel.h"\n',
        sources=[str(HERE / "histogram_kernel.c")],
        include_dirs=[str(HERE)],
        # -O3: the binning loop must be vectorized (see histogram_kernel.c)
        extra_compile_args=["-std=c99", "-O3"],
    )
    return builder


ffibuilder = make_ffibuilder()
