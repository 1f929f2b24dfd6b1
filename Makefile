# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup web browser bench synth deploy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

web: setup
	@if [ -f web/package.json ]; then cd web && (npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error) && npm run build --silent; fi

browser:
	@command -v chromium >/dev/null 2>&1 || ( \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null )

## The product locally: moto server + API + dashboard + demo traffic (Ctrl-C stops).
run: setup web
	$(PY) -m infra.local

## The whole test suite (unit, API, concurrency, browser).
test: setup web browser
	$(PY) -m pytest tests

bench: setup
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) web/node_modules web/dist
