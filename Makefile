# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-hours setup web browser bench synth deploy clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 asks for pip < 26.3
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
	$(PY) -m pytest tests -n 4 --dist loadfile

## The whole suite at other hours of the day (UTC), every clock of the run moved there (tests/clock_hour.py):
## the hours around midnight UTC and Paris catch tests that read "today". HOURS="23:30 00:10 12:00" by default.
test-hours: setup web browser
	@for h in $(or $(HOURS),23:30 00:10 12:00); do \
	  echo "== make test at $$h UTC"; \
	  LIVEREPORT_TEST_HOUR=$$h $(PY) -m pytest tests -n 4 --dist loadfile -q || exit 1; \
	done

## Benchmarks (not tests): the write cost curve (WRU/event at 1-1,000 requests/s, batches, a mix) vs the previous design (git 58732dc) and naive, CPU, report reads vs DuckDB, hostile report requests, experiments (docs/performance.md). QUICK=1 for a short run. bench/scale.py (docs/scale.md) runs on its own.
bench: setup
	$(PY) bench/ingest.py $(if $(QUICK),--quick)
	$(PY) bench/report.py $(if $(QUICK),--quick)
	$(PY) bench/hostile.py
	$(PY) bench/experiments.py $(if $(QUICK),--quick)
	$(PY) bench/experiment_cost.py $(if $(QUICK),--profiles 300)

## CloudFormation templates of a stage into infra/cdk/cdk.out: offline, no credentials (STAGE=dev|prod).
synth: setup
	$(PY) -m infra.cdk synth -c stage=$(or $(STAGE),dev) $(if $(SENDER),-c sender=$(SENDER)) $(if $(SENDER_DOMAIN),-c sender_domain=$(SENDER_DOMAIN)) $(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) $(if $(WAF),-c waf=$(WAF))

## Deploy a stage with your AWS credentials (docs/deploy.md): make deploy STAGE=dev SENDER=reports@example.org
deploy: setup
	npx --yes aws-cdk@2 deploy --app "$(PY) -m infra.cdk" --output infra/cdk/cdk.out -c stage=$(or $(STAGE),dev) $(if $(SENDER),-c sender=$(SENDER)) $(if $(SENDER_DOMAIN),-c sender_domain=$(SENDER_DOMAIN)) $(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) $(if $(WAF),-c waf=$(WAF))

clean:
	rm -rf $(VENV) web/node_modules web/dist
