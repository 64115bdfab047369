# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make bench` reports the medians of this many runs of each benchmark.
BENCH_REPEAT ?= 3

.PHONY: venv demo test test-fast bench bench-quick clean airflow-ui

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: venv
	$(BIN)/python -m etl.demo

# The Airflow UI on the demo's set-up: the emulator and `airflow standalone`, both DAGs paused.
airflow-ui: venv
	$(BIN)/python -m etl.airflow_ui

# Every tier (tests/unit, integration, e2e, bench), then the scan for personal data in what they wrote.
test: venv
	.ci/ensure-chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15 tests

# The unit tier alone: pure functions and single modules, under a minute.
test-fast: venv
	$(BIN)/python -m pytest -q tests/unit

bench: venv
	$(BIN)/python -m bench --repeat $(BENCH_REPEAT)

bench-quick: venv
	$(BIN)/python -m bench --quick

clean:
	rm -rf warehouse/raw warehouse/staged warehouse/published warehouse/data_docs warehouse/*.duckdb* .airflow

# Superset on the published warehouse (bi/start.py): its own venv .venv-bi (its pins conflict with
# Airflow's), the bundle bi/superset/ imported, served on 127.0.0.1:8088. Needs
# SUPERSET_SECRET_KEY and SUPERSET_ADMIN_PASSWORD in the environment (no default).
BI_VENV  := .venv-bi
BI_STAMP := $(BI_VENV)/.installed

.PHONY: bi

$(BI_STAMP): requirements-bi.txt
	test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BI_VENV)/bin/python -m pip install --quiet -r requirements-bi.txt
	touch $(BI_STAMP)

bi: $(BI_STAMP)
	$(BI_VENV)/bin/python bi/start.py --host 127.0.0.1 --port 8088
