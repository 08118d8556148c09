# Pathfinder: one-command set-up, run and test on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps run test test-full test-fuzz bench calibration lint typecheck clean

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

# The main job on the bundled data.
run: setup
	$(VENV)/bin/pathfinder run
	$(VENV)/bin/pathfinder dashboard --host 127.0.0.1 --port 8050

# The whole test suite (slow studies run in a bounded version; PATHFINDER_FULL=1 for full size).
test: setup
	$(PY) -m pytest

test-full: setup
	PATHFINDER_FULL=1 $(PY) -m pytest

# The property tests (hypothesis) under FUZZ_SEEDS fresh random seeds; `make test` and CI use the
# derandomised "ci" profile of tests/conftest.py, so they draw the same examples every run.
FUZZ_SEEDS ?= 20
test-fuzz: setup
	@set -e; for seed in $$(seq 1 $(FUZZ_SEEDS)); do \
		echo "hypothesis seed $$seed"; \
		HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -p no:cacheprovider -m hypothesis \
			--hypothesis-seed=$$seed tests; \
	done

bench: setup
	$(PY) -m benchmarks

# Full coverage study (500 replications per case) on a local Dask cluster (WORKERS=N to choose),
# written to docs/calibration.md; finished chunks in .pathfinder-cache/ make a rerun resume.
calibration: setup
	$(PY) -m studies.calibration --reps 500 $(if $(WORKERS),--workers $(WORKERS))

lint: setup
	$(VENV)/bin/ruff check evaluation dashboard tests benchmarks studies
	$(VENV)/bin/ruff format --check evaluation dashboard tests benchmarks studies

typecheck: setup
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
