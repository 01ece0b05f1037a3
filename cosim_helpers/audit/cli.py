"""``cosim-audit``: the gauge audit from a shell (book chapter 9).

Usage::

    cosim-audit P.npy Q.npy [--objective NAME] [--weights A,B | --weights-P W.npy --weights-Q V.npy]
                [--labels L.csv] [--user-labels L.csv] [--top 10] [--samples N] [--transforms 20]
                [--max-cond 10] [--alpha-max 0.5] [--seed S] [--side items|users|both]
                [--runs Q2.npy ...] [--json out.json] [--rebalance out.npz] [--quiet]
                [--scheduler ADDRESS | --dask-workers N]

``P`` holds one user (query) embedding per row, ``Q`` one item embedding per
row; the model's scores are ``P Qᵀ``. Files may be ``.npy``, ``.npz`` (one
array) or ``.csv`` (comma-separated numbers, an optional header line: a line
with a field that is not a number, or the column numbers ``0,1,...,k-1`` that
``pandas.DataFrame.to_csv(index=False)`` writes). Labels may be integers or
strings, in ``.npy`` or ``.csv`` (one per row, a header line allowed); an
empty field or ``NaN`` leaves a row unlabelled. Every bad input ends with a
one-line message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .objectives import VOCABULARY

EXIT_USAGE = 2


class InputError(Exception):
    """A problem with the user's input, reported as one line (no traceback)."""


def _is_header(file: Path) -> bool:
    """A first CSV line is a header if no field is a number, or if it is the column numbers 0,1,...,k-1."""
    with open(file, encoding="utf-8", errors="replace") as handle:
        fields = [f.strip().strip('"') for f in handle.readline().split(",")]

    def number(text):
        try:
            float(text)
            return True
        except ValueError:
            return False

    return not any(number(f) for f in fields) or fields == [str(i) for i in range(len(fields))]


