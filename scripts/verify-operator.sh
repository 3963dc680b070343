#!/usr/bin/env bash
# `make verify`: the operator's generated files match their sources (types from crds/, the chart's copy of crds/).
set -euo pipefail
node dist/operator/api/gen.js --check
bash charts/moe-operator/sync-crds.sh --check
