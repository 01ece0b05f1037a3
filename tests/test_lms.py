"""From an LMS bulk download to the grading inbox, and from grades to an LMS import (coursework/scripts/lms.py)."""

from __future__ import annotations

import csv
import os
import runpy
import shutil
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSEWORK = ROOT / "coursework"
lms = runpy.run_path(str(COURSEWORK / "scripts" / "siblings.py"))["load"]("lms")
ASSIGNMENTS = ["ps1", "ps2", "ps3", "ps4"]
SAMPLE = COURSEWORK / "class"


def _canvas_roster(path: Path) -> Path:
    path.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,ps1 (501),ps2 (502)\n"
        "    Points Possible,,,,,9,9\n"
        '"Lovelace, Ada",12345,ada,ada@uni,Group A,,\n'
        '"Babbage, Ben",12346,ben,ben@uni,Group B,,\n', encoding="utf-8")
    return path


def _download(tmp_path: Path) -> Path:
    """A Canvas-style zip: renamed notebooks of the sample class, a late one, a resubmission, and bad names."""
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(SAMPLE / "ada" / "ps1" / "ps1.ipynb", "lovelaceada_12345_90001_ps1.ipynb")
        zf.write(SAMPLE / "ada" / "ps2" / "ps2.ipynb", "lovelaceada_LATE_12345_90002_ps2-1.ipynb")
        zf.write(SAMPLE / "ben" / "ps1" / "ps1.ipynb", "babbageben_12346_90003_Untitled.ipynb")  # set from content
        zf.write(SAMPLE / "cy" / "ps1" / "ps1.ipynb", "stranger_99999_90004_ps1.ipynb")        # not in roster
        zf.writestr("notes.txt", "hello")                                                      # no LMS name
        zf.writestr("babbageben_12346_90005_readme.pdf", b"%PDF")                              # not a notebook
        zf.writestr("babbageben_12346_90006_essay.ipynb", '{"cells": []}')                      # no problem set
    return path


def test_parse_name_canvas_and_moodle():
    assert lms.parse_name("lovelaceada_12345_67890_ps1.ipynb") == ("12345", "ps1.ipynb")
    assert lms.parse_name("lovelaceada_LATE_12345_67890_ps1-1.ipynb") == ("12345", "ps1-1.ipynb")
    assert lms.parse_name("Ada Lovelace_4711_assignsubmission_file_ps1.ipynb") == ("4711", "ps1.ipynb")
    assert lms.parse_name("x/Ada Lovelace_4711_assignsubmission_file_/ps1.ipynb") == ("4711", "ps1.ipynb")
    for bad in ("ps1.ipynb", "ada_ps1.ipynb", "lovelaceada_12a45_67890_ps1.ipynb", "notes.txt"):
        assert lms.parse_name(bad) is None, bad


def test_canvas_zip_to_inbox_maps_good_names_and_reports_each_bad_one(tmp_path):
    roster = lms.read_roster(_canvas_roster(tmp_path / "roster.csv"))
    assert roster.canvas and roster.assignment_ids == {"ps1": "501", "ps2": "502"}
    written, problems = lms.import_download(_download(tmp_path), roster, tmp_path / "inbox", ASSIGNMENTS)
    assert sorted(p.relative_to(tmp_path / "inbox").as_posix() for p in written) == [
        "ada/ps1/ps1.ipynb", "ada/ps2/ps2.ipynb", "ben/ps1/ps1.ipynb"]
    assert (tmp_path / "inbox/ada/ps2/ps2.ipynb").read_bytes() == (SAMPLE / "ada/ps2/ps2.ipynb").read_bytes()
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "LMS id 99999 is not in the roster" in text
    assert "notes.txt: not an LMS download name" in text
    assert "readme.pdf: not a notebook" in text
    assert "essay.ipynb: not a notebook of any problem set" in text
    assert all("\n" not in p for p in problems)


