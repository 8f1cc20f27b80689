# The two commands of the README. Each installs what it needs on a fresh machine.
#   make demo   the dashboard on the bundled sample environment
#   make test   lint, types, import contracts and the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
TOOLS := .tools
UV_VERSION := 0.13.8
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
UV = $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
COMPOSE_BIN = $(shell $(VENV)/bin/python -c 'import importlib.resources as r; print(r.files("compose") / "docker-compose")')

.PHONY: help setup engine demo test lint unit bench clean

help:
	@echo "make demo    install everything and open the dashboard on the sample environment"
	@echo "make test    install everything and run lint, types and the whole test suite"

$(TOOLS)/bin/uv:
	@command -v uv >/dev/null || { python3 -m venv $(TOOLS) && $(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"; }

# uv.lock pins every version; --frozen refuses to drift from it. Bytecode is compiled at
# install: where PYTHONDONTWRITEBYTECODE is set (these machines set it), nothing else
# would ever cache it, and every start would compile every module again (seconds here).
setup: $(TOOLS)/bin/uv
	@$(UV) sync --frozen --quiet --compile-bytecode
	@$(VENV)/bin/python -m compileall -q -j 0 tui plugins bench

engine: setup
	@COMPOSE_BIN="$(COMPOSE_BIN)" bash scripts/ensure-engine.sh

demo: engine
	@$(VENV)/bin/envdeck demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# The sample stack's servers and demo tests run in containers/another rootdir: checked alone.
	$(VENV)/bin/mypy --strict compose/mock-api/server.py
	$(VENV)/bin/mypy --strict compose/qdrant-standin/*.py
	$(VENV)/bin/mypy --strict compose/tests
	$(VENV)/bin/lint-imports

test: lint engine
	$(VENV)/bin/pytest

bench: engine
	$(VENV)/bin/python -m bench.dashboard

# A second Docker engine (tests/remote) for trying remote engines by hand; as root.
# `scripts/remote-engine.sh env ssh|tls|tcp` says how to use it, `... down` stops it.
.PHONY: remote-engine
remote-engine: engine
	@bash scripts/remote-engine.sh up

clean:
	rm -rf $(VENV) $(TOOLS)
