# The two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo bench train test-container clean

$(BIN)/tgdigest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/tgdigest

lint: install
	$(BIN)/ruff check bot tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m bot.devtools.demo

# Retrain the built-in sections model from datasets/sections/ (writes bot/stories/sections_model.json).
train: install
	$(BIN)/python scripts/train_sections.py

bench: install
	$(BIN)/python bench/categories.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/match.py
	$(BIN)/python bench/deliver.py

test-container:
	bash scripts/test-container.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data/demo
