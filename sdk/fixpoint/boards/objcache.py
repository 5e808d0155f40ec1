"""Content-addressed cache of compiled objects (ccache's "direct mode").

Building one board compiles ~50 files, most of them the runtime, which rarely
changes; the board tests build eight boards. An entry is keyed by compiler,
flags and the source file's bytes; each of its variants remembers the hash of
every header the compiler read (from its -MMD dependency file) and is reused
only while all of those still match. Entries are written to a temporary name and renamed, so
parallel builds can share one cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$FIXPOINT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fixpoint``, else ``~/.cache/fixpoint``."""
    override = os.environ.get("FIXPOINT_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fixpoint"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ObjectCache:
    def __init__(self, root: Path) -> None:
        self.root = root / "objects"
        self.hits = 0
        self.misses = 0

    def key(self, compiler: str, flags: list[str], source: Path) -> str:
        digest = hashlib.sha256()
        for part in (compiler, *flags, str(source)):
            digest.update(part.encode() + b"\0")
        digest.update(source.read_bytes())
        return digest.hexdigest()

    def fetch(self, key: str, dest: Path) -> bool:
        """Copy a cached object for ``key`` whose headers all still match."""
        for variant in self._variants(key):
            try:
                manifest = json.loads((variant / "deps.json").read_text())
                if all(file_digest(Path(dep)) == sha for dep, sha in manifest.items()):
                    shutil.copyfile(variant / "object.o", dest)
                    self.hits += 1
                    return True
            except (OSError, ValueError):
                continue
        self.misses += 1
        return False

    def store(self, key: str, obj: Path, depfile: Path) -> None:
        """Add a variant: the same source and flags compiled against these
        header contents (headers change while the key does not)."""
        deps = json.dumps({str(p): file_digest(p) for p in parse_depfile(depfile)}, sort_keys=True)
        folder = self.root / key[:2] / key
        final = folder / hashlib.sha256(deps.encode()).hexdigest()[:16]
        if final.exists():
            return
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
        try:
            shutil.copyfile(obj, tmp / "object.o")
            (tmp / "deps.json").write_text(deps)
            os.replace(tmp, final)
        except OSError as exc:  # another build stored the same variant first: fine
            log.debug("object cache: not storing %s (%s)", key[:12], exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _variants(self, key: str) -> list[Path]:
        """Newest first: the current headers are most likely the latest ones."""
        folder = self.root / key[:2] / key
        try:
            found = [p for p in folder.iterdir() if not p.name.startswith(".")]
        except OSError:
            return []
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def parse_depfile(depfile: Path) -> list[Path]:
    """Prerequisites of a make rule written by ``gcc -MMD`` (headers included)."""
    text = depfile.read_text().replace("\\\n", " ")
    _, _, prereqs = text.partition(": ")
    names, current = [], ""
    for token in prereqs.split(" "):
        if token.endswith("\\"):  # "\ " escapes a space in a path
            current += token[:-1] + " "
            continue
        current += token
        if current.strip():
            names.append(current.strip())
        current = ""
    return [Path(n) for n in names]
