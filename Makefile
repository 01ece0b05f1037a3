# The two commands a reader needs: `make book` and `make test`.
# Both create (or reuse) a virtual environment in .venv with the pinned
# requirements; nothing is installed outside the repository.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast reader test-binder lint bench execute clean a11y-deps pdf catalogues

# One BLAS thread per process: pytest's two workers do not oversubscribe the
# cores. The notebook kernels get their own pinned numerical environment
# (tools/notebooks.py, KERNEL_ENV), whatever the caller exports.
book test test-fast execute test-binder: export OMP_NUM_THREADS := 1
book test test-fast execute test-binder: export OPENBLAS_NUM_THREADS := 1
book test test-fast execute test-binder: export MKL_NUM_THREADS := 1

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

## book: build the HTML book into _build/html and its Korean edition into _build/html/ko
## (warnings are errors). The notebooks are executed once, two at a time, into the cache
## both editions render from and the notebook tests read (tools/notebooks.py); a changed
## package empties that cache. The Korean edition translates with locales/ko (tools/i18n.py).
book: $(STAMP)
	$(BIN)/python tools/notebooks.py cache
	@# The two editions build at once (one core each; they only read the execution cache); the
	@# Korean build's messages are kept in _build/ko/build.log and shown if it fails.
	@mkdir -p _build/ko
	@$(BIN)/python tools/i18n.py html-ko > _build/ko/build.log 2>&1 & ko=$$!; \
	$(BIN)/jupyter-book build . --warningiserror --keep-going; en=$$?; \
	wait $$ko; status=$$?; \
	if [ $$status -ne 0 ]; then cat _build/ko/build.log; echo "the Korean edition failed to build"; fi; \
	[ $$en -eq 0 ] && [ $$status -eq 0 ]
	@echo "The book is at $(CURDIR)/_build/html/index.html (한국어: _build/html/ko/index.html)"

## catalogues: regenerate the Korean edition's message catalogues, one per page, in
## locales/ko/LC_MESSAGES from the current sources (gettext + sphinx-intl; new or changed
## English text shows up as untranslated or fuzzy messages there: translate them)
catalogues: $(STAMP)
	$(BIN)/python tools/notebooks.py cache
	$(BIN)/python tools/i18n.py catalogues

## a11y-deps: axe-core for the accessibility audit, pinned by tools/a11y/package-lock.json
## (npm, into the git-ignored tools/a11y/node_modules; offline after this)
AXE := tools/a11y/node_modules/axe-core/axe.min.js
$(AXE): tools/a11y/package.json tools/a11y/package-lock.json
	npm ci --prefix tools/a11y --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $(AXE)
a11y-deps: $(AXE)

## test: build the book (one execution of every notebook), then everything on both
## cores: unit and property tests, every notebook's stored outputs (nbval rules, against
## that execution), the coursework and the built site in a browser; ruff first (1 s)
test: book $(AXE)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

## test-fast: the contributor's loop, without the slow integration tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2

## reader: regenerate the reader notebooks (reader/book/) that launch buttons and Colab open
reader: $(STAMP)
	$(BIN)/python tools/reader_notebooks.py

## test-binder: install binder/requirements.txt in a scratch venv and run every reader
## notebook there, as Binder would (needs the network for the install, unless cached)
test-binder: $(STAMP)
	$(BIN)/python tools/binder_check.py

## pdf: the whole book as two PDFs, printed by Debian's chromium: _build/pdf/book-student.pdf
## (exercises without solutions, for a class) and _build/pdf/book-instructor.pdf (every solution).
## VARIANT=student or VARIANT=instructor builds one; EDITION=ko prints the Korean edition
## (_build/pdf/book-ko-*.pdf, fonts-noto-cjk; tools/book_pdf.py)
VARIANT ?= all
EDITION ?= en
pdf: book
	$(BIN)/python tools/book_pdf.py --variant $(VARIANT) --edition $(EDITION)

## lint: ruff over the package, tests, benchmarks and scripts
LINTED := cosim_helpers tests benchmarks tools scripts coursework/scripts book/_ext
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)

## bench: time the closed-form fits and the widget updates at the paper's scale
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fits.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_real_data.py

## execute: refresh the stored outputs of every notebook (or NB="book/a.ipynb ...") from
## one execution, keeping only text outputs (images, HTML twins, widget state and
## timestamps are never committed); the book build then reuses that execution
execute: $(STAMP)
	$(BIN)/python tools/notebooks.py execute $(NB)

clean:
	rm -rf _build .pytest_cache .hypothesis

# Graded problem sets (nbgrader): make coursework, coursework-release, ...
include coursework/coursework.mk
