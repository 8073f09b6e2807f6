#!/usr/bin/env bash
# Zero to a running demo: installs what is missing, builds, starts a sandbox
# HA cluster on loopback and pgdr_exporter on :9688, prints the URLs.
# Ctrl-C or SIGTERM stops everything and leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh pgdr_exporter
export PGDR_EXPORTER="$PWD/build/exporter/pgdr_exporter"
exec python3 scripts/demo_sandbox.py
