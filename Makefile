# reportbot: `make run` sets everything up and serves; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM ?= /usr/bin/chromium
PO_FILES := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test install lock compile extract update check-translations lint chromium axe wrk bench \
        bench-quick clean

# Installs exactly what uv.lock records (hashes checked); fails if the lock is stale.
# uv itself is bootstrapped into the virtual environment with pip when the machine lacks it.
UV = $(shell command -v uv 2>/dev/null || echo $(BIN)/uv)
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x "$(UV)" || $(BIN)/pip install --quiet 'uv>=0.5'
	"$(UV)" sync --locked --quiet --python $(BIN)/python
	touch $(STAMP)

## Refresh uv.lock on purpose (after changing pyproject.toml), then commit it.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x "$(UV)" || $(BIN)/pip install --quiet 'uv>=0.5'
	"$(UV)" lock

install: $(STAMP) compile

## Serve on http://127.0.0.1:$(PORT) with the embedded SQLite database and the demo landlord.
## On the first start the secret key is created: say plainly that it must be backed up.
PORT ?= 8000
KEY_FILE = $${REPORTBOT_INSTANCE_DIR:-instance}/secret.key
run: install
	@test -n "$$REPORTBOT_SECRET_KEY" -o -f "$(KEY_FILE)" || printf '%s\n' "" \
	  "FIRST START: a secret key is being created in $(KEY_FILE)." \
	  "Every report is sealed with it. Back it up NOW, separately from the database and its" \
	  "backups: e.g. copy the file's contents into the landlord's password manager, or keep" \
	  "a printed copy in a safe. Without it no report, and no backup, can ever be read." \
	  "See README.md, 'Backups and the secret key'." ""
	$(BIN)/reportbot serve --host 127.0.0.1 --port $(PORT)

## The whole suite: lint, translations, unit, PostgreSQL (when TEST_DATABASE_URL is set), browser.
test: install chromium axe
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff check --select S --extend-exclude tests .
	$(BIN)/python -m bot.i18n_check
	$(BIN)/python -m bot.signs
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff check --select S --extend-exclude tests .

# ---- translations (Babel) ----------------------------------------------------------------
compile: $(STAMP) $(MO_FILES)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile --statistics -D messages -i $< -o $@ -l $*

extract: $(STAMP)
	$(BIN)/pybabel extract -F locales/babel.cfg -k N_ -k gettext -k ngettext:1,2 \
	  --no-wrap --sort-by-file --project=reportbot -o locales/messages.pot .

update: extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-wrap \
	  --ignore-obsolete

check-translations: compile
	$(BIN)/python -m bot.i18n_check
	$(BIN)/python -m bot.signs

# ---- browser tests need the system Chromium (Debian package) --------------------------------
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# ---- axe-core checks the console pages for WCAG violations in the browser tests -------------
# From the npm registry at the exact version in tests/browser/package-lock.json; `npm ci`
# refuses a package whose sha512 differs from the lock's integrity field.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(AXE)

axe: $(AXE)

# ---- the load generator for the benchmarks: wrk (C, scriptable in Lua), a Debian package ---
wrk:
	@command -v wrk >/dev/null || { \
	  echo "installing Debian wrk for the benchmarks"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }

## Figures, not tests. The yardstick (bench/yardstick.py): wrk drives the bare endpoint, the
## durable-turn floor and complete reports over every channel, on SQLite and PostgreSQL,
## and writes bench/results/latest.json; then the queue and case page with up to 1,000,000
## cases, console sign-in timing, and maintenance. PostgreSQL: set TEST_DATABASE_URL.
BENCH_PG ?= $(or $(TEST_DATABASE_URL),postgresql://postgres@127.0.0.1:5432/test)
bench: install wrk
	$(BIN)/python bench/yardstick.py --duration 10 --warmup 2 --postgres $(BENCH_PG)
	$(BIN)/python bench/scale.py --postgres $(BENCH_PG)
	$(BIN)/python bench/signin.py --postgres $(BENCH_PG)
	$(BIN)/python bench/maintenance.py --postgres $(BENCH_PG)

## The yardstick's table in under a minute, for a spot check (3 s a measurement, no warm-up):
## its figures are rough, and it writes them to bench/results/quick.json, not latest.json.
bench-quick: install wrk
	$(BIN)/python bench/yardstick.py --quick --postgres $(BENCH_PG) \
	  --out bench/results/quick.json

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache tests/browser/node_modules
	find locales -name '*.mo' -delete
