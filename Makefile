# ModelZoo inference bundle — one Makefile for the whole job.
#   make demo                                   real pretrained model on bundled photos, offline
#   make test                                   the test suite
#   make MODEL=inceptionresnetv2 BS=16 all      the guide's job, end to end
# `make help` lists every target and variable.

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
OUTFMT      ?= TXT
PERF_BS     ?= 1 4 8 16 32 64
PERF_SECONDS ?= 1
SOC         ?=
DYNAMIC_BATCH ?=
LOG         ?= error
ATC_EXTRA   ?=
SIMPLIFY    ?= 1
PROGRESS    ?= 1
SAMPLE_DIR  ?= work/sample
WORK        ?= work/$(MODEL)
RUN         ?=
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

GUIDE_MODELS := inceptionresnetv2 efficientnet-b3 moco-v2 sk-resnet50
ifeq ($(strip $(VENV)),)
# VENV= (the containers): use $(PYTHON) and the packages installed with it
PY := $(PYTHON)
BIN :=
STAMP :=
else
PY := $(VENV)/bin/python
BIN := $(VENV)/bin/
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
endif

export MODEL BS DATASET LABELS WEIGHTS WEIGHTS_DIR VERIFY TRUST_CHECKPOINT BACKEND DEVICE OUTFMT PERF_BS \
       PERF_SECONDS SOC DYNAMIC_BATCH LOG ATC_EXTRA SIMPLIFY PROGRESS SAMPLE_DIR WORK RUN CMD KIND \
       STAGE IMAGE ENGINE BASE DOCKER_ARGS DOCKER_RUN_ARGS
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export PYTHONDONTWRITEBYTECODE := 1

STEPS := weights onnx om preprocess info infer postprocess perf report all show package compare

.PHONY: help models demo test lint bench verify sample package clean venv image docker-build docker-run image-test \
        $(STEPS)

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
	@echo "  package        a travelling copy of models/\$$MODEL (manifest + common/ + LICENSE) in \$$WORK/package"
	@echo "  (MODEL=all runs a target for the four guide models: $(GUIDE_MODELS))"
	@echo
	@echo "Variables (current value):"
	@echo "  MODEL=$(MODEL)   one of: $(GUIDE_MODELS) efficientnet-lite0 (demo), or all"
	@echo "  BS=$(BS)   batch size for infer (and the OM / static ONNX that goes with it)"
	@echo "  DATASET=$(DATASET)   ImageNet val image folder, or 'sample' (bundled photos)"
	@echo "  LABELS=$(LABELS)   val_label.txt (default: the guide's path, or <DATASET>/../val_label.txt)"
	@echo "  WEIGHTS=$(WEIGHTS)   use this checkpoint file instead of downloading (still md5-checked)"
	@echo "  WEIGHTS_DIR=$(WEIGHTS_DIR)   shared weights cache (default ~/.cache/modelzoo-bundle/weights)"
	@echo "  VERIFY=$(VERIFY)   0 skips the md5 check (loudly)"
	@echo "  TRUST_CHECKPOINT=$(TRUST_CHECKPOINT)   1 allows unsafe unpickling, only after the md5 matched"
	@echo "  BACKEND=$(BACKEND)   auto | onnx (ONNX Runtime, CUDA then CPU) | om (ais_bench) | benchmark (legacy tool) | torch (the checkpoint in PyTorch)"
	@echo "  DEVICE=$(DEVICE)   NPU/GPU id; a list 0,1 shards the dataset over NPUs"
	@echo "  OUTFMT=$(OUTFMT)   TXT | BIN | NPY per-sample outputs"
	@echo "  PERF_BS=$(PERF_BS)   batch sizes of the throughput sweep; PERF_SECONDS=$(PERF_SECONDS) min time per bs"
	@echo "  SOC=$(SOC)   ATC --soc_version (default: from npu-smi info)"
	@echo "  DYNAMIC_BATCH=$(DYNAMIC_BATCH)   e.g. 1,4,8,16,32,64: one OM with --dynamic_batch_size"
	@echo "  LOG=$(LOG)   ATC --log level;  ATC_EXTRA=$(ATC_EXTRA)   extra ATC flags"
	@echo "  SIMPLIFY=$(SIMPLIFY)   0 skips onnx-simplifier;  PROGRESS=$(PROGRESS)   0 hides progress bars"
	@echo "  WORK=$(WORK)   output folder of this model;  SAMPLE_DIR=$(SAMPLE_DIR)"
	@echo "  RUN=$(RUN)   name of the run folder in WORK (default <backend>-bs<BS>), e.g. RUN=310p-om-bs16"
	@echo "  PYTHON=$(PYTHON)  VENV=$(VENV)   interpreter and virtual environment (VENV= uses PYTHON as is)"
	@echo "  VENV_FLAGS=$(VENV_FLAGS)   extra 'python -m venv' flags (--system-site-packages on Ascend hosts)"
	@echo "  KIND=$(KIND)   image flavour: ascend (CANN) | cpu;  STAGE=$(STAGE)   release | test (tests + dev packages / stand-ins)"
	@echo "  IMAGE=$(IMAGE)   image that image builds and docker-run runs;  BASE=$(BASE)   base image (name:tag[@sha256:...])"
	@echo "  ENGINE=$(ENGINE)   docker | podman | buildah (default: docker if 'docker info' answers, else podman, else buildah)"
	@echo "  DOCKER_ARGS=$(DOCKER_ARGS)   extra image build flags, e.g. --build-arg ORT_GPU=1"
	@echo "  CMD=$(CMD)   shell command docker-run runs;  DOCKER_RUN_ARGS=$(DOCKER_RUN_ARGS)   extra run flags"

