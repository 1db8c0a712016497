PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test postgresql chromium ui ui-test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

demo: $(BIN)/python ui
	$(BIN)/pip install -q -e '.[data]'
	$(BIN)/python examples/hello.py
	cd examples && ../$(BIN)/rillet run --home ../.rillet-demo hello.py:hello_world --name demo

test: $(BIN)/python postgresql chromium ui-test
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/ruff check rillet tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# The web UI (ui/, Node 20 and npm): its packages from package-lock.json, built into
# rillet/ui_static, which the server serves at / and the wheel carries.
ui:
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	cd ui && npx vite build --logLevel warn

# Its checks: strict types, the component tests (Vitest), then the build (the
# end-to-end test, tests/ui/test_ui_e2e.py, drives the built app in chromium).
ui-test:
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	cd ui && npx tsc --noEmit -p tsconfig.json
	cd ui && npx vitest run
	cd ui && npx vite build --logLevel warn

# The UI's end-to-end test drives Debian's chromium (/usr/bin/chromium), installed here
# when missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium (the web UI's end-to-end test)"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

# The store tests and benchmarks/platform_bench.py start a real PostgreSQL server
# (tests/pgserver.py): Debian's postgresql, installed here when missing, without a
# default cluster (no server of its own).
postgresql:
	@if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  echo "installing Debian's postgresql (the store tests, platform_bench.py)"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo mkdir -p /etc/postgresql-common/createcluster.d; \
	  echo "create_main_cluster = false" | $$sudo tee /etc/postgresql-common/createcluster.d/rillet-tests.conf >/dev/null; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
	fi

# Peers for `bench`, each in a venv of its own under .bench/ (never a rillet dependency).
# A peer that fails to install is reported and skipped; benchmarks are not tests.
BENCH_PEERS := flytekit:flytekit~=1.16.0 hamilton:sf-hamilton~=1.90.0 dbos:dbos~=3.4.0 \
	mlflow:mlflow~=3.17.0 prefect:prefect~=3.9.0

bench: $(BIN)/python postgresql chromium ui
	$(BIN)/pip install -q -e '.[dev]'
	@for spec in $(BENCH_PEERS); do \
	  name=$${spec%%:*}; req=$${spec#*:}; dir=.bench/$$name; \
	  [ -f $$dir/.installed ] && continue; \
	  echo "bench: installing $$req into $$dir (log: $$dir.log)"; \
	  mkdir -p .bench; rm -rf $$dir; \
	  if $(PY) -m venv $$dir >$$dir.log 2>&1 \
	     && $$dir/bin/python -m pip install -q "$$req" >>$$dir.log 2>&1; then \
	    touch $$dir/.installed; \
	  else \
	    echo "bench: could not install $$req, $$name is skipped (see $$dir.log):"; \
	    grep -v '^WARNING: Location' $$dir.log | tail -3; \
	  fi; \
	done
	$(BIN)/python benchmarks/overhead.py --peers
	$(BIN)/python benchmarks/durable.py --peers
	$(BIN)/python benchmarks/verify.py
	$(BIN)/python benchmarks/records.py
	$(BIN)/python benchmarks/notebook.py
	$(BIN)/python benchmarks/serving.py --peers
	$(BIN)/python benchmarks/tuning.py
	$(BIN)/python benchmarks/ray_bench.py
	$(BIN)/python benchmarks/platform_bench.py --peers
	$(BIN)/python benchmarks/teams_bench.py
	$(BIN)/python benchmarks/ui_bench.py

clean:
	rm -rf $(VENV) .rillet .rillet-demo .bench ui/node_modules rillet/ui_static
