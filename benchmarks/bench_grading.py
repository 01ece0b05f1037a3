"""Time the sandboxed grading: a class of synthetic honest submissions, and the sandbox's overhead.

    python benchmarks/bench_grading.py            # 100 submissions of ps1 (6.5 minutes on the 2 shared cores it was written on)
    python benchmarks/bench_grading.py --n 20     # a quicker look

What it measures, in one run on this machine:

1. the wall-clock time ``autograde`` needs for ``--n`` synthetic honest submissions of one problem
   set (``--ps``, default ps1): the sample solutions, each with a different harmless comment, so
   that no two files are the same; with ``--workers`` parallel sandboxes (default: all CPUs);
2. the per-task overhead of the sandbox: the same task bundles run with and without bubblewrap
   (same runner, limits and environment; without it only the namespaces and the private file
   system are missing), one after the other, alternating; medians of ``--repeats`` runs each.

Needs bubblewrap. Works on a copy of ``coursework/`` in a temporary folder.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    key = f"coursework_{name}"
    spec = importlib.util.spec_from_file_location(key, ROOT / "coursework" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="synthetic submissions (default 100)")
    parser.add_argument("--ps", default="ps1", help="problem set (default ps1)")
    parser.add_argument("--workers", type=int, default=None, help="parallel sandboxes (default: all CPUs)")
    parser.add_argument("--repeats", type=int, default=15, help="runs per mode for the overhead (default 15)")
    args = parser.parse_args(argv)
    sys.dont_write_bytecode = True
    course = _load("course")
    grading = course.grading
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "coursework"
        shutil.copytree(ROOT / "coursework", root, ignore=shutil.ignore_patterns(
            "release", "submitted", "autograded", "feedback", "reports", "gradebook.db", ".grading", "__pycache__"))
        course.release(root)
        ada = json.loads((root / "class" / "ada" / args.ps / f"{args.ps}.ipynb").read_text())
        inbox = Path(tmp) / "inbox"
        for i in range(args.n):
            nb = json.loads(json.dumps(ada))
            for cell in nb["cells"]:
                if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                    cell["source"] = f"# student {i:03d}\n" + "".join(cell["source"])
            folder = inbox / f"s{i:03d}" / args.ps
            folder.mkdir(parents=True)
            (folder / f"{args.ps}.ipynb").write_text(json.dumps(nb))
        course.collect(inbox, root)
        start = time.monotonic()
        course.autograde(root, workers=args.workers)
        wall = time.monotonic() - start
        with course.export(root)[0].open(newline="") as fh:
            scores = [float(r["score"]) for r in csv.DictReader(fh)
                      if r["assignment"] == args.ps and r["student_id"].startswith("s")]
        lay = grading.layout(root, args.ps)
        seed = grading.SAMPLE_SEED
        sub = grading.read_submission(lay, "bench", root / "class" / "ada" / args.ps / f"{args.ps}.ipynb")
        jobs = []
        for task in lay.points:
            cases = grading.make_cases(lay, task, seed)
            jobs.append(grading.Job(lay, sub, task, cases, grading.encode_cases(cases)))
        work = root / ".grading"
        limits = grading.Limits()
        timings = {True: [], False: []}
        for _ in range(args.repeats):
            for use_sandbox in (True, False):
                for job in jobs:
                    result = grading.run_task(job, work, limits, use_sandbox=use_sandbox)
                    assert result.kind == "passed", (use_sandbox, result)
                    timings[use_sandbox].append(result.seconds)
    n_tasks = len(jobs)
    sandboxed, plain = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"\n{args.n} honest submissions of {args.ps} ({n_tasks} tasks each, {args.n * n_tasks} sandboxed runs): "
          f"{wall:.1f} s wall ({wall / args.n:.2f} s per submission)")
    print(f"all {len(scores)} got full marks: {all(s == 9.0 for s in scores)}")
    print(f"one task run, median of {len(timings[True])}: sandboxed {sandboxed:.3f} s, unsandboxed {plain:.3f} s, "
          f"overhead {sandboxed - plain:+.3f} s ({(sandboxed / plain - 1) * 100:+.0f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
