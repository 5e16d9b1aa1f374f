# The two commands a newcomer needs: `make demo` and `make test`. Both build .venv first,
# from pinned versions (constraints.txt), and install the Debian packages grading needs
# (bubblewrap: scripts/install_system_deps.sh), with nothing but Python 3.11, make and apt on the machine.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0

.PHONY: demo test test-nbgrader venv system-deps student-python release student-kit golden lock benchmarks clean-course

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt constraints-torch.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[instructor,test]"
	@# jupyter-events asks for jsonschema[format-nongpl]; of it, rfc3987-syntax (the "iri" format, which
	@# nothing here validates) builds a lark grammar when jsonschema is imported: 1.3 s of CPU in every
	@# nbgrader, course, Jupyter and Dask process. jsonschema treats it as optional.
	$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax lark
	@# formgrader's submission page and files served so that nothing a student submitted runs: the file that
	@# enables coursegrader.adapters.formgrader_guard in this environment's Jupyter servers (a wheel install
	@# places it from pyproject's data-files; an editable one does not)
	install -D -m 644 jupyter-config/jupyter_server_config.d/coursegrader.json $(VENV)/etc/jupyter/jupyter_server_config.d/coursegrader.json
	@# torch is a reference for the golden-vector tests, never a dependency: take it only when a
	@# wheel of it is on this machine (pip download --no-index), so no machine downloads a multi-GB
	@# CUDA build; its own dependencies come pinned from constraints-torch.txt.
	@rm -rf $(VENV)/torch-wheel
	@if $(BIN)/python -m pip download --quiet --no-index --no-deps -d $(VENV)/torch-wheel torch==$(TORCH_VERSION) 2>/dev/null; then \
	  $(BIN)/python -m pip install --quiet -c constraints.txt -c constraints-torch.txt $(VENV)/torch-wheel/torch-*.whl \
	  && echo "torch $(TORCH_VERSION) installed from a local wheel: the live PyTorch cross-checks will run"; \
	else echo "note: no local torch $(TORCH_VERSION) wheel: tests check the committed golden vectors only"; fi
	touch $(STAMP)

## make system-deps: the Debian packages grading needs (bubblewrap), installed if missing.
system-deps:
	@scripts/install_system_deps.sh

## make student-python: the interpreter the end-to-end test's student accounts run nbgrader with (built once, kept).
student-python: system-deps
	@scripts/install_student_python.sh

## make test: the whole suite (library, golden vectors, properties, the assignment, the autograder).
test: $(STAMP) system-deps student-python
	@# with Python's bytecode cache, whatever the machine's PYTHONDONTWRITEBYTECODE says: without it each of the
	@# suite's processes rewrites and compiles every test module again (2 s of CPU each) and every command its modules
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

## make test-nbgrader: nbgrader's own shipped tests (api, preprocessors, nbgraderformat), with coursegrader.speedups
## off and on at once: every test must have the same outcome (scripts/nbgrader_suite.py; CI runs it after `make test`).
test-nbgrader: $(STAMP)
	$(BIN)/python scripts/nbgrader_suite.py

## make demo: for every lab: regenerate the release, autograde its example class, write feedback and grades.csv.
demo: $(STAMP) system-deps
	$(BIN)/course demo

## make release: regenerate every lab's release/ from source/ with nbgrader.
release: $(STAMP)
	$(BIN)/course release

## make student-kit: dist/student-kit/, the wheel (library and self-checks only) and pinned versions students install.
student-kit: $(STAMP)
	$(BIN)/python scripts/build_student_kit.py dist/student-kit

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

## make clean-course: remove the grading state (gradebook, submitted/, autograded/, feedback/, the ledger in .coursekit/).
clean-course:
	rm -rf gradebook.db grades.csv submitted/* autograded/* feedback/* .coursekit
