# WalkWell: `make run` and `make test` do all the set-up on a fresh machine.
# Both install the exact versions in requirements-dev.lock (hash-checked); `make lock` rewrites
# the lock files from the ranges in pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | cksum | cut -d' ' -f1)

.PHONY: run test lint try migrate bench lock wheel clean

$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/walkwell run

try: $(STAMP)
	$(BIN)/walkwell try

migrate: $(STAMP)
	$(BIN)/walkwell migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/hadolint Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -ra

bench: $(STAMP)
	$(BIN)/python -m bench

# Pins every package (and its hashes) for Python 3.11 on Linux: requirements.lock is what the
# image and a production install use, requirements-dev.lock adds the dev tools at the same
# versions. `make lock UPGRADE=1` also moves pinned packages to the newest versions allowed.
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
              --no-emit-find-links --no-emit-trusted-host $(if $(UPGRADE),--upgrade)
lock: $(STAMP)
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null \
	  $(BIN)/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null \
	  $(BIN)/pip-compile $(LOCK_FLAGS) --extra dev -c requirements.lock \
	  -o requirements-dev.lock pyproject.toml

wheel: $(STAMP)
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis dist build
