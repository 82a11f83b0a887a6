# git elite — set-up is two commands: `make demo` and `make test`.
PY ?= python3
VENV := .venv
# pip -q does not silence the build backend's own warnings (setuptools' 10-line "Editable
# installation" banner): they are Python warnings in pip's build subprocess.
QUIET := PYTHONWARNINGS=ignore
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck bench fixtures clean

$(STAMP): pyproject.toml docs/git-elite.1
	$(PY) -m venv $(VENV)
	$(QUIET) $(BIN)/pip install -q --upgrade pip
	$(QUIET) $(BIN)/pip install -q -e .
	install -D -m 0644 docs/git-elite.1 $(VENV)/share/man/man1/git-elite.1
	touch $(STAMP)

$(TESTSTAMP): pyproject.toml $(STAMP)
	$(QUIET) $(BIN)/pip install -q -e '.[test]'
	touch $(TESTSTAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python demo/run_demo.py

test: $(TESTSTAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ruff check git_elite tests fixtures bench demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mypy
	# --dist loadfile: a file's tests stay on one worker, so its module-scoped fixtures (the
	# hooked servers, the demo run, Chromium and its sites, the synthetic registry) are
	# built once, not once per worker
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: $(TESTSTAMP)
	$(BIN)/ruff check git_elite tests fixtures bench demo

typecheck: $(TESTSTAMP)
	$(BIN)/mypy

# The bench measures what a user runs: a regular install (`pip install`, not the editable one
# the tests use, whose .pth imports setuptools' finder in every process: ~10 ms each).
# Its venv is reused; this tree is installed into it again on every run.
BENCHVENV := .venv-bench
bench:
	test -x $(BENCHVENV)/bin/python || $(PY) -m venv $(BENCHVENV)
	$(QUIET) $(BENCHVENV)/bin/pip install -q --upgrade pip
	$(QUIET) $(BENCHVENV)/bin/pip install -q '.[test]'
	$(QUIET) $(BENCHVENV)/bin/pip install -q --no-deps --force-reinstall .
	PATH="$(CURDIR)/$(BENCHVENV)/bin:$$PATH" $(BENCHVENV)/bin/python bench/run.py $(BENCHARGS)

fixtures: $(STAMP)
	$(BIN)/python fixtures/generate.py

clean:
	rm -rf $(VENV) $(BENCHVENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
