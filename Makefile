# The lab's two entry points:
#   make lab    provision db, app and client on localhost, benchmark, analyze, print the tables
#   make test   the whole test suite (lint, unit, apps against real Postgres, end-to-end playbooks)
# Knobs: FRAMEWORKS="aiohttp flask"  PROFILE=quick|tfb  INVENTORY=inventory/<yours>.yml  ARGS="<ansible-playbook args>"

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
INVENTORY ?= inventory/local.yml
PROFILE ?= quick
FRAMEWORKS ?=
ARGS ?=
PYTEST_ARGS ?=

empty :=
space := $(empty) $(empty)
comma := ,
FRAMEWORKS_JSON = [$(subst $(space),$(comma),$(patsubst %,"%",$(strip $(FRAMEWORKS))))]
LAB_VARS = -e lab_profile=$(PROFILE) $(if $(strip $(FRAMEWORKS)),-e '{"lab_frameworks": $(FRAMEWORKS_JSON)}')
PLAYBOOK = $(VENV)/bin/ansible-playbook -i $(INVENTORY) $(LAB_VARS) $(ARGS)

# Debian/Ubuntu packages the controller and the test suite need (the playbooks install the tiers' own).
CONTROLLER_APT = python3-venv python3-pip git
TEST_APT = wrk postgresql postgresql-contrib libpq-dev nginx curl

.PHONY: help lab provision benchmark analyze test lint unit apps e2e controller-deps test-deps clean-venv

help:
	@sed -n '1,5p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- controller
controller-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(CONTROLLER_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "Installing controller packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi

$(VENV)/.controller: requirements/controller.txt | controller-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements/controller.txt
	touch $@

$(VENV)/.dev: requirements/dev.txt $(VENV)/.controller
	$(VENV)/bin/pip install --quiet -r requirements/dev.txt
	touch $@

# ---------------------------------------------------------------- the lab
lab: $(VENV)/.controller
	$(PLAYBOOK) playbooks/site.yml
	$(PLAYBOOK) playbooks/benchmark.yml
	@echo "Results: $$(readlink -f results/latest)"

provision: $(VENV)/.controller
	$(PLAYBOOK) playbooks/site.yml

benchmark: $(VENV)/.controller
	$(PLAYBOOK) playbooks/benchmark.yml

analyze: $(VENV)/.controller
	$(VENV)/bin/python -m analysis summarize $(or $(RUN),results/latest)

# ---------------------------------------------------------------- tests
test-deps: controller-deps
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(TEST_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "Installing test packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi

test: lint unit apps e2e

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy analysis wrk_scripts playbooks/filter_plugins tests
	$(VENV)/bin/ansible-lint --offline

unit: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/unit tests/ansible $(PYTEST_ARGS)

apps: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/apps $(PYTEST_ARGS)

e2e: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
