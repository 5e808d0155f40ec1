"""Plans for the code generator tests: hand-built ones (tests/sim/sim_plans.py)
and real ones from the example models through the whole pipeline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples, model_input_spec
from fixpoint.frontend import load_model
from fixpoint.lower import LowerOptions, lower
from fixpoint.normalize import normalize
from fixpoint.plan import Plan, RequantProfile

from sim_plans import PlanBuilder, branches, chain, every_op

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"
RECIPES = {"chain": chain, "branches": branches, "every_op": every_op}
SHIFT_ONLY = RequantProfile(rounding="shift_only", per_channel=False)
#: riscv32-virt's profile: one Q15 scale register per layer
RV32 = RequantProfile(rounding="double", multiplier_bits=16, per_channel=False)
AN505 = RequantProfile(rounding="single", multiplier_bits=16, shift_min=-31, shift_max=15)


def built_plan(
    recipe: str, datapath: str, seed: int = 0, profile: RequantProfile | None = None, name: str | None = None
) -> tuple[Plan, PlanBuilder]:
    """A hand-built plan with random legal registers, and its builder (for random inputs)."""
    b = PlanBuilder(
        np.random.default_rng([seed, len(recipe), len(datapath)]),
        datapath,
        profile,
        name=f"{recipe}_{datapath}" if name is None else name,
    )
    return RECIPES[recipe](b), b


@lru_cache(maxsize=None)
def example_plan(
    model: str, bits: int = 8, weight_bits: int = 8, shift_only: bool = False, profile_name: str = ""
) -> Plan:
    """load -> normalize -> calibrate -> lower on an example model (cached per session)."""
    folder = EXAMPLES / model
    onnx = folder / "model.onnx"
    graph = normalize(load_model(onnx))
    input_name, shape = model_input_spec(onnx)
    config = CalibrationConfig(bits=bits, scheme="pow2" if shift_only else None, progress=False)
    quant = calibrate(onnx, graph, load_samples(folder / "calib.npz", input_name, shape), config).quant
    named = {"rv32": RV32, "an505": AN505}
    profile = named[profile_name] if profile_name else (SHIFT_ONLY if shift_only else RequantProfile())
    return lower(graph, quant, profile, LowerOptions(weight_bits=weight_bits))


def random_inputs(plan: Plan, batch: int, seed: int = 0) -> list[np.ndarray]:
    """Uniform random integers over each input's full type range, [B, H, W, C]."""
    rng = np.random.default_rng(seed)
    out = []
    for t in plan.inputs:
        tensor = plan.tensors[t]
        info = np.iinfo(np.dtype(tensor.dtype))
        out.append(rng.integers(info.min, int(info.max) + 1, (batch, *tensor.shape[1:])).astype(tensor.dtype))
    return out
