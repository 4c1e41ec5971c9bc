# The two commands a fresh machine needs: `make demo` (the main job) and `make test` (everything, then the suite).
SHELL := /bin/bash
PY := .venv/bin/python
STAMP := .venv/.installed-$(shell cat pyproject.toml requirements.lock | sha1sum | cut -c1-12)

.PHONY: all setup sysdeps azurite cluster-bins flux-bins cluster-up cluster-down crds lint policy-check test demo bench clean

all: test

# Python environment: one virtualenv for the repo; pip upgraded first (the stock pip cannot resolve azure-ai-ml).
$(STAMP):
	@test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install -q -U pip
	.venv/bin/pip install -q -c requirements.lock -e '.[dev]'
	@rm -f .venv/.installed-*; touch $@

setup: $(STAMP) sysdeps cluster-bins flux-bins azurite

azurite: sysdeps
	@bash hack/azurite/install.sh >/dev/null

# Debian packages the suite uses for real: kubectl and a Prometheus server.
sysdeps:
	@bash hack/sysdeps.sh

cluster-bins:
	@bash hack/cluster/build.sh >/dev/null

# Flux's source- and kustomize-controller for the GitOps e2e (tests/e2e/test_gitops_flux.py), same cache.
flux-bins:
	@bash hack/flux/build.sh >/dev/null

cluster-up: setup
	$(PY) -m localkube up

cluster-down:
	$(PY) -m localkube down

crds: $(STAMP)
	$(PY) -m modeldeploy.api.crdgen --write

lint: $(STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports

# The policy pack over both stacks under Pulumi mocks (no CLI needed); exits 1 on a mandatory violation.
policy-check: $(STAMP)
	$(PY) -m kdap_policies dev
	$(PY) -m kdap_policies prod

test: setup lint
	$(PY) -m pytest

# `make demo SPARK=1`: the churn predictor's drift runs as a local Spark job (about 30-55 s more: a JVM per job).
demo: setup
	$(if $(SPARK),KDAP_DEMO_SPARK=$(SPARK) )$(PY) -m kdap_demo

bench: setup
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
