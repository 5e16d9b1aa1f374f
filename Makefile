# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv first,
# from pinned versions (constraints.txt), with nothing but Python 3.11 and make on the machine.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSIGNMENT := 16-permutation-equivariance
TORCH_VERSION := 2.13.0

.PHONY: demo test venv release student-kit golden lock benchmarks clean-course

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt constraints-torch.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[instructor,test]"
	@# torch is a reference for the golden-vector tests, never a dependency: take it only when a
	@# wheel of it is on this machine (pip download --no-index), so no machine downloads a multi-GB
	@# CUDA build; its own dependencies come pinned from constraints-torch.txt.
	@rm -rf $(VENV)/torch-wheel
	@if $(BIN)/python -m pip download --quiet --no-index --no-deps -d $(VENV)/torch-wheel torch==$(TORCH_VERSION) 2>/dev/null; then \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -c constraints-torch.txt $(VENV)/torch-wheel/torch-*.whl \
	  && echo "torch $(TORCH_VERSION) installed from a local wheel: the live PyTorch cross-checks will run"; \
	else echo "note: no local torch $(TORCH_VERSION) wheel: tests check the committed golden vectors only"; fi
	touch $(STAMP)

## make test: the whole suite (library, golden vectors, properties, the assignment, the autograder).
test: $(STAMP)
	$(BIN)/python -m pytest

## make demo: regenerate the release, autograde the example class, write feedback and grades.csv.
demo: $(STAMP)
	$(BIN)/course demo

## make release: regenerate release/$(ASSIGNMENT) from source/ with nbgrader.
release: $(STAMP)
	$(BIN)/course release

## make student-kit: dist/student-kit/, the wheel and pinned versions students install (see release/*/README.md).
student-kit: $(STAMP)
	rm -rf dist/student-kit
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist/student-kit .
	cp constraints.txt dist/student-kit/
	@ls dist/student-kit

## make golden: rewrite tests/golden/attention_torch.npz from PyTorch (needs torch in .venv).
golden: $(STAMP)
	$(BIN)/python scripts/make_attention_golden.py

## make lock: re-resolve the newest versions allowed by pyproject.toml into constraints.txt.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e ".[instructor,test]"
	.lock-venv/bin/python -m pip freeze --exclude-editable --exclude minimodel-course > constraints.txt
	.lock-venv/bin/python -m pip --version | awk '{print "pip==" $$2}' >> constraints.txt
	rm -rf .lock-venv

## make benchmarks: speed figures, measured side by side in one run.
benchmarks: $(STAMP)
	$(BIN)/python -m benchmarks

## make clean-course: remove nbgrader's working state (gradebook, submitted/, autograded/, feedback/).
clean-course:
	rm -rf gradebook.db grades.csv submitted/* autograded/* feedback/*
