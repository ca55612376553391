# Podium's developer entry points. Each target creates the virtual environment it needs.
#   make demo   set up and run the model-registry workflow on the embedded store
#   make server set up and start `podium server` on http://127.0.0.1:5000 (PORT=8080, HOST=0.0.0.0 change it);
#               it serves the demo's store when `make demo` made one (STORE=<tracking URI> picks another,
#               STORE= the default ./podium-data)
#   make test   set up and run the whole test suite (what CI runs), on one pytest-xdist worker per core
#               and then the e2e tests alone (PYTEST_ARGS adds pytest arguments; XDIST= runs in one process)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
XDIST  ?= -n auto --dist loadgroup
STORE  ?= $(if $(wildcard podium-demo/podium.db),sqlite:///podium-demo/podium.db)

.PHONY: demo server test install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the stamp files record which extras are installed; they are rebuilt when pyproject.toml changes
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[sklearn]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/podium demo

server: install
	$(BIN)/podium $(if $(STORE),--tracking-uri $(STORE) )server $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# the suite on one pytest-xdist worker per core, then the tests marked serial (tests/e2e: many server
# processes under load each) alone; exit code 5 (no test selected) is not a failure in either step
test: install-test
	$(BIN)/python -m pytest $(XDIST) -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

clean:
	rm -rf $(VENV) podium-data podium-demo .pytest_cache
