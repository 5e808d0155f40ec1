"""Tensors stored in side files (ONNX external data), read only from inside the model's folder.

A model file is untrusted input: its ``location`` fields must not make us read
an arbitrary file of the machine (absolute paths, ``..``, a symlink leading out
of the folder), and a missing, short or unreadable side file is the user's
error, reported with the tensor it belongs to instead of an onnx exception.
Every location is checked before onnx reads anything.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path, PureWindowsPath

import onnx
from onnx.external_data_helper import load_external_data_for_model, uses_external_data

from fixpoint.frontend.errors import ModelFileError, one_line, short_name


def _graph_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield from (sparse.values, sparse.indices)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _graph_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _graph_tensors(subgraph)


def external_tensors(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Every tensor of the model (initializers, attributes, subgraphs) whose data is external."""
    return [t for t in _graph_tensors(model.graph) if uses_external_data(t)]


def _fields(tensor: onnx.TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def _int_field(fields: dict[str, str], key: str, where: str) -> int | None:
    if key not in fields:
        return None
    try:
        value = int(fields[key])
    except ValueError:
        raise ModelFileError(f"{where}: external data {key} {fields[key]!r} is not an integer") from None
    if value < 0:
        raise ModelFileError(f"{where}: external data {key} {value} is negative")
    return value


def _location_problem(location: str) -> str | None:
    """Why ``location`` may not be read, judged on the text alone."""
    if not location:
        return "has no location"
    if "\0" in location:
        return "location contains a NUL character"
    if os.path.isabs(location) or location.startswith(("/", "\\")) or PureWindowsPath(location).drive:
        return f"location {location!r} is an absolute path; it must be relative to the model's folder"
    if ".." in re.split(r"[\\/]", location):
        return f"location {location!r} uses '..'; it must stay inside the model's folder"
    return None


def _checked_file(folder: Path, location: str, where: str) -> Path:
    problem = _location_problem(location)
    if problem:
        raise ModelFileError(f"{where}: external data {problem}")
    target = (folder / location).resolve()
    if folder != target and folder not in target.parents:
        raise ModelFileError(
            f"{where}: external data file {location!r} resolves to {target}, outside the model's folder (symbolic link)"
        )
    if not target.exists():
        raise ModelFileError(f"{where}: external data file {folder / location} not found")
    if not target.is_file():
        raise ModelFileError(f"{where}: external data location {location!r} is not a regular file")
    return target


def _check_tensor(tensor: onnx.TensorProto, folder: Path, path: Path) -> None:
    where = f"{path}: tensor '{short_name(tensor.name)}'"
    fields = _fields(tensor)
    target = _checked_file(folder, fields.get("location", ""), where)
    offset = _int_field(fields, "offset", where) or 0
    length = _int_field(fields, "length", where)
    size = target.stat().st_size
    if offset > size or (length is not None and offset + length > size):
        wanted = f"{length} bytes at offset {offset}" if length is not None else f"offset {offset}"
        raise ModelFileError(f"{where}: external data file {target.name} has {size} bytes, the tensor needs {wanted}")


def load_external(model: onnx.ModelProto, path: Path) -> None:
    """Read external tensor data of ``model`` (loaded from ``path``) into the model, checked."""
    tensors = external_tensors(model)
    if not tensors:
        return
    folder = path.parent.resolve()
    for tensor in tensors:
        _check_tensor(tensor, folder, path)
    try:
        load_external_data_for_model(model, str(folder))
    except (OSError, ValueError, onnx.checker.ValidationError) as exc:
        raise ModelFileError(f"{path}: cannot load external weight data ({one_line(exc)})") from None
