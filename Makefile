# The two commands a fresh machine needs: `make run` (the service on SQLite) and `make test` (every test).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The web UI (frontend/): npm ci once per lock file, a build only when its sources changed.
FRONTEND := frontend
FRONTEND_INSTALLED := $(FRONTEND)/node_modules/.installed
FRONTEND_BUILT := $(FRONTEND)/out/.built
FRONTEND_SOURCES := $(shell find $(FRONTEND)/app $(FRONTEND)/components $(FRONTEND)/lib $(FRONTEND)/types \
	$(FRONTEND)/utils $(FRONTEND)/public -type f 2>/dev/null) \
	$(wildcard $(FRONTEND)/next.config.ts $(FRONTEND)/tsconfig.json $(FRONTEND)/postcss.config.mjs $(FRONTEND)/.env*)

.PHONY: setup run test lint format bench clean frontend frontend-deps frontend-test frontend-types

$(STAMP): pyproject.toml setup.py $(wildcard inference/native/csrc/*.c inference/native/csrc/*.h)
	@echo "== Setting up $(VENV): torch 2.13.0 (CPU) first, then the service's packages (2-4 minutes on 2 cores)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: a bare torch requirement would pull GBs of CUDA packages.
	$(BIN)/pip install --disable-pip-version-check --progress-bar on torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP) frontend
	$(BIN)/musicgenie database upgrade
	$(BIN)/musicgenie run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) frontend-test

$(FRONTEND_INSTALLED): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

$(FRONTEND_BUILT): $(FRONTEND_INSTALLED) $(FRONTEND_SOURCES)
	cd $(FRONTEND) && NEXT_TELEMETRY_DISABLED=1 npm run build
	touch $@

# The static UI in frontend/out, which the service serves at /.
frontend: $(FRONTEND_BUILT)

# Chromium for the browser tests (Debian's package; CI runs as root on a fresh machine).
frontend-deps:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# Component tests (vitest, incl. the API types' drift check), then the browser test against the service
# started with tiny-random on a free port; screenshots in frontend/test-artifacts/. No browser: it fails.
frontend-test: $(STAMP) frontend frontend-deps
	cd $(FRONTEND) && PYTHON=$(abspath $(BIN)/python) npm test
	cd $(FRONTEND) && PYTHON=$(abspath $(BIN)/python) node e2e/serve-and-run.mjs

# Regenerate frontend/types/api.generated.ts and api.constants.ts after the service's API changed (commit them).
frontend-types: $(STAMP) $(FRONTEND_INSTALLED)
	cd $(FRONTEND) && PYTHON=$(abspath $(BIN)/python) npm run gen:api

bench: $(STAMP)
	$(BIN)/musicgenie bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache $(FRONTEND)/node_modules $(FRONTEND)/out $(FRONTEND)/.next $(FRONTEND)/test-artifacts
