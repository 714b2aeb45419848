#!/usr/bin/env bash
# Set up, then run every check: ruff, mypy, import-linter, the extension's TypeScript unit tests,
# the test suite and the notebooks (on two workers, each taking whole test files).
set -euo pipefail
cd "$(dirname "$0")/.."
NBTRACK_SETUP="${NBTRACK_SETUP:-frameworks bigdata browser bench services}" bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
source scripts/node.sh && use_node  # vitest below needs the same Node.js the set-up built with
echo "== ruff";          ruff check nbtrack tests benchmarks
echo "== mypy";          mypy
echo "== import-linter"; lint-imports
echo "== vitest";        (cd extension && npx vitest run)
echo "== pytest"
pytest tests notebooks --nbval-lax -p no:cacheprovider -n "${NBTRACK_TEST_WORKERS:-2}" --dist loadfile "$@"
