"""Jinja2 rendering of the view models, and the atomic write of the results.

Templates are whole files under ``codegen_templates/``; they only loop and
print. ``StrictUndefined`` turns a view field a template expects but the view
lacks into an error instead of silently empty C.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import jinja2

from .._paths import data_dir


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("codegen_templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,  # a line holding only a {% tag %} leaves no blank line
        lstrip_blocks=True,
        autoescape=False,  # C, not HTML
    )


def render_template(name: str, view: Any) -> str:
    """Render template ``name`` with ``view`` (a view dataclass or a mapping) as ``v``."""
    if dataclasses.is_dataclass(view):
        view = {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}
    return environment().get_template(name).render(v=view)


def write_atomically(files: Mapping[str, str], out_dir: Path) -> dict[str, Path]:
    """Write every file into a temporary folder inside ``out_dir``, then move them in.

    A failure before the moves leaves ``out_dir`` as it was; the moves are
    ``os.replace`` calls, each atomic.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".codegen-", dir=out_dir))
    try:
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        paths = {}
        for name in files:
            os.replace(staging / name, out_dir / name)
            paths[name] = out_dir / name
        return paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)
