# Graded problem sets (coursework/): the instructor's workflow, on top of nbgrader.
# Included from the top-level Makefile, whose $(BIN) and $(STAMP) it uses. The book's
# "For instructors" page (book/instructors.md) explains each step. Everything these targets
# generate (release/, submitted/, autograded/, feedback/, reports/, gradebook.db) is ignored
# by git; coursework/source/ and the inbox are only ever read.

CW_DIR := coursework
CW_RUN := $(BIN)/python $(CW_DIR)/scripts/course.py
# Folder of submissions: one sub-folder per student with one per problem set
# (<INBOX>/<student>/ps1/ps1.ipynb, ...), or one flat folder of notebooks named
# <student>_<anything>.ipynb (a Colab class, an LMS download). Default: the committed sample class.
# Grading needs bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and reads the secret course
# seed from $$COSIM_COURSE_SEED or ~/.config/cosim-course/seed (see book/instructors.md).
INBOX  ?= $(CW_DIR)/class

.PHONY: coursework coursework-release coursework-collect coursework-autograde \
        coursework-grades coursework-feedback coursework-samples coursework-clean coursework-check-sandbox \
        coursework-otter coursework-otter-grade coursework-lms-inbox coursework-lms-grades

## coursework: release, collect $(INBOX), autograde, export grades and write feedback, in order
coursework: $(STAMP)
	$(CW_RUN) all --inbox "$(INBOX)"

## coursework-release: student notebooks into coursework/release/ (checked: no solution, no hidden test)
coursework-release: $(STAMP)
	$(CW_RUN) release

## coursework-collect: copy $(INBOX)/<student>/<ps>/ into coursework/submitted/ (the inbox is only read)
coursework-collect: $(STAMP)
	$(CW_RUN) collect --inbox "$(INBOX)"

## coursework-check-sandbox: check that bubblewrap isolates a submission on this machine
coursework-check-sandbox: $(STAMP)
	$(CW_RUN) check-sandbox

## coursework-autograde: grade coursework/submitted/ in bubblewrap sandboxes into gradebook.db; problems in coursework/reports/problems.csv
coursework-autograde: $(STAMP)
	$(CW_RUN) autograde

## coursework-grades: export coursework/reports/grades.csv and task_grades.csv
coursework-grades: $(STAMP)
	$(CW_RUN) export

## coursework-feedback: one HTML page per graded submission in coursework/feedback/<student>/<ps>/
coursework-feedback: $(STAMP)
	$(CW_RUN) feedback

## coursework-samples: rebuild the sample class coursework/class/ after editing coursework/source/
coursework-samples: $(STAMP)
	$(CW_RUN) release
	$(BIN)/python $(CW_DIR)/scripts/samples.py

# ---- The Otter-Grader version (Colab and Gradescope classes) and the LMS round trip; see coursework/README.md.
# OTTER_INBOX: <student>/<ps>/<ps>.ipynb of Otter notebooks (e.g. made by coursework-lms-inbox).
# DOWNLOAD: an LMS bulk download (zip or folder); ROSTER: the LMS's gradebook export (Canvas) or a
# CSV lms_id,student_id; GRADES: reports/grades.csv (nbgrader route) or reports/otter_grades.csv.
OTTER_INBOX ?=
DOWNLOAD    ?=
ROSTER      ?=
LMS_INBOX   ?= $(CW_DIR)/lms-inbox
GRADES      ?= $(CW_DIR)/reports/grades.csv

## coursework-otter: the Otter version into coursework/otter/<ps>/ (<ps>-student.zip to hand out, <ps>-autograder.zip instructor only)
coursework-otter: $(STAMP)
	$(BIN)/python $(CW_DIR)/scripts/otter_export.py export

## coursework-otter-grade: otter run (in bubblewrap) every $(OTTER_INBOX)/<student>/<ps>/<ps>.ipynb; coursework/reports/otter_grades.csv
coursework-otter-grade: $(STAMP)
	$(if $(OTTER_INBOX),,$(error set OTTER_INBOX=<folder of <student>/<ps>/<ps>.ipynb>))
	$(BIN)/python $(CW_DIR)/scripts/otter_export.py grade --inbox "$(OTTER_INBOX)"

## coursework-lms-inbox: an LMS bulk download $(DOWNLOAD) + $(ROSTER) -> $(LMS_INBOX)/<student>/<ps>/<ps>.ipynb
coursework-lms-inbox: $(STAMP)
	$(if $(DOWNLOAD),,$(error set DOWNLOAD=<the LMS zip or folder>))
	$(if $(ROSTER),,$(error set ROSTER=<Canvas gradebook export or lms_id,student_id CSV>))
	$(BIN)/python $(CW_DIR)/scripts/lms.py inbox "$(DOWNLOAD)" --roster "$(ROSTER)" --out "$(LMS_INBOX)"

## coursework-lms-grades: $(GRADES) -> coursework/reports/lms_grades.csv (Canvas gradebook import with a Canvas $(ROSTER), else generic)
coursework-lms-grades: $(STAMP)
	$(BIN)/python $(CW_DIR)/scripts/lms.py grades "$(GRADES)" $(if $(ROSTER),--roster "$(ROSTER)") \
	    --out $(CW_DIR)/reports/lms_grades.csv

## coursework-clean: delete everything the targets above generated (never source/ or class/)
coursework-clean:
	rm -rf $(CW_DIR)/release $(CW_DIR)/submitted $(CW_DIR)/autograded $(CW_DIR)/feedback \
	       $(CW_DIR)/reports $(CW_DIR)/gradebook.db $(CW_DIR)/.grading $(CW_DIR)/otter $(CW_DIR)/lms-inbox
