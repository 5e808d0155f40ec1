"""Run a lowered plan on the reference C runtime: the bit-exact host simulation.

The plan becomes an ``fp_graph_t`` exactly as the firmware's (field values
from ``fixpoint.cparams``), built once per plan and kernel choice and cached;
one arena of ``plan.arena_size`` bytes is reused for every sample. A batch
goes through ``fp_sim_run_batch`` (one C call runs ``fp_graph_run``, the entry
the firmware calls, on every sample), optionally split over threads (each
with its own arena and scratch; the GIL is released during the C call, and
every sample's result is independent of the split), or sample by sample and
layer by layer through ``fp_graph_run_layer`` when intermediates are captured.

Kernels: ``kernels="auto"`` (default) runs the host core's choice of
``fixpoint.ops.variants`` (the ``_opt`` variants, bit-identical to the
reference), ``kernels="ref"`` the reference kernels (``fp_kernels_all()``);
:func:`set_defaults` sets both process-wide (the CLI's ``--kernels`` and
``--sim-threads``).

Inputs and outputs are integer arrays in NHWC with a leading batch axis:
``[B, H, W, C]`` for a plan tensor of shape ``[1, H, W, C]``.
:func:`quantize_input` and :func:`dequantize` convert from / to the float
tensors of the source ONNX model in its own layout.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..cparams import layer_arrays_for_c, layer_struct, graph_struct, tensor_struct
from ..iospec import row_major_shape
from ..ir import ModelError
from ..memory import check_arena
from ..plan import DTYPES, Plan, PlanTensor
from ..streaming import state_size, state_slots
from . import native
from .cstruct import CArrays, new_struct, status_name, to_cvalue

log = logging.getLogger(__name__)
_CACHE_SIZE = 4
_cache: "OrderedDict[tuple[str, str], CompiledPlan]" = OrderedDict()
KERNEL_CHOICES = ("auto", "ref")
_defaults = {"kernels": os.environ.get("FIXPOINT_KERNELS", "auto"), "threads": 1}


def set_defaults(kernels: str | None = None, threads: int | None = None) -> None:
    """Process-wide simulator defaults: kernel choice ("auto" | "ref") and threads per batch."""
    if kernels is not None:
        if kernels not in KERNEL_CHOICES:
            raise SimulationError(f"kernels must be one of {', '.join(KERNEL_CHOICES)}, got '{kernels}'")
        _defaults["kernels"] = kernels
    if threads is not None:
        if threads < 1:
            raise SimulationError(f"simulator threads must be >= 1, got {threads}")
        _defaults["threads"] = threads


def default_kernels() -> str:
    kernels = _defaults["kernels"]
    if kernels not in KERNEL_CHOICES:
        raise SimulationError(f"FIXPOINT_KERNELS must be one of {', '.join(KERNEL_CHOICES)}, got '{kernels}'")
    return kernels


class SimulationError(ModelError):
    """The plan or the inputs cannot be simulated; the message names the culprit."""


@dataclass
class SimResult:
    outputs: list[np.ndarray]  # one [B, ...] array per plan output
    intermediates: dict[str, np.ndarray] | None = None  # layer output tensor name -> [B, ...]


class CompiledPlan:
    """A plan as C structs (graph, tensors, layers, constant arrays) plus arena and scratch."""

    def __init__(self, plan: Plan, kernels: str = "auto"):
        ffi, lib = native.ffi(), native.lib()
        if kernels not in KERNEL_CHOICES:
            raise SimulationError(f"kernels must be one of {', '.join(KERNEL_CHOICES)}, got '{kernels}'")
        self.kernels = kernels
        # one run at a time: the cached object's arena and scratch are shared by every caller
        # (two HIL jobs of one plan in two threads -- a farm -- would otherwise corrupt each other)
        self._run_lock = threading.Lock()
        check_arena(plan)
        for t in [*plan.inputs, *plan.outputs]:
            if plan.tensors[t].shape[0] != 1:
                raise SimulationError(
                    f"graph I/O tensor '{plan.tensors[t].name}' must have N = 1, got shape {plan.tensors[t].shape}"
                )
        self.plan = plan
        self.layer_arrays = [CArrays(layer_arrays_for_c(layer)) for layer in plan.layers]
        self.state = self._state_buffer()
        self.tensors = ffi.new(
            "fp_tensor_t[]", [to_cvalue(tensor_struct(plan, i), None) for i in range(len(plan.tensors))]
        )
        self.layers = ffi.new(
            "fp_layer_t[]",
            [to_cvalue(layer_struct(plan, i), self.layer_arrays[i]) for i in range(len(plan.layers))] or 1,
        )
        tables = CArrays()
        tables.set_pointer("tensors", self.tensors)
        tables.set_pointer("layers", self.layers)
        # every (op, datapath) resolves: the host core's variants, or every reference kernel
        tables.set_pointer("kernels", lib.fp_kernels_all() if kernels == "ref" else lib.fp_sim_kernels_host())
        self.graph = new_struct("fp_graph_t", graph_struct(plan, 0), tables)
        self.scratch_size = int(lib.fp_graph_scratch_size(self.graph))
        self.graph.scratch_size = self.scratch_size
        self.scratch = ffi.new("uint8_t[]", max(self.scratch_size, 1))
        self.arena = np.zeros(plan.arena_size + 16, dtype=np.uint8)
        start = (-self.arena.ctypes.data) % 16  # the runtime needs a 4-byte aligned arena
        self.arena = self.arena[start : start + plan.arena_size]
        self.arena_ptr = ffi.from_buffer("uint8_t[]", self.arena)
        self._ok = int(lib.FP_OK)
        # numpy views of every tensor's arena slot, made once: [H, W, C] (the
        # batch axis is the sample loop), or the full shape of an N > 1 tensor
        self._views = [
            self.arena[t.offset : t.offset + t.nbytes]
            .view(DTYPES[t.dtype])
            .reshape(t.shape[1:] if t.shape[0] == 1 else t.shape)
            for t in plan.tensors
        ]
        self._in_offsets = ffi.new("uint32_t[]", [plan.tensors[t].offset for t in plan.inputs] or 1)
        self._in_bytes = ffi.new("uint32_t[]", [plan.tensors[t].nbytes for t in plan.inputs] or 1)
        self._out_offsets = ffi.new("uint32_t[]", [plan.tensors[t].offset for t in plan.outputs] or 1)
        self._out_bytes = ffi.new("uint32_t[]", [plan.tensors[t].nbytes for t in plan.outputs] or 1)
        self._workers: list[tuple[np.ndarray, object, object]] = []  # per extra thread: arena, pointer, scratch

    def _state_buffer(self) -> np.ndarray:
        """A streaming step plan's state buffer (fixpoint.streaming), each stateful layer's ``state``
        pointing at its slot; empty for other plans. Not reset here: see fixpoint.sim.streaming."""
        slots = [s for s in state_slots(self.plan) if self.plan.layers[s.layer].params.get("stateful")]
        if not slots:
            return np.zeros(0, np.uint8)
        state = np.zeros(state_size(self.plan) + 16, dtype=np.uint8)
        start = (-state.ctypes.data) % 16  # the lstm's int16 cell state needs alignment
        state = state[start : start + state_size(self.plan)]
        for s in slots:
            self.layer_arrays[s.layer].set_pointer(
                "state", native.ffi().from_buffer("uint8_t[]", state[s.offset : s.offset + s.nbytes])
            )
        return state

    def _slot(self, index: int) -> np.ndarray:
        return self._views[index]

    def _check_inputs(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        plan = self.plan
        if len(inputs) != len(plan.inputs):
            raise SimulationError(f"plan '{plan.model_name}' takes {len(plan.inputs)} input(s), got {len(inputs)}")
        checked, batch = [], None
        for k, (arr, t_index) in enumerate(zip(inputs, plan.inputs)):
            t = plan.tensors[t_index]
            arr = np.asarray(arr)
            want = (arr.shape[0] if arr.ndim else -1, *t.shape[1:])
            if arr.dtype != np.dtype(DTYPES[t.dtype]) or arr.shape != want:
                raise SimulationError(
                    f"input {k} ('{t.name}') must be {t.dtype} of shape [B, "
                    f"{', '.join(map(str, t.shape[1:]))}], got {arr.dtype} {list(arr.shape)}"
                )
            if batch is not None and arr.shape[0] != batch:
                raise SimulationError(f"input {k} ('{t.name}') has batch {arr.shape[0]}, input 0 has {batch}")
            batch = arr.shape[0]
            checked.append(arr)
        return checked

    def _write_inputs(self, inputs: list[np.ndarray], b: int) -> None:
        for arr, t_index in zip(inputs, self.plan.inputs):
            self._slot(t_index)[...] = arr[b]

    def _fail(self, layer_index: int, status: int) -> SimulationError:
        layer = self.plan.layers[layer_index]
        return SimulationError(
            f"layer {layer_index} '{layer.name}' ({layer.op}, {layer.datapath}): "
            f"the runtime returned {status_name(status)}"
        )

    def _run_layer(self, index: int) -> None:
        status = native.lib().fp_graph_run_layer(self.graph, index, self.arena_ptr, self.scratch, self.scratch_size)
        if status != self._ok:
            raise self._fail(index, status)

    def _worker(self, k: int) -> tuple[object, object]:
        """Arena and scratch of batch slice k (k = 0: the plan's own)."""
        if k == 0:
            return self.arena_ptr, self.scratch
        ffi = native.ffi()
        while len(self._workers) < k:
            arena = np.zeros(self.plan.arena_size + 16, dtype=np.uint8)
            start = (-arena.ctypes.data) % 16
            arena = arena[start : start + self.plan.arena_size]
            self._workers.append(
                (arena, ffi.from_buffer("uint8_t[]", arena), ffi.new("uint8_t[]", max(self.scratch_size, 1)))
            )
        _, arena_ptr, scratch = self._workers[k - 1]
        return arena_ptr, scratch

    def _run_batch(self, inputs: list[np.ndarray], outputs: list[np.ndarray], threads: int) -> None:
        ffi, lib = native.ffi(), native.lib()
        batch = outputs[0].shape[0] if outputs else inputs[0].shape[0]
        inputs = [np.ascontiguousarray(a) for a in inputs]
        in_ptrs = ffi.new("uint8_t *[]", [ffi.from_buffer("uint8_t[]", a) for a in inputs] or 1)
        out_ptrs = ffi.new("uint8_t *[]", [ffi.from_buffer("uint8_t[]", a) for a in outputs] or 1)
        parts = max(1, min(threads, batch))
        bounds = [batch * k // parts for k in range(parts + 1)]
        workers = [self._worker(k) for k in range(parts)]

        def run_slice(k: int) -> tuple[int, int]:
            status = ffi.new("int32_t *")
            arena_ptr, scratch = workers[k]
            failed = lib.fp_sim_run_batch(
                self.graph,
                arena_ptr,
                scratch,
                self.scratch_size,
                bounds[k],
                bounds[k + 1] - bounds[k],
                len(inputs),
                in_ptrs,
                self._in_offsets,
                self._in_bytes,
                len(outputs),
                out_ptrs,
                self._out_offsets,
                self._out_bytes,
                status,
            )
            return int(failed), int(status[0])

        if parts == 1:
            results = [run_slice(0)]
        else:
            with ThreadPoolExecutor(max_workers=parts) as pool:
                results = list(pool.map(run_slice, range(parts)))
        failures = [sample for sample, _ in results if sample >= 0]
        if failures:
            # Find the failing layer for the message: replay the first failing sample layer by layer.
            sample = min(failures)
            status = next(st for s_, st in results if s_ == sample)
            self._write_inputs(inputs, sample)
            for index in range(len(self.plan.layers)):
                self._run_layer(index)
            raise SimulationError(
                f"plan '{self.plan.model_name}': fp_graph_run returned {status_name(status)} on sample {sample}"
            )

    def run(self, inputs: list[np.ndarray], capture: bool = False, threads: int | None = None) -> SimResult:
        """Run a batch; ``threads`` (default: :func:`set_defaults`) splits it over that many threads.
        Thread-safe: concurrent calls on one CompiledPlan run one after the other."""
        with self._run_lock:
            return self._run(inputs, capture, threads)

    def _run(self, inputs: list[np.ndarray], capture: bool, threads: int | None) -> SimResult:
        plan = self.plan
        inputs = self._check_inputs(inputs)
        batch = inputs[0].shape[0]
        outputs = [np.empty((batch, *plan.tensors[t].shape[1:]), DTYPES[plan.tensors[t].dtype]) for t in plan.outputs]
        if not capture:
            if batch:
                # a stateful plan's samples are consecutive steps of one stream: one thread, in order
                threads = 1 if self.state.size else threads or _defaults["threads"]
                self._run_batch(inputs, outputs, threads)
            return SimResult(outputs=outputs)
        captured = {
            plan.tensors[layer.output].name: np.empty(
                (batch, *self._views[layer.output].shape), self._views[layer.output].dtype
            )
            for layer in plan.layers
        }
        for b in range(batch):
            self._write_inputs(inputs, b)
            for index, layer in enumerate(plan.layers):
                self._run_layer(index)
                captured[plan.tensors[layer.output].name][b] = self._slot(layer.output)
            for k, t in enumerate(plan.outputs):
                outputs[k][b] = self._slot(t)
        return SimResult(outputs=outputs, intermediates=captured)


def compile_plan(plan: Plan, kernels: str | None = None) -> CompiledPlan:
    """The plan's C structs, built once per plan content and kernel choice (LRU cache keyed by the
    plan hash); ``kernels`` "auto" | "ref", default :func:`set_defaults`'s."""
    kernels = kernels or default_kernels()
    try:
        key = (plan.compute_hash(), kernels)
    except TypeError:  # a params value JSON cannot hash (e.g. a numpy scalar): build uncached
        return CompiledPlan(plan, kernels)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    compiled = CompiledPlan(plan, kernels)
    _cache[key] = compiled
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return compiled


def run_plan(
    plan: Plan, inputs: list[np.ndarray], capture: bool = False, kernels: str | None = None, threads: int | None = None
) -> SimResult:
    """Run ``plan`` on a batch: ``inputs[k]`` is ``[B, H, W, C]`` of plan input k's dtype.

    Returns the outputs as ``[B, ...]`` arrays and, with ``capture``, every
    layer's output tensor keyed by its plan tensor name. ``kernels`` and
    ``threads`` default to :func:`set_defaults`'s.
    """
    return compile_plan(plan, kernels).run(inputs, capture=capture, threads=threads)


def graph_scratch_size(plan: Plan, kernels: str | None = None) -> int:
    """Scratch bytes the graph needs with the simulator's kernels (``fp_graph_scratch_size``)."""
    return compile_plan(plan, kernels).scratch_size


def kernel_scratch_size(plan: Plan, layer_index: int, kernel: str) -> int:
    """``<kernel>_scratch_size`` of a layer's params (any variant of its weighted kernel).

    A kernel's scratch size is the same on every target (a rule of the variants), so the
    code generator sizes a board's scratch with the kernels the board's table names."""
    from ..ops.runtime_ops import RUNTIME_OPS

    compiled = compile_plan(plan)
    layer = plan.layers[layer_index]
    fn = getattr(native.lib(), f"{kernel}_scratch_size", None)
    if fn is None:
        raise SimulationError(f"layer {layer_index} '{layer.name}': no C function {kernel}_scratch_size")
    params = native.ffi().addressof(compiled.layers[layer_index].params, RUNTIME_OPS[layer.op].union_member)
    return int(fn(params))


def _io_tensor(plan: Plan, tensor_index: int) -> PlanTensor:
    if not 0 <= tensor_index < len(plan.tensors):
        raise SimulationError(f"plan '{plan.model_name}' has no tensor {tensor_index}")
    return plan.tensors[tensor_index]


def _to_nhwc(t: PlanTensor, x: np.ndarray) -> np.ndarray:
    sample = tuple(t.shape[1:])
    dims = row_major_shape(t.source_layout)
    if dims is not None:  # stored in the ONNX row-major order
        if list(x.shape[1:]) != dims:
            raise SimulationError(
                f"tensor '{t.name}' expects [B, {', '.join(map(str, dims))}] "
                f"(ONNX layout {t.source_layout}), got shape {list(x.shape)}"
            )
        return x.reshape(x.shape[0], *sample)
    layouts = {
        "NCHW": (4, lambda a: a.transpose(0, 2, 3, 1)),
        "NHWC": (4, lambda a: a),
        "NC": (2, lambda a: a.reshape(a.shape[0], *sample)),
        "NCL": (3, lambda a: a.transpose(0, 2, 1)[:, None]),
    }
    if t.source_layout not in layouts:
        raise SimulationError(f"tensor '{t.name}' has unknown source layout '{t.source_layout}'")
    ndim, convert = layouts[t.source_layout]
    if x.ndim != ndim or convert(x).shape[1:] != sample:
        raise SimulationError(
            f"tensor '{t.name}' expects [B, ...] in {t.source_layout} layout matching "
            f"NHWC {list(t.shape[1:])}, got shape {list(x.shape)}"
        )
    return convert(x)


def _from_nhwc(t: PlanTensor, x: np.ndarray) -> np.ndarray:
    dims = row_major_shape(t.source_layout)
    if dims is not None:
        return x.reshape(x.shape[0], *dims)
    if t.source_layout == "NCHW":
        return x.transpose(0, 3, 1, 2)
    if t.source_layout == "NC":
        return x.reshape(x.shape[0], t.shape[3])
    if t.source_layout == "NCL":
        return x[:, 0].transpose(0, 2, 1)
    return x


def quantize_input(plan: Plan, x: np.ndarray, index: int = 0) -> np.ndarray:
    """Float samples of plan input ``index`` in the source layout -> integer NHWC.

    ``q = clip(round_half_even(x / scale) + zero_point)``, as ONNX QuantizeLinear.
    """
    if not 0 <= index < len(plan.inputs):
        raise SimulationError(f"plan '{plan.model_name}' has no input {index}")
    t = plan.tensors[plan.inputs[index]]
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise SimulationError(f"input '{t.name}' holds NaN or Inf")
    info = np.iinfo(DTYPES[t.dtype])
    q = np.rint(_to_nhwc(t, x) / t.scale) + t.zero_point
    return np.ascontiguousarray(np.clip(q, info.min, info.max).astype(DTYPES[t.dtype]))


def dequantize(plan: Plan, tensor_index: int, ints: np.ndarray) -> np.ndarray:
    """Integer ``[B, H, W, C]`` values of a plan tensor -> float32 in its source layout."""
    t = _io_tensor(plan, tensor_index)
    ints = np.asarray(ints)
    if ints.ndim != 4 or tuple(ints.shape[1:]) != tuple(t.shape[1:]):
        raise SimulationError(
            f"tensor '{t.name}' values must be [B, {', '.join(map(str, t.shape[1:]))}], got {list(ints.shape)}"
        )
    real = ((ints.astype(np.float64) - t.zero_point) * t.scale).astype(np.float32)
    return _from_nhwc(t, real)
