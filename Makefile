# Switchyard: the two commands a newcomer needs are `make demo` and `make test`.
# Both create .venv/ from the committed lock on first use and reuse it afterwards.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-from-lock

# The Python versions requirements.lock is resolved and tested for (its header, `make lock`). Another
# version fails part-way through the install (e.g. 3.10: "Could not find a version that satisfies the
# requirement annotated-doc==0.0.7"), so make refuses it before creating anything.
SUPPORTED_PYTHONS := 3.11
PY_VERSION_OF = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# A venv a wrong interpreter made is rebuilt, not reused: its stamp counts as out of date.
VENV_PYTHON := $(if $(wildcard $(PY)),$(call PY_VERSION_OF,$(PY)))
VENV_IS_WRONG := $(if $(VENV_PYTHON),$(filter-out $(SUPPORTED_PYTHONS),$(VENV_PYTHON)),$(wildcard $(VENV)))

export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include
# Python caches bytecode in __pycache__/ (git-ignored) even where the machine sets
# PYTHONDONTWRITEBYTECODE, as container images do: otherwise every test worker rewrites the asserts
# of every test module (~3 CPU-s each) and every Airflow process compiles our sources, at every start.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint bench bench-release lock clean env FORCE

# Checked only when the venv is (re)built: a working venv needs no $(PYTHON) afterwards.
define CHECK_PYTHON
v="$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"; \
case " $(SUPPORTED_PYTHONS) " in \
  *" $$v "*) ;; \
  *) echo "error: $(PYTHON) is Python $${v:-(not found)}; switchyard's lock supports Python $(SUPPORTED_PYTHONS) only." >&2; \
     echo "       Install it and run e.g. make PYTHON=python$(lastword $(SUPPORTED_PYTHONS)) $(or $(MAKECMDGOALS),demo)" >&2; \
     exit 2;; \
esac
endef

# The lock is complete (every transitive dependency, pinned and hashed), so pip installs it with
# --no-deps: resolving again trips pip's hash mode on extras (celery[redis] from the celery provider
# made pip fetch celery 5.7.0 and stop). `pip check` then proves the set is consistent.
# The venv, then the `switchyard` command (console script of pyproject.toml) as an editable install of
# plugins/ without dependencies or network: setuptools comes from the lock.
$(STAMP): requirements.lock pyproject.toml $(if $(VENV_IS_WRONG),FORCE)
	@$(CHECK_PYTHON)
	@if [ -n "$(VENV_IS_WRONG)" ]; then \
	  echo "==> $(VENV) was made by Python $(or $(VENV_PYTHON),(unknown)), not $(SUPPORTED_PYTHONS): rebuilding it"; \
	  rm -rf $(VENV); fi
	@echo "==> creating $(VENV) from requirements.lock (first run only, ~4 minutes, ~930 MB)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements.lock
	@$(PY) -m pip check --disable-pip-version-check >/dev/null
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --no-index -e .
	@touch $(STAMP)

FORCE:

demo: $(STAMP) postgres
	@$(PY) -m switchyard.localenv.demo

test: $(STAMP) chromium postgres redis lint
	@$(PY) -m pytest -n 5 --dist loadscope --no-loadscope-reorder

# The production topology of docker-compose.yaml as processes on this machine, until Ctrl-C:
# PostgreSQL, api-server, scheduler, dag-processor, triggerer and the local environment.
# Override: make stack STACK_ARGS="--time-scale 60 --port 8081".
STACK_ARGS ?=
.PHONY: stack stack-celery ui
stack: $(STAMP) postgres
	@$(PY) -m switchyard.localenv.stack $(STACK_ARGS)

# The same with CeleryExecutor: redis-server and two Celery workers.
stack-celery: $(STAMP) postgres redis
	@$(PY) -m switchyard.localenv.stack --executor celery $(STACK_ARGS)

# The UI on what `make demo` left: its three runs, logs, notes, artefacts and the Releases view.
ui: $(STAMP) postgres
	@$(PY) -m switchyard.localenv.stack --state-dir .local-env/demo --time-scale 60 $(STACK_ARGS)

# Debian packages the stack runs, installed when missing and we can (root with apt-get, as in CI).
define APT_INSTALL
if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
  echo "==> installing Debian's $(1) (first run only)"; \
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1) >/dev/null; } \
    || { echo "==> could not install $(1)" >&2; exit 1; }; \
else \
  echo "==> $(1) is missing: install it (apt-get install $(1)) or run make as root" >&2; exit 1; \
fi
endef
.PHONY: postgres redis
postgres:
	@test -x /usr/lib/postgresql/15/bin/postgres || test -x /usr/lib/postgresql/16/bin/postgres || { $(call APT_INSTALL,postgresql); }
redis:
	@command -v redis-server >/dev/null || { $(call APT_INSTALL,redis-server); }

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
