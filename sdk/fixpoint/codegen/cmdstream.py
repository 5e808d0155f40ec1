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
from typing import Sequence

from ..boards.board import RegisterMap

MAX_LAYERS = 0xFFFF


@dataclass(frozen=True)
class CommandStream:
    words: tuple[int, ...]              # the encoded stream
    writes: tuple[int, ...]             # register writes per layer (after elision)
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
        return (f"command stream: {self.total_writes} register writes for {len(self.writes)} layers "
                f"({self.full_writes} without elision, {100 * self.elided:.1f}% elided), {len(self.words)} words")


def reset_words(reg_map: RegisterMap) -> list[int]:
    return [int(getattr(r, "reset", 0)) for r in reg_map.registers]


def build_stream(blocks: Sequence[Sequence[int]], reg_map: RegisterMap) -> CommandStream:
    """The elided stream of the register blocks (one list of stored words per layer)."""
    if len(blocks) > MAX_LAYERS:
        raise ValueError(f"{len(blocks)} layers do not fit the 16-bit layer field of the stream header")
    state = reset_words(reg_map)
    words: list[int] = []
    writes: list[int] = []
    for layer, block in enumerate(blocks):
        changed = [(r, int(w)) for r, w in enumerate(block) if state[r] != int(w)]
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
