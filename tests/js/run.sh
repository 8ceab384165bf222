#!/usr/bin/env bash
# Runs the Qdrant JavaScript client against a real `vecdex serve`: tests/js/run.sh PATH/TO/vecdex
# Exit 77 (CTest's SKIP_RETURN_CODE) when node is not installed or older than 20.
set -euo pipefail
bin="$(realpath "${1:?usage: run.sh PATH/TO/vecdex}")"
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then
  echo "node is not installed: skipping the JavaScript client compatibility test" >&2
  exit 77
fi
# @qdrant/js-client-rest 1.19 (the current client) runs on node 20 and later (its HTTP layer,
# undici 7, needs node 20); Debian 12's own nodejs is 18, where the client cannot load.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "node $(node --version) is older than 20, which @qdrant/js-client-rest 1.19 needs: skipping" >&2
  exit 77
fi
if [[ ! -d node_modules/@qdrant/js-client-rest ]]; then
  npm ci --no-audit --no-fund
fi
VECDEX_BIN="$bin" exec node --test ./*.test.mjs
