# Laihua: `make demo` serves the demo on http://127.0.0.1:$(PORT); `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist), a test file's tests on one worker; PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto

.PHONY: demo test setup system-deps messages hpt-validator lint format serve clean bench

setup: $(VENV)/.installed system-deps messages hpt-validator

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Debian packages: gettext (translations), CJK fonts (PDFs and screenshots), Pango (WeasyPrint PDFs),
# Chromium (browser tests).
system-deps:
	@missing=""; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The CMS price-file validator (@cmsgov/hpt-validator, pinned in tools/hpt/package-lock.json) that the price-file
# tests run. Without npm the tests skip, but `make test` (LAIHUA_REQUIRE_BROWSER=1) makes them fail instead.
HPT := tools/hpt/node_modules/.package-lock.json
hpt-validator:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(HPT); \
	else echo "npm not found: the CMS price-file validator is not installed"; fi

$(HPT): tools/hpt/package.json tools/hpt/package-lock.json
	cd tools/hpt && npm ci --no-audit --no-fund --loglevel=error
	touch $@

messages: $(VENV)/.installed
	@cd src/laihua && ../../$(BIN)/django-admin compilemessages --ignore=.venv -v0

demo: setup
	LAIHUA_DEMO=1 $(BIN)/laihua migrate --noinput -v0
	LAIHUA_DEMO=1 $(BIN)/laihua load_demo
	@echo "Laihua demo: http://127.0.0.1:$(PORT)/  (logins in README.md)"
	LAIHUA_DEMO=1 LAIHUA_SITE_URL=$${LAIHUA_SITE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/laihua runserver 127.0.0.1:$(PORT) --noreload

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check . || true

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	LAIHUA_REQUIRE_BROWSER=1 $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) var tools/hpt/node_modules
