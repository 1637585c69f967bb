# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint messages venv chromium clean bench bench-load

# A virtualenv with the locked dependencies (uv.lock); re-synced when the lock changes.
$(VENV)/.synced: pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	$(VENV)/bin/uv sync --frozen --inexact
	touch $@

venv: $(VENV)/.synced

run: venv
	$(PY) -m helpdesk.devstack run

# Browser tests drive Debian's Chromium; Playwright never downloads a browser here.
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: venv chromium
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 CHROMIUM_PATH=$(CHROMIUM) $(PY) -m helpdesk.devstack test $(ARGS)

# Performance benchmark (bench/): 100,000 tickets, gunicorn, writes bench/RESULTS.md.
bench: venv
	$(PY) -m bench.run $(ARGS)

# 50 signed-in clients for 60 s against the server as `make run` starts it (bench/load/);
# writes its section of bench/RESULTS.md.
bench-load: venv
	$(PY) -m bench.load $(ARGS)

lint: venv
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

# Extract and compile the translations (locale/zh_Hans).
messages: venv
	$(PY) manage.py makemessages -l zh_Hans --ignore .venv --ignore .data
	$(PY) manage.py compilemessages --ignore .venv --ignore .data

clean:
	rm -rf $(VENV) .data
