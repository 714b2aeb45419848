#!/usr/bin/env bash
# Set up everything nbtrack needs on a fresh machine (Python 3.11): a venv in .venv with
# the package and its dev tools. Extra groups: NBTRACK_SETUP="browser" also installs
# Debian's chromium, JupyterLab and Playwright for the browser tests; "bench" installs mlflow;
# "bigdata" installs pyspark and tensorflow-cpu (and, as root, Debian's Java when there is none);
# "services" installs Debian's PostgreSQL, psycopg, boto3 and moto for the team-scale tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
# Installing builds the JupyterLab extension (extension/, npm + @jupyter/builder) when its sources
# are newer than nbtrack/labextension; @jupyter/builder needs Node.js >= 20.19 (scripts/node.sh).
source scripts/node.sh
use_node
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
# the extension's unit tests (vitest) need its node_modules even when the build was up to date
[[ -d extension/node_modules ]] || (cd extension && npm ci --no-audit --no-fund --loglevel=error)
# the web UI (served by nbtrack server at /) is the same package's second build target; the
# install above builds it with the extension, this catches a checkout whose extension was built before it
[[ -f nbtrack/server/webui/index.html ]] || (cd extension && npm run --silent build:app)
# An editable install copies the built extension into the venv; link it instead, so that
# `npm run build` in extension/ shows on the next JupyterLab page load.
ext=.venv/share/jupyter/labextensions/nbtrack-labextension
if [[ -f nbtrack/labextension/package.json && ! -L "$ext" ]]; then
  rm -rf "$ext" && ln -s "$PWD/nbtrack/labextension" "$ext"
fi
.venv/bin/python -c "import nbtrack, duckdb, IPython" >/dev/null
for group in ${NBTRACK_SETUP:-}; do
  case "$group" in
    browser) bash scripts/setup-browser.sh ;;
    services) bash scripts/setup-services.sh ;;
    bench) .venv/bin/python -m pip install -q -e ".[bench]" 2>&1 | grep -v "^WARNING: Location" || true ;;
    frameworks) .venv/bin/python -m pip install -q -e ".[frameworks]" 2>&1 | grep -v "^WARNING: Location" || true ;;
    bigdata)
      # pyspark starts a JVM: Java 17 or newer
      if ! command -v java >/dev/null && [[ $(id -u) == 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
      fi
      .venv/bin/python -m pip install -q -e ".[bigdata]" 2>&1 | grep -v "^WARNING: Location" || true ;;
  esac
done
