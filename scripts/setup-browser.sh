#!/usr/bin/env bash
# Install what the browser tests (tests/browser, `pytest -m browser`) need on a Debian machine,
# as root: Debian's chromium (never a downloaded browser build: those downloads fail here),
# plus JupyterLab and Python Playwright in .venv. Idempotent: when everything is present it
# only checks and returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if ! command -v /usr/bin/chromium >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-browser: /usr/bin/chromium is missing; run this script as root to install it" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

have_python_parts() {  # find_spec, not import: importing jupyterlab cold takes seconds
  "$PY" -c "import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ('jupyterlab', 'playwright', 'anywidget')))" 2>/dev/null
}
if ! have_python_parts; then
  # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: the tests launch /usr/bin/chromium, never `playwright install`.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$PY" -m pip install -q "jupyterlab>=4.2,<5" "playwright>=1.45" \
    "anywidget>=0.9" 2>&1 | grep -v "^WARNING: Location" || true
fi
have_python_parts || { echo "setup-browser: installing jupyterlab/playwright into .venv failed" >&2; exit 1; }