def test_moodle_folder_and_duplicates(tmp_path):
    download = tmp_path / "moodle"
    for folder, src in (("Ada Lovelace_4711_assignsubmission_file_", "ada"),
                        ("Ben Babbage_4712_assignsubmission_file_", "ben")):
        (download / folder).mkdir(parents=True)
        shutil.copy(SAMPLE / src / "ps1" / "ps1.ipynb", download / folder / "ps1.ipynb")
    shutil.copy(SAMPLE / "ben" / "ps1" / "ps1.ipynb", download / "Ben Babbage_4712_assignsubmission_file_ps1 (2).ipynb")
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id,name\n4711,ada,Ada Lovelace\n4712,ben,Ben Babbage\n")
    written, problems = lms.import_download(download, lms.read_roster(roster), tmp_path / "inbox", ASSIGNMENTS)
    assert [p.relative_to(tmp_path / "inbox").as_posix() for p in written] == ["ada/ps1/ps1.ipynb"]
    assert len(problems) == 1 and problems[0].startswith("ben/ps1: 2 files")


def test_inbox_never_overwrites_a_different_notebook(tmp_path):
    roster = lms.read_roster(_canvas_roster(tmp_path / "roster.csv"))
    inbox = tmp_path / "inbox"
    first, _ = lms.import_download(_download(tmp_path), roster, inbox, ASSIGNMENTS)
    again, problems = lms.import_download(_download(tmp_path), roster, inbox, ASSIGNMENTS)
    assert again == first and len(problems) == 4        # the same download again: same files, nothing new
    edited = inbox / "ada" / "ps1" / "ps1.ipynb"
    edited.write_bytes(edited.read_bytes() + b"\n")
    before = edited.read_bytes()
    written, problems = lms.import_download(_download(tmp_path), roster, inbox, ASSIGNMENTS)
    assert edited not in written and edited.read_bytes() == before
    assert any(p.startswith("ada/ps1:") and "already holds a different notebook" in p for p in problems)