def load_labels(path: str, name: str, rows: int) -> np.ndarray:
    """Labels from ``.npy`` (integers, strings, or floats with NaN) or ``.csv``; raise :class:`InputError`.

    A CSV file with one line more than there are rows starts with a header.
    Empty fields and ``NaN`` mark unlabelled rows.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{name}: no such file: {path}")
    suffix = file.suffix.lower()
    if suffix == ".csv":
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{name}: cannot read {path}: {exc}") from None
        if len(lines) == rows + 1:
            lines = lines[1:]
        if any("," in line for line in lines):
            raise InputError(f"{name}: {path} must hold one label per line (one column)")
        data = np.array([line.strip().strip('"') for line in lines], dtype=object)
    elif suffix in (".npy", ".npz"):
        data = load_matrix(path, name, ndim=1, numeric=False)
    else:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'!r} of {path}; use .npy or .csv")
    if data.shape != (rows,):
        raise InputError(f"{name}: {data.shape[0]} labels for {rows} rows (leave a row's label empty "
                         "to leave it unlabelled)")
    return data


def load_matrix(path: str, name: str, *, ndim: int = 2, numeric: bool = True) -> np.ndarray:
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
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # numpy warns about an empty file: ours is one line
                data = np.loadtxt(file, delimiter=",", ndmin=ndim, skiprows=int(_is_header(file)))
        else:
            raise InputError(f"{name}: unsupported file type {suffix or '(none)'!r} of {path}; use .npy, .npz or .csv")
    except InputError:
        raise
    except UserWarning:
        raise InputError(f"{name}: {path} is empty") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{name}: cannot read {path}: {first}") from None
    if data.dtype.kind == "c":
        raise InputError(f"{name}: {path} holds complex numbers; the audit needs real factors")
    if numeric and (data.dtype == object or not (np.issubdtype(data.dtype, np.number) or data.dtype == bool)):
        raise InputError(f"{name}: {path} must hold numbers, got dtype {data.dtype}")
    if ndim == 1 and data.ndim == 2 and 1 in data.shape:
        data = data.ravel()
    if data.ndim != ndim:
        raise InputError(f"{name}: {path} must be a {ndim}-D array, got shape {data.shape}")
    if data.size == 0:
        raise InputError(f"{name}: {path} is empty (shape {data.shape})")
    if numeric and np.issubdtype(data.dtype, np.inexact) and not np.all(np.isfinite(data)):
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
    p.add_argument("--objective", default="unknown", choices=tuple(VOCABULARY),
                   help="the objective that trained the factors (default unknown: no verdict on the gauge); "
                        "see the book's chapter 9")
    p.add_argument("--weights", metavar="A,B", help="per-side penalty weights of l2 / nonneg-l2 / ranking-l2 (default 1,1)")
    p.add_argument("--weights-P", metavar="FILE", help="one penalty weight per row of P (count-weighted l2)")
    p.add_argument("--weights-Q", metavar="FILE", help="one penalty weight per row of Q (count-weighted l2)")
    p.add_argument("--labels", help="item cluster labels, one per row of Q (empty: unlabelled), .npy or .csv")
    p.add_argument("--user-labels", help="user cluster labels, one per row of P")
    p.add_argument("--exclude-constant", action="store_true",
                   help="drop columns constant over all rows of P or Q (bias columns) before auditing")
    p.add_argument("--alpha-max", type=float, default=0.5, help="range of the power family (default 0.5)")
    p.add_argument("--runs", nargs="+", metavar="Q_RUN",
                   help="item factors of other trained runs of the same model (other seeds): reports how much "
                        "their top neighbours agree with Q's")
    p.add_argument("--rebalance", metavar="OUT.npz",
                   help="write factors with the same scores in the gauge the declared objective picks (arrays P and Q); longer "
                        "training moves toward that gauge and also changes the scores")
    p.add_argument("--top", type=int, default=10, help="neighbours compared per query (default 10)")
    p.add_argument("--samples", type=int, default=1000, help="query rows sampled per side (default 1000)")
    p.add_argument("--transforms", type=int, default=20, help="size of the gauge family (default 20)")
    p.add_argument("--max-cond", type=float, default=10.0, help="condition-number bound of random D, G (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--side", choices=("items", "users", "both"), default="both", help="which side to audit")
    p.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    dask = p.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run on this Dask scheduler (e.g. tcp://10.0.0.5:8786); .npy files and directories of "
                           ".npy chunks are then read by the workers, never loaded whole")
    dask.add_argument("--dask-workers", type=int, metavar="N",
                      help="start a Dask LocalCluster of N worker processes for this run (as --scheduler)")
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


def _weights(args, rows_P, rows_Q):
    """The penalty weights of the command line: ``--weights A,B`` or one file per side, or ``None``."""
    if args.weights is None and args.weights_P is None and args.weights_Q is None:
        return None
    if args.weights is not None and (args.weights_P or args.weights_Q):
        raise InputError("give --weights or --weights-P/--weights-Q, not both")
    if args.weights is not None:
        try:
            a, b = (float(v) for v in args.weights.split(","))
        except ValueError:
            raise InputError(f"--weights must be two numbers A,B, got {args.weights!r}") from None
        return a, b
    w_P = 1.0 if args.weights_P is None else load_matrix(args.weights_P, "--weights-P", ndim=1)
    w_Q = 1.0 if args.weights_Q is None else load_matrix(args.weights_Q, "--weights-Q", ndim=1)
    return w_P, w_Q


def main(argv=None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 bad input)."""
    from .core import audit

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return int(exc.code or 0) and EXIT_USAGE
    on_dask = args.scheduler is not None or args.dask_workers is not None
    try:
        if on_dask:  # the Dask path (distributed.py): files opened lazily
            from .distributed import open_input
            P, Q = open_input(args.P, "P", load_matrix), open_input(args.Q, "Q", load_matrix)
            if args.rebalance or args.runs:
                raise InputError("--rebalance and --runs hold whole factors in memory: not with --scheduler / "
                                 "--dask-workers")
        else:
            P = load_matrix(args.P, "P")
            Q = load_matrix(args.Q, "Q")
        if P.shape[1] != Q.shape[1]:
            raise InputError(f"k mismatch: P has {P.shape[1]} columns, Q has {Q.shape[1]}; both need the same k")
        labels = None if args.labels is None else load_labels(args.labels, "labels", Q.shape[0])
        user_labels = None if args.user_labels is None else load_labels(args.user_labels, "user labels",
                                                                         P.shape[0])
        weights = _weights(args, P.shape[0], Q.shape[0])
        runs = [load_matrix(path, f"--runs {path}") for path in (args.runs or [])]
        for path, run in zip(args.runs or [], runs):
            if run.shape[0] != Q.shape[0]:
                raise InputError(f"--runs: {path} has {run.shape[0]} rows, Q has {Q.shape[0]}: runs must list the "
                                 "same items in the same order")
        for flag, value, low in (("--top", args.top, 1), ("--samples", args.samples, 1),
                                 ("--transforms", args.transforms, 3)):
            if value < low:
                raise InputError(f"{flag} must be >= {low}, got {value}")
        if not args.max_cond > 1 or not np.isfinite(args.max_cond):
            raise InputError(f"--max-cond must be a finite number > 1, got {args.max_cond}")
        for flag, target, suffix in (("--json", args.json, None), ("--rebalance", args.rebalance, ".npz")):
            if target is None:
                continue
            out = Path(target)
            if out.is_dir() or target.endswith(("/", "\\")):
                raise InputError(f"{flag}: {target} is a directory; give a file name")
            if not out.parent.is_dir():
                raise InputError(f"{flag}: directory {out.parent} does not exist")
            if suffix and out.suffix.lower() != suffix:
                raise InputError(f"{flag}: {target} must end in {suffix}")
        if args.rebalance and args.exclude_constant:
            raise InputError("--rebalance writes the full factors: not with --exclude-constant")
        if args.rebalance and args.objective not in ("l2", "nonneg-l2", "ranking-l2"):
            raise InputError(f"--rebalance needs an objective whose penalty picks a gauge (l2, nonneg-l2, ranking-l2), "
                             f"got {args.objective}")
        sides = ("items", "users") if args.side == "both" else (args.side,)
        if on_dask:
            from .distributed import cli_client
        session = cli_client(args.scheduler, args.dask_workers, sys.stderr) if on_dask else contextlib.nullcontext()
        with session as client:
            result = audit(P if on_dask else P.astype(np.float64), Q if on_dask else Q.astype(np.float64),
                           objective=args.objective, weights=weights, labels=labels, user_labels=user_labels,
                           top=args.top, n_queries=args.samples, n_transforms=args.transforms,
                           max_cond=args.max_cond, alpha_max=args.alpha_max, sides=sides,
                           exclude_constant=args.exclude_constant, seed=args.seed, client=client,
                           progress=None if args.quiet else _progress(sys.stderr))
    except KeyboardInterrupt:
        print("cosim-audit: interrupted" + (" (the cluster's tasks were cancelled)" if on_dask else ""),
              file=sys.stderr)
        return 130
    except (InputError, ValueError, TypeError) as exc:
        print(f"cosim-audit: error: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("cosim-audit: error: out of memory; try fewer --samples", file=sys.stderr)
        return EXIT_USAGE
    print(result)
    data = result.to_dict()
    if runs:
        from .seeds import seed_agreement

        top = min(args.top, Q.shape[0] - 1)
        agreement = seed_agreement([Q.astype(np.float64)] + [r.astype(np.float64) for r in runs], top=top,
                                   n_queries=args.samples, seed=args.seed)
        print(f"seed agreement over {len(runs) + 1} runs: {agreement:.1%} of each item's top-{top} cosine "
              "neighbours agree between two runs (mean over pairs)")
        data["seed_agreement"] = {"runs": len(runs) + 1, "top": top, "mean_share": agreement}
    try:
        if args.json:
            Path(args.json).write_text(json.dumps(data, indent=2, allow_nan=False))
        if args.rebalance:
            T = result.balance.transform
            np.savez(args.rebalance, P=P @ T.M_P, Q=Q @ T.M_Q + (0.0 if T.shift is None else T.shift))
    except OSError as exc:
        print(f"cosim-audit: error: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
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
