# The two commands a reader needs: `make book` and `make test`.
# Both create (or reuse) a virtual environment in .venv with the pinned
# requirements; nothing is installed outside the repository.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lint bench execute clean a11y-deps pdf

# One BLAS thread per process for everything that executes notebooks: the
# printed numbers then do not depend on the machine's core count (DESIGN.md).
book test execute: export OMP_NUM_THREADS := 1
book test execute: export OPENBLAS_NUM_THREADS := 1
book test execute: export MKL_NUM_THREADS := 1

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

## book: build the HTML book into _build/html (warnings are errors)
book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## a11y-deps: axe-core for the accessibility audit, pinned by tools/a11y/package-lock.json
## (npm, into the git-ignored tools/a11y/node_modules; offline after this)
AXE := tools/a11y/node_modules/axe-core/axe.min.js
$(AXE): tools/a11y/package.json tools/a11y/package-lock.json
	npm ci --prefix tools/a11y --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $(AXE)
a11y-deps: $(AXE)

## test: package tests (unit + property) and every notebook under nbval
test: $(STAMP) $(AXE)
	$(BIN)/python -m pytest

## pdf: the whole book as one PDF (_build/pdf/book.pdf), printed by Debian's chromium
pdf: book
	$(BIN)/python tools/book_pdf.py

## lint: ruff over the package, tests and benchmarks
lint: $(STAMP)
	$(BIN)/ruff check cosim_helpers tests benchmarks coursework/scripts tools

## bench: time the closed-form fits and the widget updates at the paper's scale
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fits.py
	$(BIN)/python benchmarks/bench_widgets.py

## execute: re-run every notebook in place, refreshing the outputs nbval checks
execute: $(STAMP)
	cd book && for nb in *.ipynb; do ../$(BIN)/jupyter-execute --inplace --timeout=900 "$$nb" || exit 1; done

clean:
	rm -rf _build .pytest_cache .hypothesis

# Graded problem sets (nbgrader): make coursework, coursework-release, ...
include coursework/coursework.mk
