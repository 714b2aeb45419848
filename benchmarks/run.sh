#!/usr/bin/env bash
# Run every benchmark: nbtrack against MLflow 3.x (sqlite), figures printed and written to
# benchmarks/results/*.json. Takes tens of minutes (the first search run builds and caches an
# MLflow store); not part of CI. Extra arguments go to every benchmark (e.g. --quick).
#
#   benchmarks/run.sh            # full sizes
#   benchmarks/run.sh --quick    # small sizes, to check the harness
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"

if ! "$python" -c "import mlflow" 2>/dev/null; then
    echo "MLflow is missing: $root/.venv/bin/pip install -e '$root[bench]'" >&2
    exit 1
fi

# Tracking and search first, then every other bench_*.py (serving, UI, ...) that is present.
scripts=("$here/bench_tracking.py" "$here/bench_search.py")
for script in "$here"/bench_*.py; do
    [[ " ${scripts[*]} " == *" $script "* ]] || scripts+=("$script")
done

status=0
for script in "${scripts[@]}"; do
    name="$(basename "$script" .py)"
    [[ -f "$script" ]] || { echo "== $name: not present, skipped"; continue; }
    echo "== $name"
    # duckdb 2.0.0 prints a page of nanobind "leaked" notices at interpreter exit: not ours to show.
    if ! "$python" "$script" "$@" 2> >(grep -v -e 'leaked' -e 'nanobind' -e 'skipped remainder' >&2); then
        echo "== $name FAILED" >&2
        status=1
    fi
done
exit $status
