# The one interface for developers and CI. `make help` lists the targets.
SHELL := /bin/bash
# The first candidate that really runs Python 3.12 (a pyenv shim may exist and still refuse).
PY ?= $(shell for p in python3.12 $$(ls -d /root/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null) /usr/bin/python3.12; do \
        $$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(abspath $(VENV))/bin
export SAM_CLI_TELEMETRY := 0
# For the local stack and moto, when your shell names no region. A deployment's region is yours:
# export AWS_REGION and AWS_DEFAULT_REGION both, and samconfig.toml's (docs/deploy.md, One region).
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help dev system-deps browser-deps web web-types test test-system test-fast coverage contract ops-check lint format validate build lock bench-performance bench-cold-start bench-cold-open bench-backlog bench-web-polling bench-slow-sqs mutation demo local faults soak deploy-rehearsal clean

help:
	@echo "make demo      set up from nothing, run a course end to end on the local stack"
	@echo "make test      set up from nothing, run the tests (CI runs it, then make test-system)"
	@echo "make test-system  the whole system under time pressure: CI-size fault scenarios, short soak, kill -9, fuzzer"
	@echo "make local     start the local stack and the web app at http://127.0.0.1:3000, keep it running"
	@echo "make web       build the web app (web/dist), which the local stack serves"
	@echo "make format    ruff --fix + ruff format"
	@echo "make lint      ruff, mypy --strict, xenon (complexity);   make validate: sam validate --lint, cfn-lint -c I, checkov;   make build: sam build"
	@echo "make lock      re-resolve layers/flowgen/requirements.in into the hash-locked requirements.txt"

$(VENV)/.installed: pyproject.toml
	@test -n "$(PY)" || { echo "Python 3.12 not found: install it or run 'make PY=/path/to/python3.12'"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

system-deps:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (apt)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server >/dev/null; }

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (apt)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

dev: $(VENV)/.installed system-deps

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: web/node_modules/.installed
	cd web && npm run build

# The web app's API types (web/src/api/schema.d.ts), generated from the OpenAPI document the api
# function serves; `make test` fails when they are out of date.
web-types: dev web/node_modules/.installed
	web/scripts/api-types.sh generate

# pytest workers: a file's tests stay on one worker, so they share its stacks, and tests/e2e runs
# on one worker, one test at a time (tests/conftest.py's scheduler). make test runs three on two
# cores: the browser journeys' worker mostly waits on the app (about 270 s of the suite's 720 s of
# tests), and with two workers the CPU sat half idle for the run's second half (76 % busy on
# average, 398 s); make test-system keeps two, its scenarios measure timings under load.
#
# Bytecode is written (PYTHONDONTWRITEBYTECODE unset, where a machine sets it): the suite starts
# about 250 Python processes (74 fresh interpreters: function hosts, stand-ins, the CLI under
# test; the rest function instances, which import their code after the fork), and without .pyc
# each compiled the repository's modules again, and each worker rewrote every test module's
# asserts (14 s of collection against 7 s). __pycache__ is ignored by git and
# never shipped: functions/Makefile and the layer's build drop it.
WRITE_BYTECODE := env -u PYTHONDONTWRITEBYTECODE
PYTEST_SERIAL := $(WRITE_BYTECODE) $(BIN)/pytest -q -p no:cacheprovider
PYTEST := $(PYTEST_SERIAL) --dist loadfile
TEST_WORKERS ?= 3

# the whole suite; the layer's coverage is printed, with the floor of pyproject's [tool.coverage.report]
test: dev browser-deps web
	cd web && npm test
	web/scripts/api-types.sh check
	$(PYTEST) -n $(TEST_WORKERS) -m "not faults and not system" --cov --cov-report=term

# the whole system under time pressure (pytest marker `system`: CI-size fault scenarios, the short
# soak, kill -9 and restart, deep backlogs, polling rates, the bounded fuzzer); CI runs it after
# make test.
test-system: dev browser-deps web
	$(PYTEST) -n 2 -m "system and not faults"

# every tier but the one that needs the whole system running (no browser, no fault scenarios)
test-fast: dev
	$(PYTEST) -n 2 -m "not e2e" --cov --cov-report=term

# the layer's coverage with the integration tier measured too (make test measures the unit, api
# and contract tiers: tracing the integration tier costs a fifth of its time)
coverage: dev
	COVERAGE_INTEGRATION=1 $(PYTEST) -n 2 -m "not e2e and not faults and not system" --cov --cov-report=term

# the contract fuzz suite at full size, every phase (make test runs a bounded part of it)
contract: dev
	FUZZ_EXAMPLES=50 FUZZ_PHASES=examples,coverage,fuzzing,stateful $(PYTEST_SERIAL) -s tests/contract

# The operator tool in a venv without the developer extras: its commands run, a dev command
# names the extra it needs.
OPS_VENV := .venv-ops
ops-check:
	@test -n "$(PY)" || { echo "Python 3.12 not found"; exit 1; }
	rm -rf $(OPS_VENV) && $(PY) -m venv $(OPS_VENV)
	$(OPS_VENV)/bin/pip install -q --upgrade pip
	$(OPS_VENV)/bin/pip install -q -e .
	$(OPS_VENV)/bin/flowgen status --help > /dev/null
	$(OPS_VENV)/bin/flowgen retry-failed --help > /dev/null
	$(OPS_VENV)/bin/flowgen redrive --help > /dev/null
	$(OPS_VENV)/bin/flowgen reconcile --help > /dev/null
	! $(OPS_VENV)/bin/python -c "import moto" 2> /dev/null
	$(OPS_VENV)/bin/flowgen local 2>&1 | grep -q "needs its extra"
	@echo "ops-check: the operator commands run without the dev extras"

LINTED := layers functions ops dev tests bench

lint: dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy layers/flowgen/flowgen functions ops/flowgen_ops dev/flowgen_local dev/flowgen_stand_in dev/flowgen_capacity dev/flowgen_faults tests
	$(BIN)/xenon --max-absolute B --max-modules A --max-average A layers functions

format: dev
	$(BIN)/ruff check --fix $(LINTED)
	$(BIN)/ruff format $(LINTED)

# checkov lives in its own venv: it pins boto3/botocore/packaging to versions older than the
# project's (SAM CLI, moto), and must not downgrade them.
CHECKOV_VERSION := 3.3.30
$(VENV)/checkov/.installed-$(CHECKOV_VERSION): | $(VENV)/.installed
	rm -rf $(VENV)/checkov
	$(BIN)/python -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install -q checkov==$(CHECKOV_VERSION)
	touch $@

# The template as written (SAM's own lint, cfn-lint with informational rules) and as AWS
# receives it after the SAM transform (checkov). Findings are fixed or skipped in the template
# with their reason (Metadata checkov skip, cfn-lint ignore_checks).
validate: dev $(VENV)/checkov/.installed-$(CHECKOV_VERSION)
	$(BIN)/sam validate --lint
	$(BIN)/cfn-lint --include-checks I -- template.yaml
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(BIN)/python .ci/transform.py "$$tmp/template.json" && \
	  $(VENV)/checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f "$$tmp/template.json"

# The layer builds with layers/flowgen/Makefile (BuildMethod: makefile): no Docker needed.
build: dev
	PATH="$(BIN):$$PATH" $(BIN)/sam build

lock: dev
	$(BIN)/pip install -q uv
	cd layers/flowgen && $(BIN)/uv pip compile requirements.in --quiet --generate-hashes \
	  --python-version 3.12 --python-platform aarch64-manylinux2014 --custom-compile-command "make lock" \
	  $(foreach p,boto3 botocore s3transfer jmespath python-dateutil six urllib3,--no-emit-package $(p)) \
	  -o requirements.txt

# Import time of each built handler on this machine (an x86_64 twin of the layer, same lock).
# issue 27's numbers side by side in one run: first words (warm, cold, empty and 10,000-deep),
# worker init as x import boto3, cold opens with SnapStart off and on, re-sends per deferred job
# (about 11 minutes)
bench-performance: build
	$(BIN)/python bench/performance.py

bench-cold-start: build
	$(BIN)/python bench/cold_start.py

# An opened lesson on a cold lesson-worker instance against a warm one, SnapStart off and on
# (the local host preloading nothing, as on Lambda; about three minutes)
bench-cold-open: dev
	$(BIN)/python bench/cold_open.py

# The web app's polling pace with a slow model: calls a minute while a course builds and once
# settled, per screen (Chromium; about two minutes).
bench-web-polling: dev browser-deps web
	$(BIN)/python bench/web_polling.py

# An opened lesson's time to ready behind 0, 1,000 and 10,000 queued background lessons, as ratios
# to the empty queues of the same run (about a minute; `.venv/bin/python bench/backlog.py --quick`).
bench-backlog: dev
	$(BIN)/python bench/backlog.py

# Mutation score (mutmut, in .venv/mutmut) of scheduling, reconcile and courses (and courses'
# successors outline_plan and ownership) under the unit tests; exits 1 when a gated module is under
# 80 % (issue 20). About 1,600 mutants, 25 minutes on 2 cores: MODULES="scheduling reconcile" for some.
mutation: dev
	$(BIN)/python bench/mutation.py --quiet $(MODULES)

# No 5xx under load with SQS slowed and stalled in cycles (issue 25): 4 clients on one lesson for
# 90 s; requests by route and status, exits 1 on any 5xx (`.venv/bin/python bench/load_slow_sqs.py --help`).
bench-slow-sqs: dev
	$(BIN)/python bench/load_slow_sqs.py

# Every fault scenario at full size on a running local stack (docs/faults.md); prints the count
# table and writes it into docs/faults.md. A bounded part runs in `make test-system` (tests/faults/); the
# scenario tests marked `faults` (issue 25's, at the CI size: about 2 minutes) run here first.
faults: dev
	$(PYTEST_SERIAL) -m faults tests/faults
	$(WRITE_BYTECODE) $(BIN)/python -m flowgen_faults --size full --markdown docs/faults.md

# flowgen local for 20 minutes under steady traffic with model faults, then kill -9 and a restart:
# no stall, memory and open files bounded, every requested lesson terminal, no acknowledged write
# lost (docs/faults.md, The soak). A 15-second part runs in `make test-system` (tests/faults/test_soak.py).
soak: dev
	$(BIN)/python -m flowgen_faults.soak --minutes $(or $(MINUTES),20) --json .flowgen/soak.json

# sam build, sam deploy and sam delete of template.yaml against moto's server on loopback, and the
# teardown commands of docs/alarms-and-teardown.md (about five minutes); prints what moto created,
# what it cannot, and each step's error. No AWS account is used.
deploy-rehearsal: dev
	PATH="$(BIN):$$PATH" $(BIN)/python dev/deploy_rehearsal.py

demo: dev
	$(BIN)/flowgen demo

local: dev web
	$(BIN)/flowgen local

clean:
	rm -rf $(VENV) $(OPS_VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache web/node_modules web/dist
