# ACORN — the two commands are `make run` and `make test`; both set the machine up first.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
MYPY_TARGETS := protocol hardware edge_agent hub spapi_sim
# pytest-xdist workers for `make test`: the tests mostly wait (brokers, subprocesses, Chromium),
# so more workers than cores pays; at least 4, one per core up to 8. TEST_WORKERS=0: one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 4 ] && n=4; [ $$n -gt 8 ] && n=8; echo $$n)

# Every process of a run (each test's hub, agent and CLI, each pytest worker) would otherwise
# compile our modules from source again where the host sets PYTHONDONTWRITEBYTECODE: ~1 s of
# CPU a hub process, 25 s for a worker's collection instead of 11. Bytecode goes to the usual
# __pycache__ folders (git ignores them).
unexport PYTHONDONTWRITEBYTECODE
# python-escpos parses its printer database (YAML, 0.3 s) at import and caches it in a new
# temporary folder each process (one left behind each time): the setup fills one private cache
# in the virtualenv, which `run` and `test` then read.
ESCPOS := ESCPOS_CAPABILITIES_PICKLE_DIR=$(CURDIR)/$(VENV)/escpos-cache

.PHONY: help run test lint bench schemas clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run:  ## set up, then start broker + hub + Amazon simulator + two store agents (Ctrl-C stops all)
	@bash deploy/scripts/setup.sh run
	@$(ESCPOS) $(BIN)/python deploy/scripts/run_local.py $(RUN_ARGS)

test:  ## set up, then run the import contract, linters and the whole test suite
	@bash deploy/scripts/setup.sh test
	@$(MAKE) --no-print-directory lint
	$(ESCPOS) $(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

lint:  ## import-linter contract, ruff, mypy on protocol/ and the pure cores
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .
	$(BIN)/mypy $(MYPY_TARGETS)

bench:  ## benchmarks (figures, not tests): drain rate, API latency, memory
	@bash deploy/scripts/setup.sh test
	$(BIN)/python -m bench $(GROUPS)

schemas:  ## regenerate docs/protocol/v1/*.schema.json from the code
	$(BIN)/python tests/fixtures/protocol/export_schemas.py

clean:  ## remove local state (var/) — not the virtualenv
	rm -rf var
