"""``cosim-audit``: the gauge audit from a shell (book chapter 9).

Usage::

    cosim-audit P.npy Q.npy [--labels L.npy] [--top 10] [--samples N] [--transforms 20]
                [--seed S] [--side items|users|both] [--json out.json] [--quiet]

``P`` holds one user (query) embedding per row, ``Q`` one item embedding per
row; the model's scores are ``P Qᵀ``. Files may be ``.npy``, ``.npz`` (one
array) or ``.csv`` (comma-separated numbers, an optional header line).
Every bad input ends with a one-line message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

EXIT_USAGE = 2


class InputError(Exception):
    """A problem with the user's input, reported as one line (no traceback)."""


def _is_header(file: Path) -> bool:
    """A first CSV line none of whose fields is a number is a header."""
    with open(file, encoding="utf-8", errors="replace") as handle:
        fields = handle.readline().split(",")

    def number(text):
        try:
            float(text)
            return True
        except ValueError:
            return False

    return not any(number(f) for f in fields)


def load_matrix(path: str, name: str, *, ndim: int = 2) -> np.ndarray:
    """Read a ``.npy``, ``.npz`` (exactly one array) or ``.csv`` file; raise :class:`InputError`."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{name}: no such file: {path}")
    suffix = file.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(file, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                keys = list(archive.keys())
                if len(keys) != 1:
                    raise InputError(f"{name}: {path} must hold exactly one array, found {len(keys)}"
                                     + (f" ({', '.join(keys)})" if keys else ""))
                data = archive[keys[0]]
        elif suffix == ".csv":
            data = np.loadtxt(file, delimiter=",", ndmin=ndim, skiprows=int(_is_header(file)))
        else:
            raise InputError(f"{name}: unsupported file type {suffix or '(none)'!r} of {path}; use .npy, .npz or .csv")
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{name}: cannot read {path}: {first}") from None
    if data.dtype == object or not (np.issubdtype(data.dtype, np.number) or data.dtype == bool):
        raise InputError(f"{name}: {path} must hold numbers, got dtype {data.dtype}")
    if ndim == 1 and data.ndim == 2 and 1 in data.shape:
        data = data.ravel()
    if data.ndim != ndim:
        raise InputError(f"{name}: {path} must be a {ndim}-D array, got shape {data.shape}")
    if data.size == 0:
        raise InputError(f"{name}: {path} is empty (shape {data.shape})")
    if np.issubdtype(data.dtype, np.inexact) and not np.all(np.isfinite(data)):
        raise InputError(f"{name}: {path} contains NaN or inf")
    return data


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not usage plus error."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"cosim-audit: error: {message} (see cosim-audit --help)\n")


def _parser():
    p = _Parser(prog="cosim-audit", description="Gauge audit of the cosine similarities of a "
                                "dot-product model with scores P Q^T (book chapter 'Audit your own embeddings').")
    p.add_argument("P", help="user / query factors, n x k (.npy, .npz or .csv)")
    p.add_argument("Q", help="item factors, m x k (.npy, .npz or .csv)")
    p.add_argument("--labels", help="item cluster labels, length m: adds the cluster-recovery range")
    p.add_argument("--top", type=int, default=10, help="neighbours compared per query (default 10)")
    p.add_argument("--samples", type=int, default=1000, help="query rows sampled per side (default 1000)")
    p.add_argument("--transforms", type=int, default=20, help="size of the gauge family (default 20)")
    p.add_argument("--max-cond", type=float, default=10.0, help="condition-number bound of random D, G (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--side", choices=("items", "users", "both"), default="both", help="which side to audit")
    p.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return p


def _progress(stream):
    last = {}

    def report(side, done, total):
        pct = int(100 * done / total)
        if last.get(side) != pct:
            last[side] = pct
            stream.write(f"\rcosim-audit: {side}: {pct:3d}% of {total:,} rows")
            if done == total:
                stream.write("\n")
            stream.flush()

    return report


def main(argv=None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 bad input)."""
    from .core import audit

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return int(exc.code or 0) and EXIT_USAGE
    try:
        P = load_matrix(args.P, "P")
        Q = load_matrix(args.Q, "Q")
        if P.shape[1] != Q.shape[1]:
            raise InputError(f"k mismatch: P has {P.shape[1]} columns, Q has {Q.shape[1]}; both need the same k")
        labels = None if args.labels is None else load_matrix(args.labels, "labels", ndim=1)
        if labels is not None and labels.shape[0] != Q.shape[0]:
            raise InputError(f"labels: {labels.shape[0]} entries for {Q.shape[0]} items (rows of Q)")
        for flag, value, low in (("--top", args.top, 1), ("--samples", args.samples, 1),
                                 ("--transforms", args.transforms, 3)):
            if value < low:
                raise InputError(f"{flag} must be >= {low}, got {value}")
        if not args.max_cond > 1 or not np.isfinite(args.max_cond):
            raise InputError(f"--max-cond must be a finite number > 1, got {args.max_cond}")
        if args.json:
            out = Path(args.json)
            if not out.parent.is_dir():
                raise InputError(f"--json: directory {out.parent} does not exist")
        sides = ("items", "users") if args.side == "both" else (args.side,)
        result = audit(P.astype(np.float64), Q.astype(np.float64), labels=labels, top=args.top,
                       n_queries=args.samples, n_transforms=args.transforms, max_cond=args.max_cond,
                       sides=sides, seed=args.seed, progress=None if args.quiet else _progress(sys.stderr))
    except (InputError, ValueError, TypeError) as exc:
        print(f"cosim-audit: error: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("cosim-audit: error: out of memory; try fewer --samples", file=sys.stderr)
        return EXIT_USAGE
    print(result)
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(result.to_dict(), indent=2))
        except OSError as exc:
            print(f"cosim-audit: error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    return 0


def run() -> None:
    """Console-script entry point (``[project.scripts]`` in pyproject.toml)."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        status = 0
    sys.exit(status)
