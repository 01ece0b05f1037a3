#!/usr/bin/env python
"""From an LMS bulk download to the inbox, and from the grades to an LMS gradebook import.

Both grading routes (nbgrader: ``course.py``; Otter: ``otter_export.py grade``) read an inbox
``<inbox>/<student>/<ps>/<ps>.ipynb``. An LMS's "download all submissions" renames the files;
this script maps them back, with a roster, and writes the grades in the LMS's import format::

    python coursework/scripts/lms.py inbox DOWNLOAD --roster ROSTER.csv --out INBOX
    python coursework/scripts/lms.py grades GRADES.csv --roster ROSTER.csv --out canvas.csv [--assignment ps1=12345 ...]

``DOWNLOAD`` is the downloaded zip or its unpacked folder. Recognised names (:func:`parse_name`):

* Canvas: ``lastnamefirstname_12345_67890_ps1.ipynb`` (``_LATE_`` after the name for a late
  one, and ``ps1-1.ipynb`` for a resubmission): the first number is the student's Canvas user id;
* Moodle: ``Ada Lovelace_4711_assignsubmission_file_ps1.ipynb``, or the same as a folder
  holding ``ps1.ipynb``: the number is the participant id.

``ROSTER.csv`` maps those LMS ids to the course's student ids; either Canvas's own gradebook
export (columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``: the student
id is the SIS User ID, else the SIS Login ID) or any CSV with columns ``lms_id`` and
``student_id`` (optional ``name``, ``section``). The problem set comes from the notebook itself
(its cells' nbgrader ids, else its title), else from the file name.

Every file that cannot be mapped (unknown name pattern, LMS id not in the roster, not a problem
set's notebook, two files for one student and problem set) is reported on one line and not
copied; the command then exits with status 1. The download is only read.

``GRADES.csv`` is ``reports/grades.csv`` (nbgrader route) or ``reports/otter_grades.csv``
(Otter route): one row per student and problem set with ``student_id``, ``assignment`` and
``score``. The output (:func:`canvas_csv`) is Canvas's gradebook format: ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per problem set named
``ps1 (12345)`` with Canvas's assignment id (from ``--assignment`` or from the roster's own
columns), and a ``Points Possible`` row. Without a Canvas roster it writes the generic format
(:func:`generic_csv`): ``student_id`` then one column per problem set.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import re
import runpy
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SCRIPTS = Path(__file__).resolve().parent
load = runpy.run_path(str(SCRIPTS / "siblings.py"))["load"]
grading = load("grading")

_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")  # \Z, not $: "$" also matches before a final newline
_CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?:_LATE)?_(?P<lms_id>\d+)_(?P<submission>\d+)_(?P<file>[^/]+)$")
_MOODLE = re.compile(r"^(?P<name>[^_/]+)_(?P<lms_id>\d+)_assignsubmission_file_(?P<file>[^/]*)$")
_MOODLE_FOLDER = re.compile(r"^(?P<name>[^_/]+)_(?P<lms_id>\d+)_assignsubmission_file_?$")
_PS = re.compile(r"^(ps\d+)(?:-\d+)?\.ipynb$")
#: A notebook larger than this in a download is refused (no problem set comes near it; the grader's cap).
MAX_NOTEBOOK = grading.MAX_NOTEBOOK
#: The most bytes read from one download in all (a zip of 1 MB can unpack to gigabytes).
MAX_DOWNLOAD = 2 << 30
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


class LMSError(ValueError):
    """Input this script cannot use (a roster or grades file): one line saying what and where."""


@dataclass(frozen=True)
class Person:
    lms_id: str
    student_id: str
    name: str = ""
    login: str = ""
    section: str = ""


@dataclass(frozen=True)
class Roster:
    people: dict[str, Person]           #: LMS id -> person
    assignment_ids: dict[str, str]      #: problem set -> Canvas assignment id (from the roster's columns)
    canvas: bool                        #: read from a Canvas gradebook export


def _own_name(filename: str) -> tuple[str, str] | None:
    for pattern in (_CANVAS, _MOODLE):
        m = pattern.match(filename)
        if m and m.group("file"):
            return m.group("lms_id"), m.group("file")
    return None


def parse_name(name: str) -> tuple[str, str] | None:
    """``(lms_id, file name)`` from a downloaded file's path, or None if no LMS pattern matches.

    Inside a Moodle submission folder (``Ada Lovelace_4711_assignsubmission_file_/...``) the
    folder's id decides: the LMS made the folder, the student named the file. A file there whose
    own name carries another id (a student's notebook named after a classmate's download) is
    refused with :class:`LMSError`, as are nested submission folders of different ids.
    """
    path = PurePosixPath(name.replace("\\", "/"))
    folders = {m.group("lms_id") for part in path.parts[:-1] if (m := _MOODLE_FOLDER.match(part))}
    own = _own_name(path.name)
    if not folders:
        return own
    ids = folders | ({own[0]} if own else set())
    if len(ids) > 1:
        raise LMSError(f"{name}: a file of submission folder {', '.join(sorted(folders))} names LMS id(s) "
                       f"{', '.join(sorted(ids - folders)) or ', '.join(sorted(folders))}: refused (the folder decides "
                       "whose file it is; ask which student it belongs to)")
    return folders.pop(), own[1] if own else path.name


def read_roster(path: Path) -> Roster:
    """The roster: a Canvas gradebook export, or a CSV with ``lms_id`` and ``student_id``."""
    path = Path(path)
    if not path.is_file():
        raise LMSError(f"roster {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
        fields = rows[0].keys() if rows else []
    people, ids = {}, {}
    canvas = {"Student", "ID"} <= set(fields)
    if not canvas and not {"lms_id", "student_id"} <= set(fields):
        raise LMSError(f"roster {path}: need the columns ID and SIS User ID (a Canvas gradebook export) "
                       "or lms_id and student_id")
    if canvas:
        for column in fields:
            m = re.match(r"^(ps\d+)\b.*\((\d+)\)\s*$", column or "")
            if m:
                ids[m.group(1)] = m.group(2)
    for line, row in enumerate(rows, start=2):
        if canvas:
            lms_id = (row.get("ID") or "").strip()
            if not lms_id.isdigit():
                continue  # "Points Possible" and other non-student rows
            student = (row.get("SIS User ID") or "").strip() or (row.get("SIS Login ID") or "").strip()
            person = Person(lms_id, student, (row.get("Student") or "").strip(), (row.get("SIS Login ID") or "").strip(),
                            (row.get("Section") or "").strip())
        else:
            lms_id, student = (row.get("lms_id") or "").strip(), (row.get("student_id") or "").strip()
            person = Person(lms_id, student, (row.get("name") or "").strip(), "", (row.get("section") or "").strip())
        if not lms_id or not _STUDENT_ID.match(student):
            raise LMSError(f"roster {path}, line {line}: no LMS id or no valid student id "
                           "(letters, digits, _ . -)")
        if lms_id in people:
            raise LMSError(f"roster {path}, line {line}: LMS id {lms_id} appears twice")
        people[lms_id] = person
    students = [p.student_id for p in people.values()]
    duplicates = sorted({s for s in students if students.count(s) > 1})
    if duplicates:
        raise LMSError(f"roster {path}: student id {duplicates[0]} belongs to two LMS ids")
    return Roster(people, ids, canvas)


@contextlib.contextmanager
def _members(download: Path):
    """[(name, read)] of every file in the download (a zip or a folder), sorted by name.

    ``read()`` returns the file's bytes, or None if it is larger than :data:`MAX_NOTEBOOK`; it
    raises ValueError for what is not a regular file (a symlink, a FIFO: never followed or
    opened). Files are read one at a time, only when asked for, so memory stays at one notebook.
    """
    download = Path(download)
    if download.is_file() and zipfile.is_zipfile(download):
        with zipfile.ZipFile(download) as zf:
            # zipfile never returns more than the declared size, so that is the size checked
            yield [(info.filename, lambda i=info: zf.read(i) if i.file_size <= MAX_NOTEBOOK else None)
                   for info in sorted(zf.infolist(), key=lambda i: i.filename) if not info.is_dir()]
    elif download.is_dir():
        def read(path):
            try:
                return grading.read_regular(path, MAX_NOTEBOOK)
            except ValueError as exc:
                if "larger" in str(exc):
                    return None
                raise
        yield [(str(path.relative_to(download).as_posix()), lambda p=path: read(p))
               for path in sorted(p for p in download.rglob("*") if not p.is_dir() or p.is_symlink())]
    else:
        raise LMSError(f"download {download} is neither a zip file nor a folder")


def import_download(download: Path, roster: Roster, out: Path, assignments: list[str]) -> tuple[list[Path], list[str]]:
    """Copy the download's notebooks to ``out/<student>/<ps>/<ps>.ipynb``; (written files, problems).

    Every file it cannot use is one problem line, whatever is wrong with it; the others are
    imported. At most :data:`MAX_DOWNLOAD` bytes are read in all.
    """
    out = Path(out)
    with _members(download) as members:
        out = Path(out)
        found: dict[tuple[str, str], list[tuple[str, object, str]]] = {}
        problems = []
        total = 0
        for name, read in members:
            if PurePosixPath(name).name.startswith(".") or "__MACOSX" in name:
                continue
            try:
                parsed = parse_name(name)
            except LMSError as exc:
                problems.append(str(exc))
                continue
            if parsed is None:
                problems.append(f"{name}: not an LMS download name (Canvas lastnamefirstname_<id>_<id>_<file>, "
                                "Moodle <name>_<id>_assignsubmission_file_<file>): skipped")
                continue
            lms_id, filename = parsed
            person = roster.people.get(lms_id)
            if person is None:
                problems.append(f"{name}: LMS id {lms_id} is not in the roster: skipped")
                continue
            if not filename.endswith(".ipynb"):
                problems.append(f"{name}: not a notebook (.ipynb): skipped")
                continue
            try:
                data = read()
            except ValueError as exc:
                problems.append(f"{name}: {exc}: skipped")
                continue
            if data is None:
                problems.append(f"{name}: larger than {MAX_NOTEBOOK >> 20} MB: skipped")
                continue
            total += len(data)
            if total > MAX_DOWNLOAD:
                problems.append(f"{name}: the download unpacks to more than {MAX_DOWNLOAD >> 30} GB: "
                                "this file and the rest skipped")
                break
            try:
                ps = grading.identify(grading.parse_notebook(data))
            except Exception:  # noqa: BLE001 - any odd file is that file's problem (reported below)
                ps = None
            if ps is None:
                m = _PS.match(filename)
                ps = m.group(1) if m else None
            if ps not in assignments:
                problems.append(f"{name}: not a notebook of any problem set ({', '.join(assignments)}): skipped")
                continue
            found.setdefault((person.student_id, ps), []).append((name, read, hashlib.sha256(data).hexdigest()))
            del data
        written = []
        for (student, ps), files in sorted(found.items()):
            if len(files) > 1:
                problems.append(f"{student}/{ps}: {len(files)} files ({', '.join(n for n, _, _ in files)}): "
                                "keep one in the download: skipped")
                continue
            name, read, digest = files[0]
            data = read()
            if data is None or hashlib.sha256(data).hexdigest() != digest:
                problems.append(f"{name}: changed while it was imported: skipped")
                continue
            target = out / student / ps / f"{ps}.ipynb"
            if target.exists() and target.read_bytes() != data:
                # nothing lost: an earlier import (or a hand-fixed notebook) is never overwritten
                problems.append(f"{student}/{ps}: {target} already holds a different notebook: kept it, "
                                f"skipped {name} (move the old one away to import this)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)
        return written, problems


def read_grades(path: Path) -> dict[str, dict[str, float]]:
    """student id -> problem set -> score, from a long grades CSV (nbgrader's or Otter's)."""
    path = Path(path)
    if not path.is_file():
        raise LMSError(f"grades {path} do not exist")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not {"student_id", "assignment", "score"} <= set(reader.fieldnames or []):
            raise LMSError(f"grades {path}: need the columns student_id, assignment and score")
        grades: dict[str, dict[str, float]] = {}
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["score"] or 0)
            except ValueError:
                raise LMSError(f"grades {path}, line {line}: score {row['score']!r} is not a number") from None
            grades.setdefault(row["student_id"], {})[row["assignment"]] = value
    return grades


def _max_scores(course: Path) -> dict[str, float]:
    course_mod = load("course")
    return {ps: sum(grading.layout(course, ps, Path(course) / "source" / ps / f"{ps}.ipynb").points.values())
            for ps in course_mod.assignments(course)}


def canvas_csv(grades: dict, roster: Roster, out: Path, assignment_ids: dict[str, str],
               points: dict[str, float]) -> Path:
    """Canvas's gradebook import CSV: one row per roster student, one column per problem set."""
    names = sorted({ps for g in grades.values() for ps in g} | set(assignment_ids))
    unknown = sorted(set(grades) - {p.student_id for p in roster.people.values()})
    if unknown:
        raise LMSError(f"student {unknown[0]} has grades but is not in the roster")
    missing = [ps for ps in names if ps not in assignment_ids]
    if missing:
        raise LMSError(f"no Canvas assignment id for {missing[0]}: pass --assignment {missing[0]}=<id> "
                       "(the number in the assignment's Canvas URL)")
    columns = [f"{ps} ({assignment_ids[ps]})" for ps in names]
    with Path(out).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CANVAS_COLUMNS, *columns])
        writer.writerow(["Points Possible", "", "", "", "", *(f"{points.get(ps, 0):g}" for ps in names)])
        for person in sorted(roster.people.values(), key=lambda p: (p.name, p.lms_id)):
            scores = grades.get(person.student_id, {})
            writer.writerow([*map(grading.csv_safe, (person.name, person.lms_id, person.student_id, person.login,
                                                     person.section)),
                             *(f"{scores[ps]:g}" if ps in scores else "" for ps in names)])
    return Path(out)


