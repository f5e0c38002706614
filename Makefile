# Pulse: every command a newcomer needs. `make demo` and `make test` are the two set-up commands.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOTSTRAP ?= python3
VENV := $(CURDIR)/.venv
export PULSE_HOME ?= $(CURDIR)/.pulse
export AIRFLOW_HOME ?= $(PULSE_HOME)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT := 60
export PYTHONPATH := $(CURDIR)/include:$(CURDIR)
export PATH := $(VENV)/bin:$(PATH)
# The embedded stack's connections (each only where the variable is not already set).
WITH_STACK := set -a; source $(PULSE_HOME)/stack.env; set +a;
# pytest's temporary directories, one root per checkout: pytest keeps only its last three runs' folders
# under a root, so a run from another checkout (a second `make test`) would otherwise delete this run's
# folders, the test Postgres's data directory among them, while they are in use.
export PYTEST_DEBUG_TEMPROOT ?= /tmp/pulse-pytest-$(shell printf %s "$(CURDIR)" | md5sum | cut -c1-12)
# `make test` runs the suite on this many pytest-xdist workers, a test module at a time (the longest
# modules first: tests/conftest.py). Two suit a two-core machine: a DAG run or a Spark job leaves a core
# idle much of the time. TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= 2
DEMO_DATE ?= $(shell date -u -d yesterday +%F)
DEMO_LOOKBACK_DAYS ?= 90

.PHONY: help install jars check-java browser stack down airflow-db demo demo-next-day test test-fast lint airflow psql time-travel rollback bi-user bench clean
help:
	@echo "make demo     set up everything and run both pipelines end to end on the embedded stack"
	@echo "make demo-next-day  the next day's daily run after make demo: incremental silver, gold and load"
	@echo "make test     run the test suite (what CI runs)"
	@echo "make test-fast  the unit tests: no Spark, browser or DAG run (under 2 minutes)"
	@echo "make airflow  the Airflow UI (api-server, scheduler, dag-processor, triggerer) on http://localhost:8080"
	@echo "make psql     a psql shell on the warehouse"
	@echo "make rollback SOURCE=creator [TO=<publish_id>]  lake + warehouse gold back to an earlier publish"
	@echo "make time-travel ARGS='publishes creator'       publishes and Delta versions (python -m pulse.time_travel)"
	@echo "make bi-user LOGIN=ida_reader LISTENER=ida      a BI login that reads one listener's rows only"
	@echo "make bench    benchmarks (stage times, load speed against psql \\copy, Spark against DuckDB)"
	@echo "make down     stop the embedded Postgres and simulators"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@bash include/devstack/install_venv.sh $(PYTHON_BOOTSTRAP) $(VENV) requirements-dev.txt
	@touch $@ $(VENV)/.installed-now

# Says so when the packages were already installed (the target above did not run).
install: $(VENV)/.installed
	@if [ -e $(VENV)/.installed-now ]; then rm -f $(VENV)/.installed-now; else \
	  echo "✓ install  already done: $$(ls -d $(VENV)/lib/python3*/site-packages/*.dist-info | wc -l) packages in" \
	    "$(VENV) (it installs again when a requirements file changes)"; fi

