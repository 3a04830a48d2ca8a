# channelhub: `make run` serves the demo on the embedded default; `make test` runs everything.
PYTHON ?= python3
# `make test` skips the slow suites (OCR accuracy on 100 degraded receipts...); .ci/run runs all.
PYTEST_ARGS ?= -m "not slow"
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup run test lint openapi types ocr-eval bench clean

$(BIN)/channelhub: pyproject.toml
	.ci/system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev,paddle]'
	touch $@

setup: $(BIN)/channelhub

run: setup
	$(BIN)/channelhub migrate
	$(BIN)/channelhub seed-demo
	@echo "channelhub on http://127.0.0.1:8000  (API docs: http://127.0.0.1:8000/docs)"
	CHANNELHUB_DEV_MODE=$${CHANNELHUB_DEV_MODE:-true} $(BIN)/channelhub serve --host 127.0.0.1 --port 8000

test: setup lint
	CHANNELHUB_TEST_S3_URL=$$(.ci/seaweedfs start) $(BIN)/pytest -q $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pyright

openapi: setup
	$(BIN)/channelhub openapi -o openapi/openapi.json

types: openapi
	npx --yes openapi-typescript@7 openapi/openapi.json -o openapi/channelhub.d.ts

ocr-eval: setup
	$(BIN)/python -m ocr.eval

bench: setup
	$(BIN)/python -m load_tests.pricing_cart_bench

clean:
	.ci/seaweedfs stop
	rm -rf $(VENV) var .ci/var