def generic_csv(grades: dict, out: Path) -> Path:
    """The generic import format: ``student_id`` then one column per problem set (blank: no grade)."""
    names = sorted({ps for g in grades.values() for ps in g})
    with Path(out).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", *names])
        for student in sorted(grades):
            writer.writerow([grading.csv_safe(student),
                             *(f"{grades[student][ps]:g}" if ps in grades[student] else "" for ps in names)])
    return Path(out)


def _assignment_ids(pairs: list[str]) -> dict[str, str]:
    ids = {}
    for pair in pairs:
        m = re.match(r"^(ps\d+)=(\d+)$", pair)
        if not m:
            raise LMSError(f"--assignment {pair!r}: write it as ps1=12345")
        ids[m.group(1)] = m.group(2)
    return ids


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=SCRIPTS.parent, help="course directory (default: %(default)s)")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("inbox", help="LMS download (zip or folder) -> <out>/<student>/<ps>/<ps>.ipynb")
    p.add_argument("download", type=Path)
    p.add_argument("--roster", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("grades", help="grades CSV -> LMS import CSV")
    p.add_argument("grades", type=Path)
    p.add_argument("--roster", type=Path, help="Canvas gradebook export or lms_id,student_id CSV (else: generic format)")
    p.add_argument("--assignment", action="append", default=[], help="ps1=12345: Canvas assignment id of ps1")
    p.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    course = args.course.resolve()
    try:
        if args.step == "inbox":
            assignments = load("course").assignments(course)
            written, problems = import_download(args.download, read_roster(args.roster), args.out, assignments)
            for path in written:
                print(f"inbox {path}")
            for problem in problems:
                print(f"PROBLEM {problem}", file=sys.stderr)
            print(f"{len(written)} notebooks into {args.out}, {len(problems)} problems")
            return 1 if problems else 0
        grades = read_grades(args.grades)
        roster = read_roster(args.roster) if args.roster else None
        if roster is not None and roster.canvas:
            ids = roster.assignment_ids | _assignment_ids(args.assignment)
            canvas_csv(grades, roster, args.out, ids, _max_scores(course))
        else:
            generic_csv(grades, args.out)
        print(f"wrote {args.out}")
    except LMSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
