# Customer Value Kit: the front door. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= configs/demo.yml
OUT    ?= reports
LANG_OPT := $(if $(REPORT_LANG),--lang $(REPORT_LANG),)

.DEFAULT_GOAL := help
.PHONY: help install report cdnow test test-fast browser screenshots bench sample-data clean

help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (kit)" >/dev/null
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the kit with its dependencies

report: $(STAMP)  ## run the assessment on the bundled sample data (CONFIG=..., OUT=..., REPORT_LANG=zh|en)
	$(BIN)/kit run --config $(CONFIG) --out $(OUT) $(LANG_OPT)

cdnow: $(STAMP)  ## run the assessment on the real CDNOW data shipped with lifetimes
	$(BIN)/kit run --config configs/cdnow.yml --out $(OUT) $(LANG_OPT)

test: $(STAMP)  ## run every test: unit and end to end on 2 workers, then the notebooks (nbval)
	$(BIN)/python -m pytest -n 2 --dist loadscope tests; a=$$?; \
	$(BIN)/python -m pytest --nbval-lax notebooks; b=$$?; \
	test $$a -eq 0 -a $$b -eq 0

test-fast: $(STAMP)  ## unit tests only, without the slow marker
	$(BIN)/python -m pytest -m "not slow"

browser: $(STAMP)  ## browser checks only: offline, Chinese drawn, tables fit at 1400 px (needs chromium)
	$(BIN)/python -m pytest -m browser tests/test_browser.py

screenshots: $(STAMP)  ## PNG screenshots of the latest report pages (needs chromium)
	$(BIN)/python -m kit.publish.screenshots --out screenshots $(OUT)

bench: $(STAMP)  ## benchmark suite (see benchmarks/README.md)
	$(BIN)/python benchmarks/run.py

sample-data: $(STAMP)  ## regenerate data/sample/ from the seeded generator
	$(BIN)/python -m kit.datasets --out data/sample

clean:  ## remove the virtual environment and report folders
	rm -rf $(VENV) $(OUT)/*/
