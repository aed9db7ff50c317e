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
BUDGETS ?=
ARMS ?=
FRACTIONS ?=
TABLE_CORPUS ?=
GPT_EPOCHS ?=
TABLE_FILES ?=
TABLE_WIDTH ?=
SUBWORD_ROWS ?=
TOKENIZER ?=
JOBS ?= auto
BENCH_CORPUS ?=
GLOVE_DIR ?=
NANOGPT_DIR ?=
PRECISION ?=

X_MAX ?= 10

ifeq ($(FAST),1)
# Smoke sizes: every stage end to end in a few minutes, into runs/fast.
RUN := fast
DIM := 32
EPOCHS := 1
SEEDS := 2
TOKENS := 16000
BUDGETS := 4k,16k
FRACTIONS := 1/16,1/8
GPT_EPOCHS := 1
FAST_COMPARE := --layers 1 --heads 2 --context 32 --batch-size 8
endif

RUN_DIR := runs/$(RUN)
CORPUS_ARG := $(if $(CORPUS),--corpus $(CORPUS)) $(if $(TOKENIZER),--tokenizer $(TOKENIZER))
EPOCHS_ARG := $(if $(EPOCHS),--epochs $(EPOCHS))
THREADS_ARG := $(if $(THREADS),--threads $(THREADS))
DEVICE_ARG := $(if $(DEVICE),--device $(DEVICE))
PRECISION_ARG := $(if $(PRECISION),--precision $(PRECISION))
TOKENS_ARG := $(if $(TOKENS),--tokens $(TOKENS))
SWEEP_ARGS := $(if $(BUDGETS),--budgets $(BUDGETS)) $(if $(ARMS),--arms $(ARMS))
DATASWEEP_ARGS := $(if $(FRACTIONS),--fractions $(FRACTIONS)) $(if $(ARMS),--arms $(ARMS)) \
	$(if $(TABLE_CORPUS),--table-corpus $(TABLE_CORPUS)) $(if $(GPT_EPOCHS),--epochs $(GPT_EPOCHS))
JOBS_ARG := $(if $(JOBS),--jobs $(JOBS))
TABLE_FILES_ARG := $(foreach f,$(TABLE_FILES),--table-file $(f)) $(if $(TABLE_WIDTH),--table-width $(TABLE_WIDTH)) \
	$(if $(SUBWORD_ROWS),--subword-rows $(SUBWORD_ROWS))
STAMP := $(VENV)/.installed

.PHONY: help install test prepare pretrain compare compare-positions sweep datasweep eval bench gpu-check clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'
	@echo "Variables: RUN=$(RUN) CORPUS=$(CORPUS) TOKENIZER DIM=$(DIM) EPOCHS SEEDS=$(SEEDS) TOKENS BUDGETS ARMS FRACTIONS TABLE_CORPUS TABLE_FILES TABLE_WIDTH SUBWORD_ROWS GPT_EPOCHS JOBS=$(JOBS) THREADS DEVICE PRECISION FAST X_MAX=$(X_MAX) TORCH=$(TORCH)"

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: ## Create .venv and install $(TORCH), then the project with its dev extras
	rm -f $(STAMP)
	$(MAKE) $(STAMP)

test: $(STAMP) ## Run the test suite (two worker processes: the suite is CPU-bound and most tests use one thread)
	$(PY) -m pytest -n 2 --dist worksteal

prepare: $(STAMP) ## Prepare CORPUS (default: gensim's Wikipedia sample + Lee news) into runs/$(RUN)/corpus
	$(PY) -m pipelines.prepare --run-dir $(RUN_DIR) $(CORPUS_ARG)

pretrain: $(STAMP) ## Prepare CORPUS if needed, then train cbow, skipgram and glove tables (DIM, EPOCHS, THREADS, X_MAX)
	$(PY) -m pipelines.pretrain --run-dir $(RUN_DIR) $(CORPUS_ARG) --dim $(DIM) $(EPOCHS_ARG) $(THREADS_ARG) \
		$(DEVICE_ARG) --x-max $(X_MAX)

