# Heliograph: `make run` serves the demo page, `make test` runs the whole test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The test suite runs against the real PostgreSQL and Redis on their standard ports.
TEST_ENV := \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/heliograph} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/14} \
	SECRET_KEY=test-only-secret-key-long-enough-for-the-production-check-0123456789 STATIC_MANIFEST=false SECURE_COOKIES=false

.PHONY: run test test-fast lint venv dev-venv clean demo-break demo-mend

$(BIN)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.dev: $(BIN)/.runtime
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

venv: $(BIN)/.runtime
dev-venv: $(BIN)/.dev

run: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bin/run

# Break or mend a path of the demo product while `make run` is running:
#   make demo-break PART=login     (PART: login, web, api or all)
demo-break demo-mend: venv
	$(BIN)/python manage.py demo $(@:demo-%=%) $(PART)

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=lint-only-secret-key-long-enough-for-the-production-check-0123456789 $(BIN)/mypy

# Each test has one tier (tests/tiers.py). The fast tiers run first, each stopping on
# its first failure and ending the run; then the slow tiers, each to its end. With
# PYTEST_ARGS (make test PYTEST_ARGS=tests/probes), pytest runs just that, once.
FAST_TIERS := unit schema database
SLOW_TIERS := worker browser outage

test: dev-venv
	bin/ensure-services
	$(MAKE) --no-print-directory tests/oidc/node_modules/.installed
	$(MAKE) --no-print-directory tests/axe/node_modules/.installed
	$(MAKE) --no-print-directory lint
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
ifdef PYTEST_ARGS
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)
else
	$(MAKE) --no-print-directory test-fast
	@failed=""; for tier in $(SLOW_TIERS); do \
	    echo "make test: the $$tier tier"; \
	    $(TEST_ENV) $(BIN)/pytest -m $$tier || failed="$$failed $$tier"; \
	done; \
	[ -z "$$failed" ] || { echo "make test: failures in the tiers:$$failed"; exit 1; }
endif

# The fast tiers alone, as make test runs them first (a developer's quick check).
test-fast: dev-venv
	bin/ensure-services
	@for tier in $(FAST_TIERS); do \
	    echo "make test: the $$tier tier (stops on the first failure)"; \
	    $(TEST_ENV) $(BIN)/pytest -x -m $$tier || exit 1; \
	done

# The single sign-on tests start a real OpenID Connect provider (panva's
# oidc-provider, pinned in tests/oidc/package-lock.json).
tests/oidc/node_modules/.installed: tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The accessibility checks of the public pages run axe-core in Chromium (pinned in
# tests/axe/package-lock.json).
tests/axe/node_modules/.installed: tests/axe/package-lock.json
	cd tests/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Probe throughput and lag figures (not a test; prints, never fails on a figure):
#   make bench BENCH_ARGS="--sizes 1000 --duration 30"
.PHONY: bench
$(BIN)/.bench: $(BIN)/.dev
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: $(BIN)/.bench
	bin/ensure-services
	$(BIN)/python bench/probes_throughput.py $(BENCH_ARGS)

# Notification fan-out and delivery figures (not a test either):
#   make bench-notifications BENCH_ARGS="--emails 2000 --webhooks 1000 --workers solo"
.PHONY: bench-notifications
bench-notifications: $(BIN)/.bench
	bin/ensure-services
	$(BIN)/python bench/notifications_fanout.py $(BENCH_ARGS)

# The timing targets tests used to assert, as figures: change to public on a worker,
# renders per burst, the http probe on a hanging target (not a test either; ~1 minute):
#   make bench-timings BENCH_ARGS="--changes 40 --timeouts 0.5,1,5"
.PHONY: bench-timings
bench-timings: $(BIN)/.bench
	bin/ensure-services
	$(BIN)/python bench/timings.py $(BENCH_ARGS)

# Uptime history figures: rollup time per day of data and database size per monitor
# per year (not a test either; about 2 minutes):
#   make bench-uptime BENCH_ARGS="--monitors 200 --size-monitors 20"
.PHONY: bench-uptime
bench-uptime: $(BIN)/.bench
	bin/ensure-services
	$(BIN)/python bench/uptime_history.py $(BENCH_ARGS)

# Public read path figures: snapshot rebuild time, and gunicorn, granian and nginx
# under wrk (not a test either; installs wrk and nginx from Debian when run as root):
#   make bench-public BENCH_ARGS="--rounds 3 --duration 5 --servers granian:2x2,nginx"
.PHONY: bench-public
bench-public: $(BIN)/.bench
	bin/ensure-services
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	    [ "$$(id -u)" = 0 ] || { echo "bench-public: please install wrk and nginx-light" \
	        "(for example: sudo apt-get install wrk nginx-light)"; exit 1; }; \
	    echo "bench-public: installing wrk and nginx-light from Debian's packages"; \
	    apt-get update -qq; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; }
	$(BIN)/python bench/public_read.py $(BENCH_ARGS)

# A private page's read path next to the same content public, on granian, and nginx
# on the export (not a test either; installs wrk and nginx from Debian as root):
#   make bench-private BENCH_ARGS="--rounds 2 --duration 5"
.PHONY: bench-private
bench-private: $(BIN)/.bench
	bin/ensure-services
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	    [ "$$(id -u)" = 0 ] || { echo "bench-private: please install wrk and nginx-light" \
	        "(for example: sudo apt-get install wrk nginx-light)"; exit 1; }; \
	    echo "bench-private: installing wrk and nginx-light from Debian's packages"; \
	    apt-get update -qq; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; }
	$(BIN)/python bench/private_read.py $(BENCH_ARGS)

# Management API, /metrics and Alertmanager webhook figures on a large install's data
# (not a test either; about 3 minutes, or 1 with --quick):
#   make bench-api BENCH_ARGS="--quick"
.PHONY: bench-api
bench-api: $(BIN)/.bench
	bin/ensure-services
	$(BIN)/python bench/api_integrations.py $(BENCH_ARGS)

# The embedded default under load: bin/run's whole stack in a var folder of its own,
# probes every second, the demo product broken and mended in turn, the page asked for
# every second; prints figures at the end (not a test; tests/statuspage/test_soak.py
# runs it for 3 minutes):  make soak SOAK_MINUTES=30
SOAK_MINUTES ?= 30
.PHONY: soak
soak: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

# Issue 13's chaos run on the production shape: granian, beat, a central, a dispatch and
# three region workers on PostgreSQL and Redis; kills some, breaks the target, posts bad
# bodies, and prints figures (not a test; about 6 minutes):  make chaos CHAOS_ARGS=--json
.PHONY: chaos
chaos: dev-venv
	bin/ensure-services
	$(BIN)/python bench/chaos.py $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var
