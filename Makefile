# channelhub: `make run` serves the demo on the embedded default; `make test` runs everything.
PYTHON ?= python3
# `make test` skips the slow suites (OCR accuracy on 100 degraded receipts...); .ci/run runs all.
PYTEST_ARGS ?= -m "not slow"
VENV   := .venv
BIN    := $(VENV)/bin

UV_VERSION := 0.13.9
PORT   ?= 8000

.PHONY: setup setup-test run test lint sdk-test sdk-bench openapi types ocr-eval bench lock upgrade clean

# Installs come from the committed, hash-checked lock files in requirements/ (see the README).
$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"

$(VENV)/.run-installed: requirements/run.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/run.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.test-installed: requirements/test.lock pyproject.toml .ci/system-packages.txt | $(BIN)/uv
	.ci/system-packages
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements/test.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@ $(VENV)/.run-installed

setup: $(VENV)/.run-installed

setup-test: $(VENV)/.test-installed

run: setup
	$(BIN)/channelhub migrate
	$(BIN)/channelhub seed-demo
	@echo "channelhub on http://127.0.0.1:$(PORT)  (API docs: http://127.0.0.1:$(PORT)/docs)"
	CHANNELHUB_DEV_MODE=$${CHANNELHUB_DEV_MODE:-true} $(BIN)/channelhub serve --host 127.0.0.1 --port $(PORT)

test: setup-test lint sdk-test
	CHANNELHUB_TEST_S3_URL=$$(.ci/seaweedfs start) $(BIN)/pytest -q $(PYTEST_ARGS)

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pyright

# The TypeScript SDK (clients/ts): installs from its committed lock, builds, bundles for WeChat
# and runs its node tests against a real server that test/serve.py starts on SQLite.
sdk-test: setup-test
	cd clients/ts && npm ci --no-audit --no-fund --loglevel=error && npm test

# The SDK's first sync of a 20,000-SKU dealer (seed-scale, stock fed through the ERP feed):
# wall time, bytes on the wire, WeChat storage used (about 2 min, most of it seeding).
sdk-bench: setup-test
	cd clients/ts && npm ci --no-audit --no-fund --loglevel=error && npm run build && python3 test/serve.py --scale 20000 -- node dist/bench/first-sync.js

openapi: setup-test
	$(BIN)/channelhub openapi -o openapi/openapi.json

# openapi-typescript at the version clients/ts locks (the SDK's tests check the output is current)
types: openapi
	cd clients/ts && npm ci --no-audit --no-fund --loglevel=error && npm run -s types

ocr-eval: setup-test
	nice -n 10 $(BIN)/python -m ocr.eval
	nice -n 10 $(BIN)/python -m ocr.eval_dupes $(DUPES_ARGS)

bench: setup-test
	$(BIN)/python -m load_tests.pricing_cart_bench

# Re-resolve the locks from pyproject.toml (after changing a bound); `upgrade` also moves every
# pin to the newest release its bounds allow. Review the diff, run `make test`, commit the locks.
LOCK = $(BIN)/uv pip compile -q pyproject.toml --universal --generate-hashes --python-version 3.11
lock: $(BIN)/uv
	$(LOCK) $(UPGRADE) -o requirements/run.lock
	$(LOCK) $(UPGRADE) --extra dev --extra paddle -o requirements/test.lock

upgrade:
	$(MAKE) lock UPGRADE=--upgrade

clean:
	.ci/seaweedfs stop
	rm -rf $(VENV) var .ci/var
