# Two commands on a fresh machine: `make run` (set up + ingest raw_docs/) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: install run test clean chromium bench bench-pdf

# The exact versions of uv.lock (`uv lock` after changing pyproject.toml's dependencies), the project
# itself editable, with the test extra. --inexact keeps uv (installed with pip) in the venv.
$(STAMP): pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv sync -q --frozen --inexact --extra test --compile-bytecode --python $(PY)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/lcd ingest raw_docs

test: $(STAMP) chromium
	$(PY) -m pytest -q

# Debian's chromium renders the HTML change report in the browser test (tests/test_report_browser.py).
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Scale benchmark: lcd ingest of 100, 940 and 5,000 generated LCDs per stage, next to raw nlp.pipe;
# writes bench/results.json and bench/results.png (about 15 minutes on 2 cores). Not part of `make test`.
bench: $(STAMP)
	$(PY) bench/scale.py $(BENCH_ARGS)

# PDF reader speed (pages/s, peak memory) on a generated 50-page LCD-like PDF; not part of `make test`.
bench-pdf: $(STAMP)
	$(PY) bench/pdf_speed.py

clean:
	rm -rf $(VENV) warehouse/lcd.duckdb warehouse/lcd.duckdb.wal warehouse/reports
