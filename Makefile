# Engage: `make run` serves the site with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app engage.wsgi
VENDOR := engage/static/vendor/nhsuk
NHSUK_DIST := node_modules/nhsuk-frontend/dist/nhsuk

.PHONY: run test install install-test assets translations migrate seed chromium lint audit bench bench-pages wrk clean worker check-wheel

run: install assets translations migrate seed
	@echo ""
	@echo "Engage is running at http://127.0.0.1:$(PORT)  (stop it with Ctrl+C)"
	@echo "Emails are printed here instead of being sent; run 'make worker' in another terminal to send queued ones."
	@echo ""
	ENGAGE_CONFIG=development $(FLASK) run --host 127.0.0.1 --port $(PORT)

worker: install
	ENGAGE_CONFIG=development $(FLASK) engage worker

test: install-test assets translations chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/nhsuk-frontend.min.css: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp $(NHSUK_DIST)/nhsuk-frontend.min.css $(NHSUK_DIST)/nhsuk-frontend.min.js $(VENDOR)/
	cp -R $(NHSUK_DIST)/assets/. $(VENDOR)/

assets: $(VENDOR)/nhsuk-frontend.min.css

translations: install
	$(BIN)/pybabel compile --statistics -d engage/translations 2>/dev/null || $(BIN)/pybabel compile -d engage/translations

translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -o engage/translations/messages.pot .
	$(BIN)/pybabel update -i engage/translations/messages.pot -d engage/translations

migrate: install
	mkdir -p instance
	ENGAGE_CONFIG=development $(FLASK) db upgrade

seed: install
	ENGAGE_CONFIG=development $(FLASK) engage seed-demo

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Chromium from Debian packages for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# Build the wheel, install it into a fresh venv outside the checkout, migrate DATABASE_URL
# (PostgreSQL), create an admin, serve with gunicorn and ask /readyz.
check-wheel: install assets translations
	PYTHON=$(BIN)/python deploy/check-wheel.sh "$(DATABASE_URL)"

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/bandit -q -ll -c pyproject.toml -r engage

audit: install-test
	$(BIN)/pip-audit --skip-editable --progress-spinner off

bench: install-test assets translations wrk
	@for script in bench/*.py; do case $$script in bench/hello_app.py|bench/bench_*.py) continue;; esac; \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Pages next to bare Flask, under gunicorn and wrk (bench/pages.py; Debian's wrk).
bench-pages: install-test assets translations wrk
	$(BIN)/python bench/pages.py

wrk:
	@if ! command -v wrk >/dev/null; then \
	  echo "Installing wrk from Debian packages for the page benchmark"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; \
	fi

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache
