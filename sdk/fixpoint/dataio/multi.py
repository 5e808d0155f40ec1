"""Sample files for models with several inputs and several outputs.

The format (docs/data-format.md):

* ``.npz`` with one array per model input, keyed by the ONNX input name, first axis = sample;
  every input has the same number of samples.
* labels, optional: ``label/<output name>`` (integer class per sample) for that output;
  plain ``label`` labels the first output (a single-output model's only output, as before).
* a model with **one** input keeps accepting everything it accepted before (``input`` key,
  the only non-label array, ``.npy``, a folder of ``.npy`` for calibration) and tolerates
  other keys; a model with **several** inputs needs the ``.npz`` and refuses a missing key
  and a key that is neither an input nor a label (a typo must not pass silently).

:class:`InputSet` holds one validated :class:`~fixpoint.dataio.samples.SampleSet` per input
and streams them in step: ``batches(n)`` yields a list (one array per input, in the order the
inputs were given), ``feeds(n)`` a dict by input name. Memory stays flat as for one input.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fixpoint.dataio.errors import DataFileError, DataShapeError, EmptyDataError
from fixpoint.dataio.samples import (
    LABEL_KEY,
    SampleSet,
    label_batches,
    open_labels,
    open_samples,
    scan_labels,
    validated_part,
    target_dtype,
)
from fixpoint.dataio.sources import NpzMemberSource, Source, npz_members

# npz keys that label one output: 'label/<output name>'
LABEL_PREFIX = LABEL_KEY + "/"

InputSpec = tuple[str, "list[int] | None"]  # (ONNX input name, shape without the batch axis)


class InputSet:
    """Validated samples for every model input, streamed in step."""

    def __init__(self, sets: list[SampleSet], origin: str) -> None:
        self.sets = sets
        self.origin = origin

    @property
    def input_names(self) -> list[str]:
        return [s.input_name for s in self.sets]

    @property
    def input_shapes(self) -> list[list[int]]:
        return [s.input_shape for s in self.sets]

    def __len__(self) -> int:
        return len(self.sets[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.origin!r}, inputs={self.input_names}, samples={len(self)})"

    def head(self, limit: int) -> InputSet:
        """The first ``limit`` samples of every input (nothing is read)."""
        return type(self)([s.head(limit) for s in self.sets], self.origin)

    def scan(self) -> None:
        """Read every sample once and raise on the first NaN/Inf (naming file, key and index)."""
        for s in self.sets:
            s.scan()

    def batches(self, batch_size: int, check_finite: bool = False) -> Iterator[list[np.ndarray]]:
        """Consecutive batches, one array per input (the same samples of each)."""
        streams = [s.batches(batch_size, check_finite) for s in self.sets]
        return (list(parts) for parts in zip(*streams))

    def feeds(self, batch_size: int, check_finite: bool = False) -> Iterator[dict[str, np.ndarray]]:
        """Like :meth:`batches`, keyed by input name (an onnxruntime feed)."""
        names = self.input_names
        return (dict(zip(names, parts)) for parts in self.batches(batch_size, check_finite))

    def read_all(self, check_finite: bool = True) -> list[np.ndarray]:
        """Every sample of every input, whole (for the board check)."""
        return [s.read_all(check_finite) for s in self.sets]


def open_inputs(
    path: str | Path, specs: list[InputSpec], dtype: str = "float32", allow_folder: bool = False, what: str = "samples"
) -> InputSet:
    """Open the samples of every input in ``specs`` (plan/model order), checking every header."""
    path = Path(path)
    if len(specs) == 1:
        name, shape = specs[0]
        return InputSet([open_samples(path, name, shape, dtype, allow_folder=allow_folder, what=what)], str(path))
    if path.suffix != ".npz" or path.is_dir():
        names = ", ".join(name for name, _ in specs)
        raise DataFileError(
            f"{path}: the model has {len(specs)} inputs ({names}); give an .npz with one array per input name"
        )
    members = npz_members(path)
    wanted = [name for name, _ in specs]
    for name in wanted:
        if name not in members:
            raise DataFileError(
                f"{path}: no array '{name}' for model input '{name}' (keys: {', '.join(sorted(members))})"
            )
    for key in members:
        if key not in wanted and key != LABEL_KEY and not key.startswith(LABEL_PREFIX):
            raise DataFileError(
                f"{path}: array '{key}' is not a model input (inputs: {', '.join(wanted)}; "
                f"labels: '{LABEL_KEY}' or '{LABEL_PREFIX}<output>')"
            )
    target = target_dtype(dtype)
    sets = []
    for name, shape in specs:
        source = NpzMemberSource(path, members[name])
        row = list(shape) if shape is not None else list(source.shape[1:])
        if any(int(d) <= 0 for d in row):
            raise DataShapeError(f"input '{name}': shape {row} must be static (all dims > 0)")
        part = validated_part(source, row, target)
        sets.append(SampleSet(name, row, target, [part], str(path)))
    _check_counts(path, sets)
    if len(sets[0]) == 0:
        raise EmptyDataError(f"{path}: no {what} (every array is empty)")
    return InputSet(sets, str(path))


def _check_counts(path: Path, sets: list[SampleSet]) -> None:
    first = sets[0]
    for s in sets[1:]:
        if len(s) != len(first):
            raise DataShapeError(
                f"{path}: array '{s.input_name}' has {len(s)} samples, "
                f"'{first.input_name}' has {len(first)} (one sample per row in every input)"
            )


def open_output_labels(path: str | Path, count: int, output_names: list[str]) -> dict[str, Source]:
    """The label arrays of an .npz by output name: ``label/<output>``, and ``label`` for the first output.

    A ``label/<name>`` that names no output is an error (a typo must not silently drop a metric).
    """
    path = Path(path)
    if path.suffix != ".npz" or not output_names:
        return {}
    members = npz_members(path)
    labels: dict[str, Source] = {}
    for key in members:
        if not key.startswith(LABEL_PREFIX):
            continue
        name = key[len(LABEL_PREFIX) :]
        if name not in output_names:
            raise DataFileError(f"{path}: labels '{key}' name no model output (outputs: {', '.join(output_names)})")
        labels[name] = open_labels(path, count, key)
    if LABEL_KEY in members:
        if output_names[0] in labels:
            raise DataFileError(
                f"{path}: both '{LABEL_KEY}' and '{LABEL_PREFIX}{output_names[0]}' label output "
                f"'{output_names[0]}'; keep one"
            )
        labels[output_names[0]] = open_labels(path, count, LABEL_KEY)
    return {name: labels[name] for name in output_names if name in labels}


def scan_output_labels(labels: dict[str, Source]) -> None:
    for source in labels.values():
        scan_labels(source)


def output_label_batches(labels: dict[str, Source], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Per batch, ``{output name: int64 labels}`` aligned with ``InputSet.batches(batch_size)``."""
    if not labels:
        return _forever_empty()
    names = list(labels)
    streams = [label_batches(labels[name], batch_size) for name in names]
    return (dict(zip(names, parts)) for parts in zip(*streams))


def _forever_empty() -> Iterator[dict[str, np.ndarray]]:
    while True:
        yield {}


def read_output_labels(labels: dict[str, Source], count: int) -> dict[str, np.ndarray]:
    """Every label array whole (the board check holds its samples in memory anyway)."""
    return {name: next(label_batches(source, count)) for name, source in labels.items()}