# The jars Spark needs beyond the pyspark wheel (jars/pom.xml: Delta Lake, and hadoop-azure for a lake in
# Azure), resolved once by Maven into $(PULSE_HOME)/jars; every spark-submit passes them. Runs need no network
# after this. The stamp depends on the pom, so a jar added there is resolved on the next `make`.
JARS_DIR := $(PULSE_HOME)/jars
$(JARS_DIR)/.resolved: jars/pom.xml
	@command -v mvn >/dev/null 2>&1 || { echo "Maven (mvn) was not found: it fetches Spark's Delta Lake and" \
	  "hadoop-azure jars once (jars/pom.xml). Install it (Debian/Ubuntu: apt-get install maven), or copy the jars" \
	  "jars/pom.xml lists into $(JARS_DIR) yourself."; exit 1; }
	@mkdir -p $(JARS_DIR) && rm -f $(JARS_DIR)/*.jar
	@mvn -B -q -f jars/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(JARS_DIR) \
	  > $(PULSE_HOME)/jars.log 2>&1 || { grep -m5 ERROR $(PULSE_HOME)/jars.log; \
	  echo "Could not fetch the jars listed in jars/pom.xml (io.delta:delta-spark_4.2_2.13," \
	  "io.delta:delta-storage, org.apache.hadoop:hadoop-azure, org.hdrhistogram:HdrHistogram): Maven needs" \
	  "network access to its central repository once. Full log:" \
	  "$(PULSE_HOME)/jars.log"; exit 1; }
	@echo "Spark's jars in $(JARS_DIR): $$(cd $(JARS_DIR) && ls *.jar | tr '\n' ' ')"
	@touch $@

# A class-data-sharing archive of the classes a Spark job loads (python -m pulse.spark_class_archive), beside
# the jars: every driver maps it (pulse.config.spark_conf) and starts its queries sooner. Built again when the
# jars, the packages (pyspark's jars) or the warm-up job change. Without it Spark runs as before, so a failure
# to build it is said and the next `make` tries again.
CLASS_ARCHIVE := $(JARS_DIR)/spark-classes.jsa
$(CLASS_ARCHIVE): $(JARS_DIR)/.resolved $(VENV)/.installed spark_jobs/jvm_warmup.py
	@python -m pulse.spark_class_archive --archive $@ || true

jars: $(JARS_DIR)/.resolved $(CLASS_ARCHIVE)

check-java:
	@java -version >/dev/null 2>&1 || { echo "Java was not found: Spark needs a Java 17 runtime." \
	  "Install one (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or put it on PATH / set JAVA_HOME."; exit 1; }

stack: install
	python -m devstack.stack up

down:
	-python -m devstack.stack down

$(AIRFLOW_HOME)/.migrated: $(VENV)/.installed
	mkdir -p $(AIRFLOW_HOME)
	airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || { tail -30 $(AIRFLOW_HOME)/migrate.log; exit 1; }
	touch $@

airflow-db: $(AIRFLOW_HOME)/.migrated

demo: install jars check-java
	@python -m devstack.demo run --date $(DEMO_DATE) --lookback-days $(DEMO_LOOKBACK_DAYS)

# The day after `make demo`'s, as the daily schedule runs it (one day's window): an incremental run.
demo-next-day: install jars check-java
	@python -m devstack.demo run --date $(shell date -u -d "$(DEMO_DATE) + 1 day" +%F) --lookback-days 1

# The browser tests drive Debian's chromium (Playwright's own browser download is not needed). As root
# (CI), install it when missing; otherwise say how, and those tests skip naming the same command.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else \
	    echo "$(CHROMIUM) is missing: the browser tests will be skipped." \
	      "Install it with: sudo apt-get install -y --no-install-recommends chromium"; \
	  fi; \
	fi

test: install jars check-java browser
	mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: install jars
	mkdir -p $(PYTEST_DEBUG_TEMPROOT)
	python -m pytest -m "not spark and not e2e and not browser"

lint: install
	ruff check .

airflow: install jars check-java stack airflow-db
	$(WITH_STACK) airflow standalone

psql: stack
	$(WITH_STACK) python -m devstack.stack psql

# The lake's history and rollback (pulse.time_travel), against the embedded stack's lake and warehouse.
time-travel: install stack
	@$(WITH_STACK) python -m pulse.time_travel $(ARGS)

rollback: install stack
	@$(WITH_STACK) python -m pulse.time_travel rollback $(SOURCE) $(if $(TO),--to-publish $(TO))

# A per-listener BI login on the embedded stack's warehouse (pulse.bi_access; README "BI").
bi-user: install stack
	@$(WITH_STACK) python -m pulse.bi_access add-user $(LOGIN) --listener $(LISTENER)

bench: install jars check-java
	python -m bench.run

clean: down
	rm -rf $(PULSE_HOME)
