# The lab's entry points:
#   make lab    provision db, app and client on localhost, benchmark, analyze, print the tables
#   make test   the whole test suite (lint, unit, apps against real Postgres, end-to-end playbooks)
#   make teardown  stop and remove everything the lab installed or started on the hosts, put back what it changed
# Knobs: FRAMEWORKS="aiohttp flask"  PROFILE=quick|tfb  INVENTORY=inventory/<yours>.yml  ARGS="<ansible-playbook args>"
#        TYPES="json sleep"  (make benchmark-scenarios: the scenario types sleep, cpu, upstream, upstream_sync)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
INVENTORY ?= inventory/local.yml
PROFILE ?= quick
FRAMEWORKS ?=
TYPES ?=
# The scenario test types (not TFB's; apps/README.md, "Scenario routes"), run by `make benchmark-scenarios`.
SCENARIO_TYPES := $(shell cd $(CURDIR) && python3 -m labcore.test_types --scenario)
ARGS ?=
PYTEST_ARGS ?=

empty :=
space := $(empty) $(empty)
comma := ,
FRAMEWORKS_JSON = [$(subst $(space),$(comma),$(patsubst %,"%",$(strip $(FRAMEWORKS))))]
TYPES_JSON = [$(subst $(space),$(comma),$(patsubst %,"%",$(strip $(TYPES))))]
LAB_VARS = -e lab_profile=$(PROFILE) $(if $(strip $(FRAMEWORKS)),-e '{"lab_frameworks": $(FRAMEWORKS_JSON)}') \
	$(if $(strip $(TYPES)),-e '{"lab_test_types": $(TYPES_JSON)}')
PLAYBOOK = $(VENV)/bin/ansible-playbook -i $(INVENTORY) $(LAB_VARS) $(ARGS)

# Debian/Ubuntu packages the controller and the test suite need (the playbooks install the tiers' own).
CONTROLLER_APT = python3-venv python3-pip git rsync
TEST_APT = wrk postgresql postgresql-contrib libpq-dev nginx curl sysstat chromium chromium-driver
# roles/mariadb's packages (tests/e2e/test_mariadb_role.py provisions it, ~3.5 min): server and client binaries, without
# mariadb-server's distribution service, and the driver of the community.mysql modules.
TEST_APT += mariadb-server-core mariadb-client-core python3-pymysql
# tests/multihost: an sshd per lab host, and what the roles install with apt, installed here in the root network
# namespace because the lab hosts' namespaces have no route to the mirrors.
TEST_APT += openssh-server iproute2 nftables libfaketime python3-venv python3-dev python3-pip python3-psycopg2 gcc postgresql-client-common

.PHONY: help lab provision teardown test-teardown benchmark benchmark-scenarios scenario-sweep scenarios analyze compare report-compare test lint unit report verify apps matrix e2e faults test-multihost controller-deps test-deps clean-venv

help:
	@sed -n '1,6p' Makefile | sed 's/^# \{0,1\}//'

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
	@echo "Report:  $$(readlink -f results/latest)/report.html"

provision: $(VENV)/.controller
	$(PLAYBOOK) playbooks/site.yml

benchmark: $(VENV)/.controller
	$(PLAYBOOK) playbooks/benchmark.yml

# Everything the lab installed or started on the hosts goes, and what it changed is put back (README, "Teardown");
# the controller's results stay. ARGS=--check shows what would go.
teardown: $(VENV)/.controller
	$(VENV)/bin/ansible-playbook -i $(INVENTORY) $(ARGS) playbooks/teardown.yml

# The scenario types only (sleep, cpu, upstream, upstream_sync), with lab_scenario_params from group_vars.
benchmark-scenarios: $(VENV)/.controller
	$(MAKE) benchmark TYPES="$(SCENARIO_TYPES)"

# The scenario types over every configuration of lab_scenario_sweep (group_vars), one run each, and one table.
scenario-sweep: $(VENV)/.controller
	$(VENV)/bin/python playbooks/scenario_sweep.py -i $(INVENTORY) -- -e lab_profile=$(PROFILE) $(ARGS)

analyze: $(VENV)/.controller
	$(VENV)/bin/python -m analysis summarize $(or $(RUN),results/latest)

# make compare A=results/<run-id> B=results/<run-id>: B relative to A, with significance over repeats.
compare: $(VENV)/.controller
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make compare A=results/<run-id> B=results/<run-id>" >&2; exit 2; }
	$(VENV)/bin/python -m analysis compare $(A) $(B)

