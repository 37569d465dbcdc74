# Two entry points do all set-up on a fresh machine (Python 3 + a C compiler):
#   make bench   -> virtual environment, build (Cython kernels included), `fastloss bench`
#   make test    -> the same set-up, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.fastloss-installed

.PHONY: bench test check bench-pytest peers targets clean

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

# The optional peers of `fastloss bench --peers` (never dependencies of fastloss): a CPU
# build of PyTorch (2.13.0 is the one this machine kind keeps on disk; a plain `torch`
# would download a several-GB CUDA build) and scikit-learn.
TORCH ?= torch==2.13.0
peers: $(STAMP)
	$(PY) -m pip install --quiet '$(TORCH)' scikit-learn

# Issue 5's performance targets, each in one harness run (benchmarks/targets.sh).
targets: peers
	PYTHON=$(PY) bash benchmarks/targets.sh $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info fastloss/_cython/*.so kernels/*.c
	find . -name __pycache__ -prune -exec rm -rf {} +
