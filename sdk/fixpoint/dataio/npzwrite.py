"""Write an .npz whose arrays arrive in row batches: flat memory, atomic.

Each array is streamed into its own temporary ``.npy`` (its header written up
front with the final row count, which the caller knows from the input
headers); the archive is then assembled member by member with zipfile's
streaming writes (DEFLATE, like ``np.savez_compressed``, ZIP64 when large) and
replaces the target only once complete. Peak memory is one batch, whatever
the number of rows; the temporary files live beside the target (same file
system) and are removed on success and on error alike.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from fixpoint.dataio.errors import DataFileError, one_line
from fixpoint.fileio import atomic_path

_COPY_BYTES = 1 << 20  # read size while zipping a finished array


class NpzStreamWriter:
    """Arrays of ``rows`` rows each, appended batch by batch (use :func:`stream_npz`)."""

    def __init__(self, path: Path, rows: int, work_dir: Path) -> None:
        self.path = path
        self.rows = rows
        self._work = work_dir
        self._files: dict[str, tuple[Path, IO[bytes]]] = {}
        self._written: dict[str, int] = {}
        self._row_type: dict[str, tuple[tuple[int, ...], np.dtype]] = {}

    def append(self, key: str, batch: np.ndarray) -> None:
        """Append rows ``[k, ...]`` to array ``key`` (created at its first batch)."""
        batch = np.ascontiguousarray(batch)
        if key not in self._files:
            self._create(key, batch)
        if (batch.shape[1:], batch.dtype) != self._row_type[key]:
            raise ValueError(
                f"npz writer: '{key}' got rows {batch.dtype} {list(batch.shape[1:])}, expected {self._row_type[key]}"
            )
        if self._written[key] + len(batch) > self.rows:
            raise ValueError(f"npz writer: more than {self.rows} rows for '{key}'")
        self._files[key][1].write(batch.data)
        self._written[key] += len(batch)

    def _create(self, key: str, batch: np.ndarray) -> None:
        tmp = self._work / f"{len(self._files):04d}.npy"
        fp = open(tmp, "wb")  # noqa: SIM115 - stays open across appends, closed by close_members
        header = {
            "descr": np.lib.format.dtype_to_descr(batch.dtype),
            "fortran_order": False,
            "shape": (self.rows, *batch.shape[1:]),
        }
        np.lib.format.write_array_header_2_0(fp, header)
        self._files[key] = (tmp, fp)
        self._written[key] = 0
        self._row_type[key] = (batch.shape[1:], batch.dtype)

    def close_members(self) -> None:
        for _, fp in self._files.values():
            fp.close()

    def assemble(self, archive: Path) -> None:
        """Zip the finished arrays into ``archive`` (streamed from disk, one member at a time)."""
        short = [key for key, n in self._written.items() if n != self.rows]
        if short:
            raise ValueError(f"npz writer: '{short[0]}' has {self._written[short[0]]} of {self.rows} rows")
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for key, (tmp, _) in self._files.items():
                # ZipInfo(name) keeps the key as is (ZipFile.write would normalize 'tensor//x' to
                # 'tensor/x'), the same member names np.savez writes
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(tmp, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, _COPY_BYTES)


@contextmanager
def stream_npz(path: str | Path, rows: int) -> Iterator[NpzStreamWriter]:
    """Yield a writer; on success the archive replaces ``path``, on error nothing is left behind."""
    path = Path(path)
    if path.is_dir():
        raise DataFileError(f"{path}: is a directory, expected an output .npz file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    except OSError as exc:
        raise DataFileError(f"{path}: cannot write ({one_line(exc.strerror or exc)})") from None
    writer = NpzStreamWriter(path, rows, work)
    try:
        yield writer
        writer.close_members()
        with atomic_path(path, suffix=".npz") as tmp:
            writer.assemble(tmp)
    except OSError as exc:
        raise DataFileError(f"{path}: cannot write ({one_line(exc.strerror or exc)})") from None
    finally:
        writer.close_members()
        shutil.rmtree(work, ignore_errors=True)