compare: $(STAMP) ## Train the GPT with every table (init, frozen; TABLE_FILES too) against learned, SEEDS seeds, TOKENS each
	@test -f $(RUN_DIR)/corpus/manifest.json || $(PY) -m pipelines.prepare --run-dir $(RUN_DIR) $(CORPUS_ARG)
	$(MAKE) pretrain
	$(PY) -m pipelines.compare --run-dir $(RUN_DIR) --seeds $(SEEDS) --dim $(DIM) $(TOKENS_ARG) $(DEVICE_ARG) $(PRECISION_ARG) \
		$(JOBS_ARG) $(FAST_COMPARE) $(TABLE_FILES_ARG)

compare-positions: $(STAMP) ## The same study over position embeddings (learned, sinusoidal, rope, alibi, none)
	@test -f $(RUN_DIR)/corpus/manifest.json || $(PY) -m pipelines.prepare --run-dir $(RUN_DIR) $(CORPUS_ARG)
	$(PY) -m pipelines.compare --positions --run-dir $(RUN_DIR) --seeds $(SEEDS) --dim $(DIM) $(TOKENS_ARG) \
		$(DEVICE_ARG) $(PRECISION_ARG) $(JOBS_ARG) $(FAST_COMPARE)

sweep: $(STAMP) ## The compare study across token budgets (BUDGETS, ARMS, SEEDS): where does the advantage end?
	@test -f $(RUN_DIR)/corpus/manifest.json || $(PY) -m pipelines.prepare --run-dir $(RUN_DIR) $(CORPUS_ARG)
	$(MAKE) pretrain
	$(PY) -m pipelines.sweep --run-dir $(RUN_DIR) --seeds $(SEEDS) --dim $(DIM) $(SWEEP_ARGS) $(DEVICE_ARG) $(PRECISION_ARG) \
		$(JOBS_ARG) $(FAST_COMPARE)

datasweep: $(STAMP) ## The study across the GPT's data size (FRACTIONS, ARMS, TABLE_CORPUS, GPT_EPOCHS, SEEDS): what is a table worth?
	@test -f $(RUN_DIR)/corpus/manifest.json || $(PY) -m pipelines.prepare --run-dir $(RUN_DIR) $(CORPUS_ARG)
	$(MAKE) pretrain
	$(PY) -m pipelines.datasweep --run-dir $(RUN_DIR) --seeds $(SEEDS) --dim $(DIM) $(DATASWEEP_ARGS) $(DEVICE_ARG) $(PRECISION_ARG) \
		$(JOBS_ARG) $(FAST_COMPARE)

eval: $(STAMP) ## Intrinsic evaluation of the run's tables and the comparison report -> runs/$(RUN)/eval/
	$(PY) -m pipelines.eval --run-dir $(RUN_DIR)

$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $(VENV)/.bench

bench: $(VENV)/.bench ## Every stage's speed beside a peer measured in the same run (BENCH_CORPUS, GLOVE_DIR, NANOGPT_DIR) -> runs/bench/bench.json
	$(PY) -m pipelines.bench $(if $(BENCH_CORPUS),--bench-corpus $(BENCH_CORPUS)) \
		$(if $(GLOVE_DIR),--glove-dir $(GLOVE_DIR)) $(if $(NANOGPT_DIR),--nanogpt-dir $(NANOGPT_DIR)) \
		$(THREADS_ARG) $(DEVICE_ARG)

gpu-check: $(VENV)/.bench ## On a machine with CUDA (and a CUDA build of torch): the GPT tests on CUDA, the GPT bench, a smoke study
	@$(PY) -c "import torch, sys; torch.cuda.is_available() or sys.exit('make gpu-check: torch sees no CUDA device here (no GPU, or a CPU build of torch: install a CUDA one, e.g. make install TORCH=torch); nothing was run')"
	$(PY) -m pytest -q --device cuda tests/test_gpt_train.py tests/test_gpt_precision.py tests/test_gpt_fraction.py \
		tests/test_gpt_positions.py tests/test_gpt_embedding.py
	$(PY) -m pipelines.bench --only gpt --device cuda --out runs/gpu-check/bench.json
	$(MAKE) compare FAST=1 RUN=gpu-check DEVICE=cuda

clean: ## Remove runs/$(RUN) (the venv stays)
	rm -rf $(RUN_DIR)
