# Two commands matter: `make themes` and `make test`. Both set themselves up first.
PYTHON ?= python3
# An index to take torch from (README: PyTorch's CPU-only build); empty: where pip finds it.
TORCH_INDEX ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup themes test bench bench-scale bench-mapping bench-clusters clean

COMPILED := $(VENV)/.compiled

# The int8 copy of the embedding model (models/, not committed) is exported from the
# packaged weights; when it is already current this only checks hashes (about a second).
# Bytecode for the package is written here too, also where PYTHONDONTWRITEBYTECODE is set:
# otherwise every run compiles it again.
setup: $(STAMP) $(COMPILED)
	$(BIN)/python -m pipeline.embed
	$(BIN)/python -m compileall -q pipeline

# UMAP's numba functions, compiled once for this machine and kept (about a minute, once).
$(COMPILED): $(STAMP)
	$(BIN)/python -m pipeline.cache
	touch $(COMPILED)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch, pinned (an unpinned torch would pull the newest, multi-GB CUDA build). TORCH_INDEX
	# names an index to take it from, such as PyTorch's CPU-only one (README).
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

themes: setup
	$(BIN)/themes run

# The browser test drives Debian's Chromium through Playwright (never a downloaded browser
# build). It is installed here when missing and we may (root or sudo); otherwise that one
# test skips and says why.
.PHONY: browser-deps
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	  if [ "$$SUDO" != none ] && command -v apt-get >/dev/null; then \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null \
	      || echo "chromium could not be installed: the browser test will skip"; \
	  else echo "no /usr/bin/chromium and no way to install it: the browser test will skip"; fi; }

test: setup browser-deps
	$(BIN)/python -m pytest -q

# Speed against the usual BERTopic script on ../shared/data (skips when the data is absent).
bench: setup
	$(BIN)/python bench/bench_speed.py

bench-scale: setup
	$(BIN)/python bench/bench_speed.py --scale 100000

# Suggestions and clusters on real coded text in ../shared/data, beside plain BERTopic
# (skips when the data is absent; embeddings are cached in .cache/bench/).
bench-mapping: setup
	$(BIN)/python bench/bench_mapping.py

bench-clusters: setup
	$(BIN)/python bench/bench_clusters.py
	$(BIN)/python bench/bench_speakers.py

# runs/default (make themes' run, and any run without --out) and pytest's cache; other run
# folders (runs/study1) and the decision store are the analyst's and stay.
clean:
	rm -rf runs/default .pytest_cache
