# w2v-gpt: pretrain word embeddings and measure what they do to a small GPT.
# Every variable can be overridden: make pretrain CORPUS=path/to/text DIM=64 EPOCHS=3

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0

RUN ?= default
CORPUS ?=
DIM ?= 128
EPOCHS ?=
SEEDS ?= 3
TOKENS ?=
THREADS ?=
DEVICE ?=
FAST ?=
BENCH_CORPUS ?= ../shared/corpora/bench-en.txt.xz

ifeq ($(FAST),1)
RUN := fast
FAST_PRETRAIN := --dim 32 --epochs 1
endif

RUN_DIR := runs/$(RUN)
CORPUS_ARG := $(if $(CORPUS),--corpus $(CORPUS))
EPOCHS_ARG := $(if $(EPOCHS),--epochs $(EPOCHS))
THREADS_ARG := $(if $(THREADS),--threads $(THREADS))
DEVICE_ARG := $(if $(DEVICE),--device $(DEVICE))
STAMP := $(VENV)/.installed

.PHONY: help install test prepare bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'
	@echo "Variables: RUN=$(RUN) CORPUS=$(CORPUS) DIM=$(DIM) EPOCHS SEEDS=$(SEEDS) TOKENS THREADS DEVICE FAST TORCH=$(TORCH)"

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: ## Create .venv and install $(TORCH), then the project with its dev extras
	rm -f $(STAMP)
	$(MAKE) $(STAMP)

test: $(STAMP) ## Run the test suite
	$(PY) -m pytest

prepare: $(STAMP) ## Prepare CORPUS (default: gensim's Wikipedia sample + Lee news) into runs/$(RUN)/corpus
	$(PY) -m pipelines.prepare --run-dir $(RUN_DIR) $(CORPUS_ARG)

bench: $(STAMP) ## Speed figures against gensim and the reference figures (needs BENCH_CORPUS)
	$(PY) -m pipelines.bench --bench-corpus $(BENCH_CORPUS)

clean: ## Remove runs/$(RUN) (the venv stays)
	rm -rf $(RUN_DIR)
