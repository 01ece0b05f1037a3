"""Factor files the audit opens without loading them whole (book chapter 9, "When the catalogue does not fit").

Two formats, both plain NumPy (our choice: what ``np.save`` writes is what
practitioners have, and it needs no library beyond numpy; Zarr would add a
dependency and its own chunk layout for the same row chunks):

* one ``.npy`` file, memory-mapped (``np.load(mmap_mode="r")``) and read by
  row ranges;
* a directory of ``.npy`` files, one chunk of rows each, taken in the
  sorted order of their names (``part-000.npy``, ``part-001.npy``, ...).

Only the headers are read when a source is opened (shape and dtype, so a
chunk of the wrong width is a one-line error naming it at once); the rows
are read chunk by chunk, on the Dask workers (:mod:`cosim_helpers.audit.distributed`),
and converted to float64 there. A chunk holding NaN or inf is found by the
first pass over it and named in the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Rows per chunk of a single memory-mapped file (our choice: 128 Ki rows of
#: k = 64 are 64 MB in float64, a few per worker fit in a 1 GB memory limit).
CHUNK_ROWS = 1 << 17


@dataclass(frozen=True)
class Chunk:
    """Rows ``start:stop`` of the ``.npy`` file ``path`` (its own rows ``lo:hi``)."""

    path: str
    lo: int
    hi: int
    start: int
    stop: int
    name: str


@dataclass(frozen=True)
class FactorSource:
    """A factor matrix on disk, as row chunks; ``shape`` is known without reading the rows."""

    name: str
    shape: tuple
    chunks: tuple

    def load(self) -> np.ndarray:
        """The whole matrix in memory, as float64 (the threaded in-process path, for small inputs)."""
        return np.concatenate([read_chunk(c) for c in self.chunks]) if self.chunks else np.empty(self.shape)

    def rechunk(self, rows: int) -> FactorSource:
        """The same rows in chunks of at most ``rows`` (a chunk never spans two files).

        Each file's rows are split afresh: rechunking 10^6 rows held as
        chunks of 131,072 to 125,000 gives eight chunks, not sixteen that
        alternate 125,000 and 6,072 rows (a small chunk costs a chunk's fixed work).
        """
        out = []
        for c in _file_spans(self.chunks):
            for lo in range(c.lo, c.hi, rows):
                hi = min(lo + rows, c.hi)
                start = c.start + lo - c.lo
                out.append(Chunk(c.path, lo, hi, start, start + hi - lo, _chunk_name(c, lo, hi)))
        return FactorSource(self.name, self.shape, tuple(out))


def _file_spans(chunks):
    """Consecutive chunks of one file with adjacent rows joined into one chunk (its name: the file's)."""
    out = []
    for c in chunks:
        last = out[-1] if out else None
        if last is not None and last.path == c.path and last.hi == c.lo and last.stop == c.start:
            whole = (last.lo, c.hi) == (0, _rows_in(c.path))
            out[-1] = Chunk(c.path, last.lo, c.hi, last.start, c.stop,
                            c.path if whole else f"{c.path} rows {last.lo}:{c.hi}")
        else:
            out.append(c)
    return out


def _rows_in(path: str) -> int:
    return np.load(path, mmap_mode="r", allow_pickle=False).shape[0]


def _chunk_name(c: Chunk, lo: int, hi: int) -> str:
    return c.name if (lo, hi) == (c.lo, c.hi) else f"{c.path} rows {lo}:{hi}"


def _header(path: Path, name: str):
    """Shape and dtype of a ``.npy`` file from its header alone."""
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)  # maps the file, reads the header only
    except (OSError, ValueError) as exc:
        raise ValueError(f"{name}: cannot read {path} as .npy ({exc})") from None
    shape, dtype = data.shape, data.dtype
    if dtype.kind not in "fiu" or dtype.hasobject:
        raise ValueError(f"{name}: {path} must hold real numbers, got dtype {dtype}")
    if len(shape) != 2:
        raise ValueError(f"{name}: {path} must be 2-D (rows x k), got shape {shape}")
    return shape


def open_factor(path, name: str = "factor") -> FactorSource:
    """Open a factor file or a directory of ``.npy`` row chunks without reading its rows.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` file (memory-mapped) or a directory of ``.npy`` files,
        each a chunk of rows with the same number of columns k.
    name : str
        Used in error messages (``"P"``, ``"Q"``).

    Returns
    -------
    FactorSource
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".npy")
        if not files:
            raise ValueError(f"{name}: the directory {path} holds no .npy chunks")
    elif path.suffix == ".npy":
        files = [path]
    else:
        raise ValueError(f"{name}: {path} is neither a .npy file nor a directory of .npy chunks")
    chunks, start, width = [], 0, None
    for file in files:
        rows, k = _header(file, name)
        if width is None:
            width = k
        elif k != width:
            raise ValueError(f"{name}: chunk {file} has {k} columns, the chunks before it {width}")
        if rows:
            chunks.append(Chunk(str(file), 0, rows, start, start + rows, str(file)))
        start += rows
    source = FactorSource(name, (start, width), tuple(chunks))
    if start == 0:
        raise ValueError(f"{name} must not be empty, got shape {source.shape}")
    return source.rechunk(CHUNK_ROWS)


def read_chunk(chunk: Chunk) -> np.ndarray:
    """The rows of one chunk as a float64 array, checked finite (an error names the chunk)."""
    data = np.load(chunk.path, mmap_mode="r", allow_pickle=False)
    out = np.asarray(data[chunk.lo:chunk.hi], dtype=np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"chunk {chunk.name} contains NaN or inf")
    return out


def read_rows(source: FactorSource, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (sorted, distinct) of a source as float64, each file mapped only while it is read."""
    out = np.empty((len(rows), source.shape[1]))
    for c in source.chunks:
        lo, hi = np.searchsorted(rows, (c.start, c.stop))
        if hi > lo:
            data = np.load(c.path, mmap_mode="r", allow_pickle=False)
            out[lo:hi] = data[rows[lo:hi] - c.start + c.lo]
            del data
    return out


def is_source(value) -> bool:
    """True for a :class:`FactorSource` (an input the audit must not load whole)."""
    return isinstance(value, FactorSource)
