"""Where the runtime sources, code templates and board files live.

In a repo checkout they are the top-level folders; an installed wheel carries
copies under ``fixpoint/_data/``. Everything locates them through here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent.parent


def data_dir(name: str) -> Path:
    """Folder ``name`` ("runtime", "codegen_templates", "boards")."""
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    in_repo = _REPO_ROOT / name
    if in_repo.is_dir():
        return in_repo
    raise FileNotFoundError(f"fixpoint data folder '{name}' not found (looked in {packaged} and {in_repo})")


def repo_root() -> Path | None:
    """The repo checkout holding this package, or None for an installed wheel."""
    return _REPO_ROOT if (_REPO_ROOT / "pyproject.toml").is_file() else None