# ---- environment -------------------------------------------------------------------------------
$(STAMP): requirements.txt requirements-demo.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (set PYTHON=python3.11)"; exit 2; }
	$(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-demo.txt -r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## create the virtual environment from the pinned requirements (runtime, demo, dev)

# ---- the pipeline ------------------------------------------------------------------------------
ifeq ($(MODEL),all)
$(STEPS): $(STAMP)
	@set -e; for m in $(GUIDE_MODELS); do $(MAKE) --no-print-directory MODEL=$$m WORK=work/$$m $@; done
else
$(STEPS): $(STAMP)
	@$(PY) -m common $@
endif

models: $(STAMP) ## list the models: parameters, GMAC (counted), published accuracy
	@$(PY) -m common models

verify: $(STAMP) ## check every weights file present against checksums.md5
	@$(PY) -m common verify

sample: $(STAMP) ## build the bundled sample dataset (DATASET=sample does this by itself)
	@$(PY) -m common sample

demo: $(STAMP) ## the whole pipeline on a real pretrained model (EfficientNet-Lite0) over the sample photos
	@$(MAKE) --no-print-directory MODEL=efficientnet-lite0 WORK=work/efficientnet-lite0 DATASET=sample BS=4 \
		BACKEND=onnx PERF_BS="1 4 8" all show


test: $(STAMP) ## the test suite (pytest, both cores)
	$(PY) -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP) ## ruff and hadolint
	$(BIN)ruff check .
	$(BIN)ruff format --check .
	$(BIN)hadolint docker/Dockerfile.ascend docker/Dockerfile.cpu

bench: $(STAMP) ## speed benchmarks (ratios against baselines in the same process)
	$(PY) bench/run.py

image: ## build IMAGE from docker/Dockerfile.$KIND (ascend: CANN base; cpu: Python base) with docker or podman
	@bash docker/build.sh

docker-build: image ## the same as image

docker-run: ## run CMD in IMAGE: dataset, labels, weights (read-only), weights cache and WORK mounted; NPUs (ascend)
	@bash docker/run.sh

image-test: ## build both images from a local Debian 12 base (podman) and run demo, tests and om inside
	@bash docker/image-test.sh

clean: ## remove this model's work folder (WORK); weights stay in the cache
	rm -rf -- "$(WORK)"
