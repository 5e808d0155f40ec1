"""C field values of the batch_matmul and layer_norm layers (see :mod:`fixpoint.cparams` for the
conventions; the registry rows in fixpoint/ops/defs/attention.py name these builders)."""

from __future__ import annotations

from typing import Any

from .cparams import ArrayRef, CParamsError, OpContext, _count

__all__ = ["batch_matmul", "layer_norm", "MAX_DEPTH", "LN_MAX_DEPTH"]

MAX_DEPTH = 1 << 20  # batch_matmul's K (the int64 sum stays exact)
LN_MAX_DEPTH = 32767  # layer_norm's vector length (depth * sum c^2 stays below 2^60)
LN_MAX_BETA = 1 << 46
LN_MAX_EPS = 1 << 60


def _last_index(stride: list[int], dims: list[int]) -> int:
    return sum((d - 1) * s for d, s in zip(dims, stride))


def _check_strides(name: str, stride: list[int], dims: list[int], size: int) -> None:
    if min(stride) < 0:
        raise CParamsError(f"params field '{name}' = {stride} has a negative stride")
    last = _last_index(stride, dims)
    if last >= size:
        raise CParamsError(f"params field '{name}' = {stride} reaches element {last} of a tensor of {size}")


def batch_matmul(c: OpContext) -> dict[str, Any]:
    # a constant B is the array 'weights' (activation type, the elements the strides reach)
    b_count = _count(c.in_shapes[1]) if len(c.in_shapes) == 2 else int(c.array("weights").size)
    batch = c.int_list("batch", 2)
    rows, depth, cols = c.scalar("rows"), c.scalar("depth"), c.scalar("cols")
    if min(batch + [rows, depth, cols]) < 1 or depth > MAX_DEPTH:
        raise CParamsError(
            f"batch_matmul dims batch {batch}, rows {rows}, depth {depth}, cols {cols}: each "
            f"must be >= 1 and depth <= {MAX_DEPTH}"
        )
    sizes = [_count(c.in_shapes[0]), b_count, _count(c.out_shape)]
    fields: dict[str, Any] = {"batch": batch, "rows": rows, "depth": depth, "cols": cols}
    for name, dims, size in (
        ("input1_stride", [*batch, rows, depth], sizes[0]),
        ("input2_stride", [*batch, depth, cols], sizes[1]),
        ("output_stride", [*batch, rows, cols], sizes[2]),
    ):
        fields[name] = c.int_list(name, 4)
        _check_strides(name, fields[name], dims, size)
    fields.update(
        input1_size=c.derived("input1_size", sizes[0]),
        input2_size=c.derived("input2_size", sizes[1]),
        output_size=c.derived("output_size", sizes[2]),
    )
    fields.update(
        input1_offset=c.offset("input1_offset"),
        input2_offset=c.offset("input2_offset"),
        output_offset=c.offset("output_offset"),
        output_scale=c.scale("output_scale"),
    )
    fields.update(c.act_range())
    fields["mode"] = dict(c.mode)
    return fields


def layer_norm(c: OpContext) -> dict[str, Any]:
    shape = c.in_shapes[0]
    count = _count(shape)
    depth = c.scalar("depth", shape[-1])
    inner = c.scalar("inner", 1)
    if not 1 <= depth <= LN_MAX_DEPTH or inner < 1 or count % (depth * inner):
        raise CParamsError(
            f"params depth {depth} (1..{LN_MAX_DEPTH}) and inner {inner} do not divide the "
            f"{count} elements of {list(shape)}"
        )
    gamma, beta = c.array("gamma", ndim=1), c.array("beta", ndim=1)
    if gamma.shape[0] != depth or beta.shape[0] != depth:
        raise CParamsError(f"arrays 'gamma' ({gamma.shape[0]}) and 'beta' ({beta.shape[0]}) need {depth} entries")
    if beta.size and int(abs(beta.astype(object)).max()) > LN_MAX_BETA:
        raise CParamsError("array 'beta' has a value beyond +-2^46")
    eps = c.scalars.get("eps_term", 0)
    c._used.add("eps_term")
    if isinstance(eps, bool) or not isinstance(eps, int) or not 0 <= eps <= LN_MAX_EPS:
        raise CParamsError(f"params field 'eps_term' = {eps!r} must be an integer in [0, 2^60]")
    fields: dict[str, Any] = {
        "rows": c.derived("rows", count // depth),
        "depth": depth,
        "inner": inner,
        "input_offset": c.offset("input_offset"),
        "output_offset": c.offset("output_offset"),
        "eps_term": int(eps),
        "output_scale": c.scale("output_scale"),
    }
    fields.update(c.act_range())
    fields["gamma"], fields["beta"] = ArrayRef("gamma"), ArrayRef("beta")
    fields["mode"] = dict(c.mode)
    return fields