@pytest.mark.parametrize(("text", "message"), [
    ("name,email\nAda,a@x\n", "need the columns"),
    ("lms_id,student_id\n1,ada\n1,ben\n", "LMS id 1 appears twice"),
    ("lms_id,student_id\n1,ada\n2,ada\n", "student id ada belongs to two LMS ids"),
    ("lms_id,student_id\n1,ada/../x\n", "no valid student id"),
])
def test_bad_rosters_fail_with_one_line(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(lms.LMSError, match=message) as info:
        lms.read_roster(path)
    assert "\n" not in str(info.value)


def test_grades_to_canvas_import_csv(tmp_path):
    grades = tmp_path / "grades.csv"
    grades.write_text("student_id,assignment,score,max_score\nada,ps1,9,9\nada,ps2,4.5,9\nben,ps1,0,9\n")
    roster = _canvas_roster(tmp_path / "roster.csv")
    out = tmp_path / "canvas.csv"
    assert lms.main(["grades", str(grades), "--roster", str(roster), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps1 (501)", "ps2 (502)"]
    assert rows[1][0] == "Points Possible" and rows[1][5:] == ["9", "9"]
    assert rows[2] == ["Babbage, Ben", "12346", "ben", "ben@uni", "Group B", "0", ""]
    assert rows[3] == ["Lovelace, Ada", "12345", "ada", "ada@uni", "Group A", "9", "4.5"]


def test_grades_errors_and_generic_format(tmp_path, capsys):
    roster = _canvas_roster(tmp_path / "roster.csv")
    grades = tmp_path / "grades.csv"
    grades.write_text("student_id,assignment,score\nzoe,ps1,3\n")
    assert lms.main(["grades", str(grades), "--roster", str(roster), "--out", str(tmp_path / "c.csv")]) == 2
    assert "student zoe has grades but is not in the roster" in capsys.readouterr().err
    grades.write_text("student_id,assignment,score\nada,ps3,3\n")
    assert lms.main(["grades", str(grades), "--roster", str(roster), "--out", str(tmp_path / "c.csv")]) == 2
    assert "no Canvas assignment id for ps3: pass --assignment ps3=<id>" in capsys.readouterr().err
    assert lms.main(["grades", str(grades), "--roster", str(roster), "--assignment", "ps3=503",
                     "--out", str(tmp_path / "c.csv")]) == 0
    grades.write_text("student_id,assignment,score\nada,ps1,x\n")
    assert lms.main(["grades", str(grades), "--out", str(tmp_path / "g.csv")]) == 2
    assert "line 2: score 'x' is not a number" in capsys.readouterr().err
    grades.write_text("student_id,assignment,score\nada,ps1,3\nben,ps2,1\n")
    assert lms.main(["grades", str(grades), "--out", str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").read_text().splitlines() == ["student_id,ps1,ps2", "ada,3,", "ben,,1"]


def test_inbox_command_exits_1_on_problems(tmp_path, capsys):
    roster = _canvas_roster(tmp_path / "roster.csv")
    code = lms.main(["inbox", str(_download(tmp_path)), "--roster", str(roster), "--out", str(tmp_path / "inbox")])
    out = capsys.readouterr()
    assert code == 1 and out.err.count("PROBLEM ") == 4 and "3 notebooks" in out.out
    assert lms.main(["inbox", str(tmp_path / "nope.zip"), "--roster", str(roster), "--out", str(tmp_path / "i")]) == 2
    assert "neither a zip file nor a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- issue 20 (grading, round two)


def _moodle_roster(tmp_path: Path) -> lms.Roster:
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id,name\n4711,ada,Ada Lovelace\n4712,ben,Ben Babbage\n4713,mal,Mallory\n")
    return lms.read_roster(roster)


def test_moodle_folder_id_decides_and_a_file_named_for_a_classmate_is_refused(tmp_path):
    """Mallory's folder holds a notebook named like Ben's download: it is not Ben's (nor Ada's) work."""
    assert lms.parse_name("Mallory_4713_assignsubmission_file_/ps1.ipynb") == ("4713", "ps1.ipynb")
    assert lms.parse_name("Ada Lovelace_4711_assignsubmission_file_/"
                          "Ada Lovelace_4711_assignsubmission_file_ps1.ipynb") == ("4711", "ps1.ipynb")
    with pytest.raises(lms.LMSError, match="folder decides"):
        lms.parse_name("Mallory_4713_assignsubmission_file_/Ben Babbage_4712_assignsubmission_file_ps1.ipynb")
    download = tmp_path / "moodle"
    (download / "Ben Babbage_4712_assignsubmission_file_").mkdir(parents=True)
    shutil.copy(SAMPLE / "ada" / "ps1" / "ps1.ipynb", download / "Ben Babbage_4712_assignsubmission_file_" / "ps1.ipynb")
    mallory = download / "Mallory_4713_assignsubmission_file_"
    mallory.mkdir()
    shutil.copy(SAMPLE / "cy" / "ps1" / "ps1.ipynb", mallory / "Ben Babbage_4712_assignsubmission_file_ps1.ipynb")
    shutil.copy(SAMPLE / "cy" / "ps2" / "ps2.ipynb", mallory / "Ada Lovelace_4711_assignsubmission_file_ps2.ipynb")
    written, problems = lms.import_download(download, _moodle_roster(tmp_path), tmp_path / "inbox", ASSIGNMENTS)
    assert [p.relative_to(tmp_path / "inbox").as_posix() for p in written] == ["ben/ps1/ps1.ipynb"]
    assert (tmp_path / "inbox/ben/ps1/ps1.ipynb").read_bytes() == (SAMPLE / "ada/ps1/ps1.ipynb").read_bytes()
    assert len(problems) == 2 and all("refused" in p and "\n" not in p for p in problems), problems


@pytest.mark.parametrize("text", ["[]", "[" * 100_000 + "]" * 100_000, '{"cells": [1]}', '{"cells": [{"source": 3}]}',
                                  '{"cells": [{"metadata": [], "source": ""}]}', '"x"', "\udcff"])
def test_an_odd_notebook_is_one_problem_line_and_the_others_are_imported(tmp_path, text):
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(SAMPLE / "ada" / "ps1" / "ps1.ipynb", "lovelaceada_12345_90001_ps1.ipynb")
        zf.writestr("babbageben_12346_90003_Untitled.ipynb", text.encode("utf-8", "surrogateescape"))
    roster = lms.read_roster(_canvas_roster(tmp_path / "roster.csv"))
    written, problems = lms.import_download(path, roster, tmp_path / "inbox", ASSIGNMENTS)
    assert [p.relative_to(tmp_path / "inbox").as_posix() for p in written] == ["ada/ps1/ps1.ipynb"]
    assert len(problems) == 1 and "Untitled.ipynb: not a notebook of any problem set" in problems[0]


def test_a_zip_bomb_of_notebooks_is_refused_by_declared_size(tmp_path, monkeypatch):
    """Each member is read only when used and only up to the cap; memory stays at one notebook."""
    monkeypatch.setattr(lms, "MAX_NOTEBOOK", 1 << 20)
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(SAMPLE / "ada" / "ps1" / "ps1.ipynb", "lovelaceada_12345_90001_ps1.ipynb")
        zf.writestr("babbageben_12346_90003_ps1.ipynb", b'{"cells": [], "x": "' + b" " * (3 << 20) + b'"}')
    assert path.stat().st_size < 100_000
    roster = lms.read_roster(_canvas_roster(tmp_path / "roster.csv"))
    written, problems = lms.import_download(path, roster, tmp_path / "inbox", ASSIGNMENTS)
    assert len(written) == 1 and len(problems) == 1 and "larger than 1 MB" in problems[0]


def test_a_symlink_or_fifo_in_a_download_folder_is_never_followed(tmp_path):
    download = tmp_path / "moodle"
    folder = download / "Ben Babbage_4712_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "ps1.ipynb").symlink_to(COURSEWORK / "source" / "ps1" / "ps1.ipynb")
    os.mkfifo(download / "Ada Lovelace_4711_assignsubmission_file_ps2.ipynb")
    written, problems = lms.import_download(download, _moodle_roster(tmp_path), tmp_path / "inbox", ASSIGNMENTS)
    assert written == [] and len(problems) == 2, problems


def test_roster_text_cannot_become_a_spreadsheet_formula(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,ps1 (501)\n"
                      '"=HYPERLINK(""http://x"",""y"")",12345,ada,@SUM(A1),+Group,\n'
                      '"-2+3",12346,ben,ben,\tB,\n')
    grades = tmp_path / "grades.csv"
    grades.write_text("student_id,assignment,score\nada,ps1,9\nben,ps1,0\n")
    out = tmp_path / "lms.csv"
    lms.canvas_csv(lms.read_grades(grades), lms.read_roster(roster), out, {"ps1": "501"}, {"ps1": 9})
    with out.open(newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells and "9" in cells
    generic = tmp_path / "generic.csv"
    grades.write_text("student_id,assignment,score\n=cmd,ps1,-1\n")
    lms.generic_csv(lms.read_grades(grades), generic)
    assert generic.read_text().splitlines()[1] == "'=cmd,-1"


def test_an_import_holds_one_notebook_in_memory_at_a_time(tmp_path, monkeypatch):
    """A small zip can unpack to many large notebooks: they are read one by one, never all at once."""
    import tracemalloc

    monkeypatch.setattr(lms, "MAX_NOTEBOOK", 4 << 20)
    ps1 = (SAMPLE / "ada" / "ps1" / "ps1.ipynb").read_text()
    path = tmp_path / "submissions.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(10):
            zf.writestr(f"babbageben_12346_9000{i}_ps1.ipynb", ps1[:-2] + ', "pad": "' + " " * (3 << 20) + f'{i}"}}')
    roster = lms.read_roster(_canvas_roster(tmp_path / "roster.csv"))
    tracemalloc.start()
    try:
        written, problems = lms.import_download(path, roster, tmp_path / "inbox", ASSIGNMENTS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written == [] and len(problems) == 1 and "ben/ps1: 10 files" in problems[0]
    assert peak < 20 << 20, f"peak {peak >> 20} MB: the download was held in memory"
