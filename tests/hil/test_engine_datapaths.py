"""Each engine datapath constraint of the reference board, where it bites: the simulator, the QEMU
board (mps2-an386-npu) and the exact Python model agree; a float model of the same arithmetic and
the plain int32 datapath do not.

One plan, three fully connected layers reading one input, one per engine:
* mac24: 24-bit saturating accumulator (round-half-even, 24-bit multiplier);
* npu8: 16-bit multiplier register, single rounding;
* shift: shift-only requantizer with a 20-bit wrapping accumulator.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fixpoint.boards import load_board
from fixpoint.hil import HilJob, run_hil
from fixpoint.lower.saturation import measure_saturation
from fixpoint.lower.scales import quantize_scale
from fixpoint.memory import plan_arena
from fixpoint.plan import Plan, PlanLayer, PlanTensor, RequantProfile
from fixpoint.reference.requant import requant32
from fixpoint.sim.executor import run_plan

BOARD = "mps2-an386-npu"
DEPTH, CHANNELS, SAMPLES, CANDIDATES = 1024, 16, 12, 2000
#: engine -> real output scale of its layer (sums reach ~2^24; outputs stay inside int8 unless clipped)
# npu8's scale lies half-way between two Q15 values: the 16-bit register is as far off as it gets
SCALES = {"mac24": 0.61 * 2.0**-17, "npu8": (0x5A82 + 0.5) / 2.0**15 * 2.0**-16, "shift": 2.0**-18}


def _profiles() -> dict[str, RequantProfile]:
    return load_board(BOARD).target.engine_profiles()


def _layer(name: str, engine: str, weights: np.ndarray, profile: RequantProfile, out: int) -> PlanLayer:
    regs = quantize_scale(np.full(CHANNELS, SCALES[engine]), profile)
    return PlanLayer(
        name=name,
        op="fully_connected",
        datapath="s8",
        inputs=[0],
        output=out,
        params={"filter_offset": 0, "input_offset": 0, "output_offset": 0, "act_min": -128, "act_max": 127},
        arrays={
            "weights": weights,
            "bias": np.zeros(CHANNELS, np.int32),
            "multiplier": regs.multiplier.astype(np.int32),
            "shift": regs.shift.astype(np.int32),
        },
        engine=engine,
        source_nodes=[name],
    )


def _weights(rng: np.random.Generator) -> np.ndarray:
    """One sign per channel, magnitudes growing with the channel: the sums sweep from well inside
    the narrow accumulators to twice past 2^23."""
    mags = np.linspace(20, 127, CHANNELS)[:, None]
    weights = np.sign(rng.uniform(-1, 1, (CHANNELS, 1))) * rng.uniform(0.8, 1.0, (CHANNELS, DEPTH)) * mags
    return np.round(weights).astype(np.int8)


@pytest.fixture(scope="module")
def datapath_plan() -> tuple[Plan, np.ndarray]:
    """The plan and the board's samples: those of CANDIDATES where every constraint bites."""
    rng = np.random.default_rng(12)
    profiles = _profiles()
    weights = _weights(rng)
    tensors = [PlanTensor("x", [1, 1, 1, DEPTH], "int8", 1.0, 0, source_layout="NC")]
    layers = []
    for i, engine in enumerate(SCALES):
        tensors.append(PlanTensor(f"y_{engine}", [1, 1, 1, CHANNELS], "int8", 1.0, 0, source_layout="NC"))
        layers.append(_layer(f"fc_{engine}", engine, weights, profiles[engine], i + 1))
    plan = Plan(
        "engine_datapaths",
        tensors,
        layers,
        inputs=[0],
        outputs=[1, 2, 3],
        profile=profiles["cpu"],
        engine_profiles={e: profiles[e] for e in SCALES},
    )
    plan = plan_arena(plan)
    plan.model_hash = plan.compute_hash()
    x = (rng.integers(64, 128, (CANDIDATES, DEPTH)) // rng.integers(1, 3, (CANDIDATES, 1))).astype(np.int8)
    sim = _simulate(plan, x)
    bites = [np.any(_float_model(x, weights, SCALES[e]) != sim[i], axis=1) for i, e in enumerate(SCALES)]
    chosen = np.flatnonzero(bites[0] & bites[1] & bites[2])[:SAMPLES]
    assert chosen.size == SAMPLES, [int(b.sum()) for b in bites]
    return plan, x[chosen]


def _simulate(plan: Plan, x: np.ndarray) -> list[np.ndarray]:
    outputs = run_plan(plan, [x.reshape(len(x), 1, 1, DEPTH)]).outputs
    return [o.reshape(len(x), CHANNELS).astype(np.int64) for o in outputs]


def _exact(plan: Plan, x: np.ndarray, index: int, profile: RequantProfile) -> np.ndarray:
    """The datapath in integers: exact sum, the engine's accumulator register, its requantizer."""
    layer = plan.layers[index]
    acc = x.astype(np.int64) @ layer.arrays["weights"].astype(np.int64).T
    acc = np.clip(acc, -(1 << 31), (1 << 31) - 1)
    out = requant32(
        acc,
        layer.arrays["multiplier"],
        layer.arrays["shift"],
        profile.rounding,
        profile.multiplier_bits,
        acc_bits=profile.accumulator_bits,
        acc_wrap=profile.accumulator_overflow == "wrap",
    )
    return np.clip(out, -128, 127)


def _float_model(x: np.ndarray, weights: np.ndarray, scale: float) -> np.ndarray:
    """The same layer in float: sum, real scale, round to nearest, clamp (no registers)."""
    acc = x.astype(np.float64) @ weights.astype(np.float64).T
    return np.clip(np.rint(acc * scale), -128, 127).astype(np.int64)


def test_simulator_is_the_exact_datapath_and_the_float_model_is_not(datapath_plan):
    plan, x = datapath_plan
    sim = _simulate(plan, x)
    for i, engine in enumerate(SCALES):
        profile = plan.layer_profile(i)
        assert np.array_equal(sim[i], _exact(plan, x, i, profile)), engine
        float_model = _float_model(x, plan.layers[i].arrays["weights"], SCALES[engine])
        assert np.all(np.any(float_model != sim[i], axis=1)), engine  # on every sample
        if engine != "npu8":
            # the narrow accumulator clips (mac24) or wraps (shift): the int32 datapath differs too
            plain = _exact(plan, x, i, RequantProfile(profile.rounding, profile.multiplier_bits))
            assert np.count_nonzero(plain != sim[i]) >= SAMPLES, engine
    # npu8: the 16-bit multiplier register is what differs from the float scale
    narrow = quantize_scale(np.array([SCALES["npu8"]]), plan.layer_profile(1))
    assert narrow.rel_error[0] > 2.0**-17


def test_board_agrees_with_the_simulator_where_the_constraints_bite(datapath_plan, tmp_path):
    plan, x = datapath_plan
    result = run_hil(
        HilJob(plan=plan, board=BOARD, x=x.astype(np.float32), work_dir=tmp_path, max_drop_pp=100.0, progress=False)
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == SAMPLES
    assert [o.bit_exact for o in result.outputs] == [SAMPLES] * 3


def test_saturation_rate_is_reported_for_the_narrow_accumulators(datapath_plan):
    plan, x = datapath_plan
    floats = [x.astype(np.float32)]
    report = measure_saturation(plan, floats)
    assert set(report) == {"fc_mac24", "fc_shift"}  # npu8 has a 32-bit accumulator
    acc = x.astype(np.int64) @ plan.layers[0].arrays["weights"].astype(np.int64).T
    for name, bits in (("fc_mac24", 24), ("fc_shift", 20)):
        entry = report[name]
        assert entry["accumulator_bits"] == bits and entry["can_overflow"] and entry["worst_case_log2"] >= bits - 1
        want = np.mean(np.abs(acc + 0.5) > 2 ** (bits - 1))
        assert entry["rate"] == pytest.approx(want) and entry["rate"] > 0
    assert report["fc_mac24"]["rate"] < 1  # the small sums stay inside 24 bits


def test_localized_mismatch_names_engine_and_register_block(datapath_plan, tmp_path):
    """The host simulates a plan whose npu8 layer differs: fixpoint hil localizes the mismatch and
    names ONNX node -> layer -> engine -> register block from the debug table."""
    plan, x = datapath_plan
    altered = copy.deepcopy(plan)
    altered.layers[1].arrays["bias"] = altered.layers[1].arrays["bias"] + np.int32(1 << 20)
    altered.model_hash = altered.compute_hash()
    result = run_hil(
        HilJob(
            plan=plan,
            sim_plan=altered,
            board=BOARD,
            x=x[:2].astype(np.float32),
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert len(result.mismatches) == 2, result.summary()
    m = result.mismatches[0]
    assert m.first_layer == "fc_npu8" and m.output == "y_npu8"
    assert "ONNX fc_npu8 -> layer 1 'fc_npu8' -> engine 'npu8' (s8, single rounding, 16-bit multiplier" in m.detail
    assert "-> register block 1" in m.detail and "-> register block 1" in result.summary()