# make report-compare A=results/<run-id> B=results/<run-id>: both runs side by side in one HTML file (in B).
report-compare: $(VENV)/.controller
	@test -n "$(A)" -a -n "$(B)" || { echo "usage: make report-compare A=results/<run-id> B=results/<run-id>" >&2; exit 2; }
	$(VENV)/bin/python -m analysis report-compare $(A) $(B)

# ---------------------------------------------------------------- tests
test-deps: controller-deps
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(TEST_APT); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "Installing test packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi; \
	fi

# Two lanes at once, each suite after the other within its lane: the suites that drive the localhost tiers (which
# they share: one at a time, under /tmp/lab-localhost.lock), and beside them every suite that uses none of those
# tiers (throwaway servers on free ports, and the multi-host suite's own network namespaces and hosts), so that
# both lanes take about as long. The multi-host suite comes first in its lane: the localhost teardown suite, last
# of the first lane, waits for its lock. The second lane's output is kept in a log and printed when it ends. The
# packages and the venv come first, so that the lanes never run apt or pip on them together.
MULTIHOST_LOG = .pytest_cache/test-multihost.log
# The multi-host suite alone takes about 43 minutes: the unit and report suites (no tiers) open the first lane.
# The scenario sweeps compare the throughputs of servers against each other, which a machine busy with the other
# lane bends (aiohttp's upstream rate fell to 2.5 x sync's beside the fault suite): they run last, alone.
LOCAL_SUITES = unit report e2e faults test-teardown
OTHER_SUITES = test-multihost apps verify matrix
QUIET_SUITES = scenarios
test: lint test-deps
	@mkdir -p $(dir $(MULTIHOST_LOG))
	@echo "$(OTHER_SUITES) run beside the other suites; their output goes to $(MULTIHOST_LOG), printed when they end"
	@$(MAKE) -k --no-print-directory $(OTHER_SUITES) > $(MULTIHOST_LOG) 2>&1 & other=$$!; \
	  local=0; $(MAKE) -k --no-print-directory $(LOCAL_SUITES) || local=$$?; \
	  remote=0; wait $$other || remote=$$?; \
	  echo "======== $(OTHER_SUITES) (exit $$remote), from $(MULTIHOST_LOG)"; cat $(MULTIHOST_LOG); \
	  quiet=0; $(MAKE) -k --no-print-directory $(QUIET_SUITES) || quiet=$$?; \
	  echo "======== $(LOCAL_SUITES): exit $$local; $(OTHER_SUITES): exit $$remote; $(QUIET_SUITES): exit $$quiet"; \
	  test $$local = 0 && test $$remote = 0 && test $$quiet = 0
# The fault suite provisions the localhost tiers itself unless the e2e suite has just done it.
test: export LAB_FAULTS_PROVISIONED = 1

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy analysis labcore wrk_scripts roles/lab_settings/action_plugins playbooks/filter_plugins playbooks/lookup_plugins playbooks/files playbooks/library roles/lab_base/files playbooks/scenario_sweep.py roles/upstream/files roles/benchmark/filter_plugins \
		apps/_common/scenarios.py tests benchmarks labkit
	$(VENV)/bin/ansible-lint --offline

unit: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/unit tests/ansible $(PYTEST_ARGS)

report: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/report $(PYTEST_ARGS)

# The verifier (analysis/verify): its grading, and real servers that each break one rule (real Postgres).
verify: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/verify $(PYTEST_ARGS)

apps: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/apps $(PYTEST_ARGS)

# Every server x worker class of every app (apps/<fw>/lab.yml servers), started as roles/app_server runs it, on a
# unix socket and on TCP, against a real throwaway Postgres.
matrix: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/matrix $(PYTEST_ARGS)

# A short sleep/upstream sweep over sync, async and gevent servers, with the expected ordering (real servers).
scenarios: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/scenarios $(PYTEST_ARGS)

e2e: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/e2e $(PYTEST_ARGS)

# The teardown of the localhost lab (it leaves the machine torn down; `make lab` provisions again). Holds the
# multi-host lab's lock too: those hosts share this machine's nginx.
test-teardown: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/teardown $(PYTEST_ARGS)

# Faults on the localhost lab, each by a real kill by PID: interrupted sweeps resume, an app crash and a lost
# database are recorded and the run goes on; secrets and listening sockets. Holds /tmp/lab-localhost.lock while
# it runs, and provisions the tiers first (not within `make test`, whose e2e suite has just done it).
faults: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/faults $(PYTEST_ARGS)

# The playbooks over SSH against db, app and two client hosts, each a network namespace of this machine (root).
# Torn down at the end; by hand: $(VENV)/bin/python -m tests.multihost.netns_lab down --purge
test-multihost: $(VENV)/.dev test-deps
	$(VENV)/bin/pytest tests/multihost $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
