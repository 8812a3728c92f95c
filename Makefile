# Two commands a newcomer needs: `make demo` and `make test`. Both set up .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CYPHER_LINT := tests/cypher_lint
DEPLOY_LINT := tests/deploy_lint
NEO4J_SERVER := tests/neo4j_server
DOCS   ?= docs

.PHONY: setup preflight test lint demo bench clean

# uv installs the same packages as pip in seconds instead of minutes; pip remains the fallback.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv 2>/dev/null || true
	@if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'; \
	else $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'; fi
	@touch $(STAMP)

setup: $(STAMP)

# Neo4j's Cypher linter (npm, version pinned in package-lock.json) for tests/test_cypher_lint.py; needs Node 18+.
$(CYPHER_LINT)/node_modules/.installed-stamp: $(CYPHER_LINT)/package.json $(CYPHER_LINT)/package-lock.json
	cd $(CYPHER_LINT) && npm ci --no-audit --no-fund
	@touch $@

# dclint, the Docker Compose linter (npm, version pinned in package-lock.json) for tests/test_deploy.py; needs Node 20.19+.
$(DEPLOY_LINT)/node_modules/.installed-stamp: $(DEPLOY_LINT)/package.json $(DEPLOY_LINT)/package-lock.json
	cd $(DEPLOY_LINT) && npm ci --no-audit --no-fund
	@touch $@

# The real Neo4j Community server the Neo4j tests start (test tooling only; versions pinned in its pom.xml). Maven
# resolves it from Maven Central once and then works from its local cache; needs Java 17+ and Maven.
$(NEO4J_SERVER)/target/classpath.txt: $(NEO4J_SERVER)/pom.xml $(wildcard $(NEO4J_SERVER)/src/main/java/kgbot/testing/*.java)
	@command -v mvn >/dev/null && command -v java >/dev/null || \
	  { echo "make test needs Java 17+ and Maven for the Neo4j tests: apt-get install openjdk-17-jdk-headless maven"; exit 1; }
	cd $(NEO4J_SERVER) && mvn -q -B compile
	@touch $@

# What `make test` needs from the system besides Python: Python's venv module, redis-server (the memory tests
# start it), Node.js 20.19+ and npm (the linters), a JDK and Maven (the Neo4j server). When something is missing
# it stops at once and prints the one command that installs all of it (.ci/run runs that command itself).
preflight:
	@missing=""; \
	test -x $(BIN)/python || $(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
	  echo "make test needs system packages that are missing; install them with:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi; \
	node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || \
	  { echo "make test needs Node.js 20.19+ (found $$(node --version)): install a current Node.js, e.g. from https://nodejs.org"; exit 1; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: preflight lint $(CYPHER_LINT)/node_modules/.installed-stamp $(DEPLOY_LINT)/node_modules/.installed-stamp $(NEO4J_SERVER)/target/classpath.txt
	$(BIN)/pytest -q

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
	rm -rf $(VENV) .kgbot .pytest_cache .ruff_cache .hypothesis $(NEO4J_SERVER)/target
