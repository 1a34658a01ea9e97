# Switchyard: the two commands a newcomer needs are `make demo` and `make test`.
# Both create .venv/ from the committed lock on first use and reuse it afterwards.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-from-lock

export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include

.PHONY: demo test lint bench bench-release lock clean env

$(STAMP): requirements.lock
	@echo "==> creating $(VENV) from requirements.lock (first run only, ~2 minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $(STAMP)

demo: $(STAMP)
	@$(PY) -m switchyard.localenv.demo

test: $(STAMP) chromium
	@$(PY) -m ruff check .
	@$(PY) -m pytest -n 3 --dist loadfile

# The Releases view's browser test drives Debian's chromium (never a Playwright browser download).
# `make test` installs it when it is missing and it can (root with apt-get, as in CI); otherwise
# that test is skipped and says why. A no-op once /usr/bin/chromium exists.
CHROMIUM := /usr/bin/chromium
.PHONY: chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "==> installing Debian's chromium for the browser test (first run only, ~1 minute)"; \
	    { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	      || echo "==> could not install chromium: the browser test will be skipped"; \
	  else \
	    echo "==> no $(CHROMIUM) and not root with apt-get: the browser test will be skipped"; \
	  fi; }

lint: $(STAMP)
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check plugins tests dags

bench: $(STAMP)
	@$(PY) benchmarks/engine_bench.py

bench-release: $(STAMP)
	@$(PY) benchmarks/rollback_bench.py

# Regenerate the lock after editing requirements.in (needs uv: `pip install uv`).
lock:
	uv pip compile requirements.in -o requirements.lock --universal --python-version 3.11 --generate-hashes

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Local environment: Kubernetes API emulator + Prometheus emulator + local AWS (moto), seeded from
# the acme-shop model, in the foreground until Ctrl-C. Override: make env ENV_ARGS="--time-scale 30".
ENV_ARGS ?= --behaviours include/behaviours/acme-shop.yaml
.PHONY: env
env: $(STAMP)
	@$(PY) -m switchyard.localenv up $(ENV_ARGS)
