# Pathfinder: one-command set-up, run and test on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps run run-main run-reports report-image screenshots test test-full test-fuzz \
	mutate mutate-named bench calibration pilot-design lint typecheck clean

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
	$(VENV)/bin/pathfinder dashboard --host 127.0.0.1 --port 8050

run-main: setup
	$(VENV)/bin/pathfinder run

run-reports: setup
	$(VENV)/bin/pathfinder report --all-years --out reports

# The README's picture of the report: first page of the latest year's PDF (after make run).
# The README's dashboard screenshots, taken by the browser tests.
screenshots: setup
	PATHFINDER_SCREENSHOTS=$(CURDIR)/docs/img $(PY) -m pytest -q tests/test_dashboard_browser.py -k captured

report-image:
	pdftoppm -png -r 80 -f 1 -l 1 -singlefile \
	  "$$(ls -d reports/[0-9][0-9][0-9][0-9]-[0-9][0-9] | tail -1)/report.pdf" docs/img/report-page1

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

# Mutation testing (mutmut, the `mutation` extra) of the appraisal measures and uncertainty and of
# what the commands print and write ([tool.mutmut] in pyproject.toml). MUTANTS picks functions by
# mutant-name glob; results are kept in mutants/ between runs (`mutmut results`, `mutmut show`).
# The default is the bounded set whose survivors are listed in docs/testing.md; MUTANTS="" runs
# all of the configured files (thousands of mutants: hours).
MUTANTS ?= evaluation.commands.appraise.x__headline* evaluation.commands.appraise.x__m__* \
	evaluation.commands.appraise.x__r__* evaluation.commands.estimate.x_format_result* \
	evaluation.appraisal.measures.x_vfm_category* evaluation.appraisal.measures.x_payback_index* \
	evaluation.appraisal.measures.x_present_values* evaluation.pipeline.x_write_outputs*
mutate: setup
	$(PY) -m pip install --quiet -e ".[dev,peers,mutation]"
	$(VENV)/bin/mutmut run $(MUTANTS)
	$(VENV)/bin/mutmut results

# The bugs that once survived the suite, planted one at a time: each named test must fail.
mutate-named: setup
	$(PY) tools/named_mutations.py

bench: setup
	$(PY) -m benchmarks

# Full coverage study (500 replications per case) on a local Dask cluster (WORKERS=N to choose),
# written to docs/calibration.md; finished chunks in .pathfinder-cache/ make a rerun resume.
calibration: setup
	$(PY) -m studies.calibration --reps 500 $(if $(WORKERS),--workers $(WORKERS))

# Pilot design comparison on the bundled data (table, JSON and chart in reports/pilot-design/);
# WORKERS=N local Dask workers, REPS=R placebo replications per design.
pilot-design: setup
	$(VENV)/bin/pathfinder design --pilots 3,5,10,15 --selection free,stratified --seed 20261206 \
		--out reports/pilot-design --checkpoint-dir .pathfinder-cache/pilot-design \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(REPS),--reps $(REPS))

lint: setup
	$(VENV)/bin/ruff check evaluation dashboard reporting tests benchmarks studies
	$(VENV)/bin/ruff format --check evaluation dashboard reporting tests benchmarks studies

typecheck: setup
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
