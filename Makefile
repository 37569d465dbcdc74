# Two entry points do all set-up on a fresh machine (Python 3 + a C compiler):
#   make bench   -> virtual environment, build (Cython kernels included), `fastloss bench`
#   make test    -> the same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.fastloss-installed

.PHONY: bench test check bench-pytest clean

# Re-install (which re-compiles the Cython tier) whenever the build inputs change.
$(STAMP): pyproject.toml setup.py $(wildcard kernels/*.pyx kernels/*.pxd)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

bench: $(STAMP)
	$(VENV)/bin/fastloss bench $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

check: $(STAMP)
	$(VENV)/bin/fastloss check $(ARGS)

bench-pytest: $(STAMP)
	$(PY) -m pytest benchmarks/ --benchmark-only $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info fastloss/_cython/*.so kernels/*.c
	find . -name __pycache__ -prune -exec rm -rf {} +
