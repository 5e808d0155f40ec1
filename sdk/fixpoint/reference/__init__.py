"""Independent Python integer reference of the runtime's semantics.

Written from the TFLite quantization spec and docs/rounding.md, not from the
C code: the tests compare the C kernels against it exactly.
"""
