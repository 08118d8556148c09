# Pathfinder: one-command set-up, run and test on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps run run-main run-reports report-image test test-full bench calibration lint typecheck clean

# Create the virtual environment and install the project with its test peers.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,peers]"
	touch $(STAMP)

setup: $(STAMP) system-deps

# Chromium, LibreOffice, poppler and pango, installed with apt-get when root (tools/system-deps.sh);
# under CI=true a missing one fails the run instead of skipping tests.
system-deps:
	@bash tools/system-deps.sh

# The main job on the bundled data, then every year's annual report and workbook. Each step is
# its own target so more can be appended to `run` (e.g. starting the dashboard).
run: setup run-main run-reports
	@echo
	@echo "Main job:       reports/latest/ (effects.csv, estimates.json, appraisal.json, manifest.json)"
	@echo "Annual reports: reports/<year>/report.html, report.pdf, workbook.xlsx for each year:"
	@ls -d reports/[0-9][0-9][0-9][0-9]-[0-9][0-9] | sed 's/^/  /'

run-main: setup
	$(VENV)/bin/pathfinder run

run-reports: setup
	$(VENV)/bin/pathfinder report --all-years --out reports

# The README's picture of the report: first page of the latest year's PDF (after make run).
report-image:
	pdftoppm -png -r 80 -f 1 -l 1 -singlefile \
	  "$$(ls -d reports/[0-9][0-9][0-9][0-9]-[0-9][0-9] | tail -1)/report.pdf" docs/img/report-page1

# The whole test suite (slow studies run in a bounded version; PATHFINDER_FULL=1 for full size).
test: setup
	$(PY) -m pytest

test-full: setup
	PATHFINDER_FULL=1 $(PY) -m pytest

bench: setup
	$(PY) -m benchmarks

# Full coverage study (500 replications per case), written to docs/calibration.md.
calibration: setup
	$(PY) -m studies.calibration --reps 500

lint: setup
	$(VENV)/bin/ruff check evaluation dashboard reporting tests benchmarks studies
	$(VENV)/bin/ruff format --check evaluation dashboard reporting tests benchmarks studies

typecheck: setup
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
