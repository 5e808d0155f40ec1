"""The deployment target: what the chip is, built once from a board file and validated once.

A :class:`Target` is the ArchitectureFeatures half of the split (the
CompilerOptions half is ``fixpoint.lower.LowerOptions``): CPU, memory, link and
an accelerator made of :class:`EngineSpec` engines, each with its own datapath
(ops and limits, weight / activation bits, zero points, scale granularity,
multiplier width, shift range, rounding mode, accumulator width and overflow,
cost). Engines are plain frozen data so other passes (mixed precision, a
scheduler) can read them without importing the board loader.

``fixpoint.boards.load_board(...).target`` is the Target of a board file;
:func:`check_engine` is the only place an engine is validated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .plan import ACC_OVERFLOW_MODES, ROUNDING_MODES, RequantProfile

#: the engine every board has: the C runtime on the CPU, which runs every op and datapath.
CPU_ENGINE = "cpu"
#: the engine of a layer no engine assignment placed (a plan lowered without a board's engines, the
#: ``requantize`` layers between activation widths): see :func:`default_engine`
UNASSIGNED_ENGINE = "default"


def default_engine(names: list[str] | tuple[str, ...]) -> int:
    """Index among a board's engine ``names`` of the one that runs unassigned layers: the CPU (they
    are lowered for the board-wide requantizer, which is the CPU's), else the first engine."""
    return names.index(CPU_ENGINE) if CPU_ENGINE in names else 0


@dataclass(frozen=True)
class EngineLimits:
    """Largest kernel side, stride, channel count and dilation an engine takes (0: no limit)."""

    kernel_max: int = 0
    stride_max: int = 0
    channels_max: int = 0
    dilation_max: int = 0


@dataclass(frozen=True)
class EngineSpec:
    """An execution engine of the target (CPU or accelerator) and its datapath."""

    name: str
    datapaths: tuple[str, ...] = ("s8", "s4", "s16", "s2", "s1")
    ops: tuple[str, ...] | None = None  # runtime op keys; None = every op
    limits: EngineLimits = field(default_factory=EngineLimits)
    symmetric_only: bool = False  # activation zero points must be 0
    # the requantizer; None: the lowering profile's (a board file's engines always have all four)
    per_channel: bool | None = None  # per-output-channel scales allowed
    rounding: str | None = None  # one of fixpoint.plan.ROUNDING_MODES
    multiplier_bits: int | None = None
    shift_min: int | None = None
    shift_max: int | None = None
    shift_bits: int = 0  # width of the shift register (0: not declared)
    accumulator_bits: int = 32  # 8..32 (s8/s4 accumulators; s16 keeps its int64 one)
    accumulator_overflow: str = "saturate"  # "saturate" | "wrap"
    cycles_per_mac: float = 1.0
    setup_cycles: int = 0

    def supports(self, op: str, datapath: str) -> bool:
        return datapath in self.datapaths and (self.ops is None or op in self.ops)

    def profile(self, base: RequantProfile | None = None) -> RequantProfile:
        """The requantizer of this engine, as the lowering and the C runtime read it; fields the
        engine leaves open are ``base``'s (the lowering profile)."""
        base = base or RequantProfile()

        def pick(value, default):
            return default if value is None else value

        return RequantProfile(
            rounding=pick(self.rounding, base.rounding),
            multiplier_bits=pick(self.multiplier_bits, base.multiplier_bits),
            shift_min=pick(self.shift_min, base.shift_min),
            shift_max=pick(self.shift_max, base.shift_max),
            per_channel=pick(self.per_channel, base.per_channel),
            accumulator_bits=self.accumulator_bits,
            accumulator_overflow=self.accumulator_overflow,
        )

    def cost(self, macs: int) -> float:
        """Cycles of one layer of ``macs`` multiply-accumulates (scheduling estimate)."""
        return self.setup_cycles + self.cycles_per_mac * max(macs, 1)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (reports, plan meta)."""
        return {
            "name": self.name,
            "datapaths": list(self.datapaths),
            "ops": None if self.ops is None else list(self.ops),
            "rounding": self.rounding,
            "multiplier_bits": self.multiplier_bits,
            "shift": [self.shift_min, self.shift_max],
            "accumulator_bits": self.accumulator_bits,
            "accumulator_overflow": self.accumulator_overflow,
            "symmetric_only": self.symmetric_only,
            "per_channel": self.per_channel,
            "cycles_per_mac": self.cycles_per_mac,
            "setup_cycles": self.setup_cycles,
            "limits": asdict(self.limits),
            "shift_bits": self.shift_bits,
        }


@dataclass(frozen=True)
class Target:
    """What a deployment targets: every stage reads this, none re-derives a board fact."""

    name: str
    cpu: Any  # fixpoint.boards.board.Cpu
    memory: Any  # fixpoint.boards.board.Memory
    link: Any  # fixpoint.boards.board.SerialSettings
    profile: RequantProfile  # the board-wide requantizer (the CPU's)
    engines: tuple[EngineSpec, ...]
    registers: Any = None  # fixpoint.boards.board.RegisterMap | None

    def engine(self, name: str) -> EngineSpec | None:
        return next((e for e in self.engines if e.name == name), None)

    def engine_profiles(self) -> dict[str, RequantProfile]:
        return {e.name: e.profile(self.profile) for e in self.engines}


def _fits_signed(lo: int, hi: int, bits: int) -> bool:
    return -(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1


def check_engine(engine: EngineSpec, where: str) -> str | None:
    """First inconsistency of one engine's datapath (``where`` names it in the board file), or None.
    The board loader fills every requantizer field before calling this."""
    checks = (
        (engine.ops is not None and not engine.ops, f"field '{where}.ops': engine '{engine.name}' runs no ops"),
        (not engine.datapaths, f"field '{where}.datapaths': engine '{engine.name}' has no datapath"),
        (
            engine.rounding not in ROUNDING_MODES,
            f"field '{where}.rounding': '{engine.rounding}' is not one of {list(ROUNDING_MODES)}",
        ),
        (
            not 2 <= engine.multiplier_bits <= 32,
            f"field '{where}.multiplier_bits': {engine.multiplier_bits} is outside [2, 32]",
        ),
        (
            engine.shift_min > engine.shift_max,
            f"field '{where}.shift_min': {engine.shift_min} is above shift_max {engine.shift_max}",
        ),
        (
            engine.shift_bits > 0 and not _fits_signed(engine.shift_min, engine.shift_max, engine.shift_bits),
            f"field '{where}.shift_max': shift range [{engine.shift_min}, {engine.shift_max}] is wider than "
            f"the {engine.shift_bits}-bit shift register",
        ),
        (
            not 8 <= engine.accumulator_bits <= 32,
            f"field '{where}.accumulator_bits': {engine.accumulator_bits} is outside [8, 32]",
        ),
        (
            engine.accumulator_overflow not in ACC_OVERFLOW_MODES,
            f"field '{where}.accumulator_overflow': '{engine.accumulator_overflow}' is not one of "
            f"{list(ACC_OVERFLOW_MODES)}",
        ),
        (
            engine.accumulator_bits < 32 and "s16" in engine.datapaths,
            f"field '{where}.datapaths': s16 needs a 64-bit accumulator, engine '{engine.name}' has "
            f"{engine.accumulator_bits} bits",
        ),
        (
            engine.cycles_per_mac < 0 or engine.setup_cycles < 0,
            f"field '{where}.cycles_per_mac': engine '{engine.name}' has a negative cost",
        ),
    )
    return next((message for bad, message in checks if bad), None)
