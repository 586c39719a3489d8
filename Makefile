# The two set-up commands: `make run` and `make test`. Nothing else needs to be installed by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint check install clean dovecot chromium screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Installs, migrates, loads demo data the first time, starts web + worker + scheduler on :8000.
run: install
	$(BIN)/regulars run

# Everything CI checks on one database (set DATABASE_URL for PostgreSQL).
test: install check dovecot chromium
	$(BIN)/python -m pytest

# The IMAP tests start their own Dovecot (Debian's dovecot-imapd) on a free 127.0.0.1 port; only
# the binary is needed, never the system service. Installed once, a no-op afterwards.
dovecot:
	@command -v dovecot >/dev/null 2>&1 || test -x /usr/sbin/dovecot || \
		{ SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		  $$SUDO apt-get update -qq && \
		  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; }

# The browser tests drive Debian's Chromium through Playwright (no browser download).
chromium:
	@test -x /usr/bin/chromium || \
		{ SUDO=$$(test "$$(id -u)" -eq 0 || echo sudo); \
		  $$SUDO apt-get update -qq && \
		  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Re-take the screenshots in docs/screenshots/ with the browser tests.
screenshots: install chromium
	REGULARS_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -m browser

check: install
	$(BIN)/regulars check --fail-level WARNING
	$(BIN)/regulars makemigrations --check --dry-run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy regulars config

clean:
	rm -rf $(VENV) var/test-*
