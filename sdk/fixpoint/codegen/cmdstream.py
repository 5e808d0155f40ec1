"""Register command stream: the register writes an engine needs per layer, redundant writes elided.

The per-layer register blocks (``accel_regs``) are what each layer needs in the engine's registers.
A command stream programs the register file incrementally: starting from the reset values, layer
*i*'s commands write only the registers whose word differs from what the file already holds.

Encoding (uint32 words, docs/accelerators.md): per layer a header ``layer << 16 | n`` followed by
``n`` pairs ``register index, word``. :func:`replay` is the player in Python; the generated C has
the same player (``<prefix>_accel_replay``), which the firmware runs as a self-test at init.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..boards.board import RegisterMap
from ..plan import Plan

MAX_LAYERS = 0xFFFF


@dataclass(frozen=True)
class CommandStream:
    words: tuple[int, ...]  # the encoded stream
    writes: tuple[int, ...]  # register writes per layer (after elision)
    n_regs: int

    @property
    def total_writes(self) -> int:
        return sum(self.writes)

    @property
    def full_writes(self) -> int:
        """Writes of the per-layer register path: every register of every layer."""
        return self.n_regs * len(self.writes)

    @property
    def elided(self) -> float:
        """Share of the per-layer path's writes the stream leaves out."""
        return 1.0 - self.total_writes / self.full_writes if self.full_writes else 0.0

    def summary(self) -> str:
        return (
            f"command stream: {self.total_writes} register writes for {len(self.writes)} layers "
            f"({self.full_writes} without elision, {100 * self.elided:.1f}% elided), {len(self.words)} words"
        )


def reset_words(reg_map: RegisterMap) -> list[int]:
    return [int(getattr(r, "reset", 0)) for r in reg_map.registers]


#: Test-only stream faults (``build_stream(fault=...)``), so tests can show a wrong stream is caught
#: by results: "elide_reset" also skips a write whose word equals the register's reset value (an
#: elision bug: as if every layer started from reset), leaving the previous layer's value in the
#: register; "drop:LAYER:REGISTER" leaves out that one write (a lost command);
#: "set:LAYER:REGISTER:WORD" programs WORD instead of the layer's value (an altered command).
FAULTS = ("elide_reset", "drop:LAYER:REGISTER", "set:LAYER:REGISTER:WORD")


def _targeted(fault: str | None, reg_map: RegisterMap) -> tuple[str, int, int, int] | None:
    """(kind, layer, register index, word) of a "drop:..." / "set:..." fault (word 0 for a drop)."""
    if fault is None or not fault.startswith(("drop:", "set:")):
        return None
    kind, layer, name, *rest = fault.split(":") + ["", ""]
    names = [r.name for r in reg_map.registers]
    word = rest[0] if kind == "set" else "0"
    if not layer.isdigit() or name not in names or not word.isdigit():
        raise ValueError(
            f"command-stream fault '{fault}': expected drop:LAYER:REGISTER or "
            "set:LAYER:REGISTER:WORD with a register of the map"
        )
    return kind, int(layer), names.index(name), int(word)


def build_stream(blocks: Sequence[Sequence[int]], reg_map: RegisterMap, fault: str | None = None) -> CommandStream:
    """The elided stream of the register blocks (one list of stored words per layer).
    ``fault`` (tests only, :data:`FAULTS`) injects an elision bug."""
    if len(blocks) > MAX_LAYERS:
        raise ValueError(f"{len(blocks)} layers do not fit the 16-bit layer field of the stream header")
    target = _targeted(fault, reg_map)
    if fault is not None and fault != "elide_reset" and target is None:
        raise ValueError(f"unknown command-stream fault '{fault}' (known: {', '.join(FAULTS)})")
    dropped = target[1:3] if target and target[0] == "drop" else None
    state = reset_words(reg_map)
    reset = reset_words(reg_map)
    words: list[int] = []
    writes: list[int] = []
    for layer, block in enumerate(blocks):
        if target and target[0] == "set" and target[1] == layer:
            block = [target[3] if r == target[2] else w for r, w in enumerate(block)]
        changed = [
            (r, int(w))
            for r, w in enumerate(block)
            if state[r] != int(w) and not (fault == "elide_reset" and int(w) == reset[r]) and (layer, r) != dropped
        ]
        words.append(layer << 16 | len(changed))
        for r, w in changed:
            words += [r, w]
            state[r] = w
        writes.append(len(changed))
    return CommandStream(tuple(words), tuple(writes), len(reg_map.registers))


def replay(words: Sequence[int], reg_map: RegisterMap) -> list[list[int]]:
    """The register file after each layer's commands (the firmware player, in Python)."""
    state = reset_words(reg_map)
    files: list[list[int]] = []
    pos = 0
    while pos < len(words):
        head = int(words[pos])
        if head >> 16 != len(files):
            raise ValueError(f"command stream word {pos}: header for layer {head >> 16}, expected {len(files)}")
        n, pos = head & 0xFFFF, pos + 1
        for _ in range(n):
            index, word = int(words[pos]), int(words[pos + 1])
            if index >= len(state):
                raise ValueError(f"command stream word {pos}: register index {index} out of range")
            state[index] = word
            pos += 2
        files.append(list(state))
    return files


def debug_table(plan: Plan, stream: CommandStream | None = None) -> list[dict[str, Any]]:
    """ONNX node(s) -> layer -> engine (and its datapath) -> register block (and command-stream words),
    one row per layer: what `fixpoint hil` names when it localizes a mismatch."""
    starts: list[int] = []
    if stream is not None:
        pos = 0
        for n in stream.writes:
            starts.append(pos)
            pos += 1 + 2 * n
    rows = []
    for i, layer in enumerate(plan.layers):
        profile = plan.layer_profile(i)
        row: dict[str, Any] = {
            "onnx_nodes": list(layer.source_nodes) or [layer.name],
            "layer": i,
            "name": layer.name,
            "engine": layer.engine,
            "datapath": f"{layer.datapath}, {profile.rounding} rounding, {profile.multiplier_bits}-bit multiplier, "
            f"{profile.accumulator_bits}-bit {profile.accumulator_overflow} accumulator",
            "register_block": i,
        }
        if stream is not None:
            row["stream_words"] = [starts[i], starts[i] + 2 * stream.writes[i]]
        rows.append(row)
    return rows


def debug_line(row: dict[str, Any]) -> str:
    """One debug-table row as text."""
    words = (
        f", command stream words {row['stream_words'][0]}..{row['stream_words'][1]}" if "stream_words" in row else ""
    )
    return (
        f"ONNX {', '.join(row['onnx_nodes'])} -> layer {row['layer']} '{row['name']}' -> engine "
        f"'{row['engine']}' ({row['datapath']}) -> register block {row['register_block']}{words}"
    )
