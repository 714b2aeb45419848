#!/usr/bin/env bash
# Set up everything nbtrack needs on a fresh machine (Python 3.11): a venv in .venv with
# the package and its dev tools. Extra groups: NBTRACK_SETUP="browser" also installs
# Debian's chromium, JupyterLab and Playwright for the browser tests; "bench" installs mlflow;
# "services" installs Debian's PostgreSQL, psycopg, boto3 and moto for the team-scale tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import nbtrack, duckdb, IPython" >/dev/null
for group in ${NBTRACK_SETUP:-}; do
  case "$group" in
    browser) bash scripts/setup-browser.sh ;;
    services) bash scripts/setup-services.sh ;;
    bench) .venv/bin/python -m pip install -q -e ".[bench]" 2>&1 | grep -v "^WARNING: Location" || true ;;
    frameworks) .venv/bin/python -m pip install -q -e ".[frameworks]" 2>&1 | grep -v "^WARNING: Location" || true ;;
  esac
done
