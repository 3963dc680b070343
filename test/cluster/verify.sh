#!/usr/bin/env bash
# `make verify`: regenerate the Kubernetes and Kueue tools modules; the Makefile's `git diff --exit-code` then fails on drift.
set -euo pipefail
bash "$(dirname "$0")/gen-tools-mod.sh" >/dev/null
bash "$(dirname "$0")/gen-kueue-mod.sh" >/dev/null
