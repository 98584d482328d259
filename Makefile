# Student Attendance System. The two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MODEL_PACK ?= models/default
export MODEL_PACK

.PHONY: run test test-fast lint typecheck security pytest models test-pack migrate services browser axe oidc fonts nginx bench bench-load bench-free-tier clean install containers-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when a dependency list changes.
# services/worker/model_export: the model-pack builder (`make models`), never in the worker's runtime image.
# insightface: the optional part for insightface-format packs (requirements/worker-nodeps.txt), never in the worker
# image either; here for the tests of that path. --no-deps: its metadata pulls the GUI build of OpenCV.
$(VENV)/.installed: $(BIN)/python services/shared/pyproject.toml services/web/pyproject.toml services/worker/pyproject.toml services/worker/model_export/pyproject.toml requirements-dev.txt
	$(BIN)/pip install -q -e services/shared -e services/web -e services/worker -e services/worker/model_export -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps insightface==2.1 tqdm requests onnx
	touch $@

install: $(VENV)/.installed

models: install
	$(PY) -m attendance_model_export.build --out $(MODEL_PACK)

# The insightface-format pack the tests run that path with (tools/insightface_test_pack.py); never the product's.
test-pack: models
	$(PY) -m attendance_model_export.build --out models/default
	$(PY) tools/insightface_test_pack.py --default models/default --out models/insightface-test

migrate: install
	$(PY) -m attendance_shared.migrate upgrade

## make run: the web on http://127.0.0.1:5000 and a real worker, on an embedded SQLite + filesystem broker.
run: install models migrate
	$(PY) tools/run_dev.py

services:
	@tools/ensure_services.sh

browser:
	@tools/ensure_chromium.sh

# axe-core, from the npm registry, for the accessibility gate (tests/browser/test_accessibility.py): pinned in
# tools/a11y/package-lock.json, installed again only when the lock changes.
AXE := tools/a11y/node_modules/axe-core/axe.min.js
$(AXE): tools/a11y/package.json tools/a11y/package-lock.json
	npm ci --prefix tools/a11y --no-audit --no-fund --silent
	touch $@

axe: $(AXE)

# oidc-provider, from the npm registry: the real OpenID provider the single sign-on tests start on loopback
# (tests/oidc_provider.py), pinned in tools/oidc/package-lock.json, installed again only when the lock changes.
OIDC := tools/oidc/node_modules/oidc-provider/package.json
$(OIDC): tools/oidc/package.json tools/oidc/package-lock.json
	npm ci --prefix tools/oidc --no-audit --no-fund --silent
	touch $@

oidc: $(OIDC)

# The fonts PDF exports print with (DejaVu Sans; Droid Sans Fallback for Chinese and Japanese names), as in the web image.
fonts:
	@tools/ensure_fonts.sh

# A real nginx for the Elastic Beanstalk proxy checks (tests/deploy/test_nginx_proxy.py).
nginx:
	@tools/ensure_nginx.sh

## make containers-check: the real images and the compose stack (tools/containers/check.sh): podman, buildah and
## podman-compose installed where missing, stand-in base images built from Debian where no registry answers, the web
## and worker images built with their Dockerfiles, docker-compose.yml up in stages with every health check, one
## attendance job through the proxy, pip check and the model pack in the images, then down -v and nothing left.
## tests/deploy/test_containers.py runs it in make test. Cold (no images) 12 min on 2 cores; warm 91 s.
containers-check: install
	tools/containers/check.sh

lint: install
	$(BIN)/ruff check services tests tools bench
	$(BIN)/ruff format --check services tests tools bench

typecheck: install
	$(BIN)/mypy

security: install
	BIN=$(BIN) tools/security_audit.sh

pytest: install models test-pack services browser axe oidc fonts nginx
	$(BIN)/pytest

## make test: everything set up, PostgreSQL and Redis started if down, then ruff, mypy, bandit + pip-audit and pytest.
test: install models test-pack services browser axe oidc fonts nginx lint typecheck security pytest

## make test-fast: the rules, parsers, engine units and web views that need no server, in under a minute: the web on
## a SQLite file, no PostgreSQL, Redis, worker, browser or face photos (the `fast` marker, tests/conftest.py), on
## every core (pytest-xdist: each worker process has its own SQLite file and folders).
test-fast: install
	$(BIN)/pytest -m fast --db sqlite -q -n auto

bench: install models
	$(PY) -m bench.run

## Load and scale figures (issue 6): 50 teachers uploading (each on its own ~3 s loop, through both production
## proxies; then all 50 in the same instant, the stress case), queue drain with 1 and 2 workers, a school's morning
## peak (100 teachers, 600 classroom photos over 10 minutes, 1, 2 and 4 workers: about 45 minutes), course report.
bench-load: install models services nginx
	$(PY) -m bench.load --stagger --proxy docker-proxy
	$(PY) -m bench.load --stagger --proxy docker-proxy --direct
	$(PY) -m bench.load --stagger --proxy eb-python
	$(PY) -m bench.load --proxy docker-proxy
	$(PY) -m bench.drain
	$(PY) -m bench.morning
	$(PY) -m bench.report_bench

## The free tier: the single-instance configuration inside 1 GiB under a school's burst, then every teacher opening
## the results (bench/free_tier.py; root, for its memory cgroups).
bench-free-tier: install models services nginx
	$(PY) -m bench.free_tier

clean:
	rm -rf $(VENV) instance models tools/a11y/node_modules .pytest_cache .mypy_cache .ruff_cache artifacts
