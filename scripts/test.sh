#!/usr/bin/env bash
# Set up, then run every check: ruff, mypy, import-linter, the test suite, the notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
NBTRACK_SETUP="${NBTRACK_SETUP:-frameworks browser bench services}" bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";          ruff check nbtrack tests benchmarks
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
echo "== pytest"
pytest tests notebooks --nbval-lax -p no:cacheprovider "$@"
