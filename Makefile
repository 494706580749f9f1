# Two commands do all the set-up on a fresh machine:
#   make run    install everything into .venv and open the editor on an example
#   make test   install everything into .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install sysdeps clean fuzz slow

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Qt's libraries: installed with apt-get when running as root, else the exact command is printed.
sysdeps:
	$(PYTHON) gui/system_check.py --install $(if $(OFFSCREEN),--offscreen)

run: install sysdeps
	$(PY) main.py $(FILE)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: OFFSCREEN := 1
test: install sysdeps lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# The long fuzz run: 10,000 graph-file mutants and 1,000 of each other input kind, each
# case limited to 20 s; prints the counts and exits 1 on any escape or hang.
fuzz: install
	$(PY) -m tests.fuzz.run --graphs 10000 --others 1000 --limit 20

# The long test variants `make test` leaves out (pytest -m slow): every gallery network and
# every catalog layer exported to ONNX and imported back (about 5 minutes on 2 cores).
slow: OFFSCREEN := 1
slow: install sysdeps
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
