# Procto: `make run` starts the whole product, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: install run test lint format worker clean test-tools cert messages

install: $(VENV)/.installed

# Re-installs only when a requirements file changed since the last install.
$(VENV)/.installed: requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.txt
	$(PY) -m pip install $(PIP_FLAGS) --no-deps -r requirements-nodeps.txt
	touch $@

run: install
	scripts/run.sh

test: install test-tools lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian's chromium, espeak-ng and sox for the browser tests (apt-get, when missing).
test-tools:
	scripts/ensure-test-tools.sh

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# The French catalogs (locale/fr/LC_MESSAGES): extract the strings the code marks for translation
# into django.po and (static/js) djangojs.po, then compile both into the .mo files that are
# committed, so `make run` needs no gettext. Needs GNU gettext (apt-get install gettext).
# procto/tests/test_translations.py fails on a string without a French translation.
messages: install
	$(PY) manage.py makemessages -l fr -d django --no-obsolete --add-location=file \
		-i '*/tests/*' -i '*/management/commands/*' -i 'bench/*' -i 'docs/*' -i 'static/*' \
		-i 'staticfiles/*' -i 'media/*' -i 'deploy/*' -i 'scripts/*' -i 'conftest.py'
	$(PY) manage.py makemessages -l fr -d djangojs -i 'static/vendor/*'
	$(PY) manage.py compilemessages -l fr -i '.venv' -i 'staticfiles' -i 'media'

# A Celery worker for services mode, for running it apart from `make run`: one per core.
worker: install
	$(PY) -m celery -A procto worker -Q default,frames,audio --pool solo --loglevel INFO

# A self-signed certificate in deploy/certs/ for trying the HTTPS production shape locally.
cert: install
	$(PY) scripts/make_cert.py deploy/certs

clean:
	rm -rf $(VENV) .local media staticfiles .pytest_cache .ruff_cache
