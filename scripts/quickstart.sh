#!/usr/bin/env bash
# Set up, then run the quickstart notebook headless on the embedded default store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p quickstart-output
exec .venv/bin/nbtrack quickstart --dir quickstart-output
