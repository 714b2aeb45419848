#!/usr/bin/env bash
# Install what the team-scale tests need on a Debian machine: Debian's PostgreSQL (as root; the
# tests start a throwaway cluster with its initdb/pg_ctl, found with `pg_config --bindir`, and run
# them as the package's `postgres` user when the tests run as root), plus, in .venv, what the
# `postgres` and `s3` extras name (psycopg 3, psycopg_pool, boto3) and moto's S3-compatible
# server. Idempotent: when everything is present it only checks (well under a second).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

have_postgres() {
  local bindir
  bindir=$(pg_config --bindir 2>/dev/null || true)
  [[ -n "$bindir" && -x "$bindir/initdb" && -x "$bindir/pg_ctl" ]] && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
if ! have_postgres; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup-services: PostgreSQL's initdb/pg_ctl are missing; run this script as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
have_postgres || { echo "setup-services: installing Debian's postgresql failed" >&2; exit 1; }

have_python_parts() {  # find_spec, not import: nothing is loaded
  "$PY" -c "import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ('psycopg', 'psycopg_pool', 'boto3', 'moto')))" 2>/dev/null
}
if ! have_python_parts; then
  # the `services` extra: the `postgres` and `s3` extras, and moto (test-only)
  "$PY" -m pip install -q -e ".[services]" 2>&1 | grep -v "^WARNING: Location" || true
fi
have_python_parts || { echo "setup-services: installing psycopg/boto3/moto into .venv failed" >&2; exit 1; }
