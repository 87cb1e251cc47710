#!/usr/bin/env bash
# Lints the specs a running server publishes: `redocly lint` (recommended rules, redocly.yaml) on
# /openapi.json and `promtool check metrics` on /metrics. Starts its own server on a free port with a
# temporary data directory, sends it one request of each kind that feeds a metric, and stops it.
# Redocly CLI is a pinned devDependency (@redocly/cli); promtool is Debian's `prometheus` package.
# The last line reads "N passed, M failed" (what .ci/run sums). Outputs stay in test-results/specs/.
set -uo pipefail
cd "$(dirname "$0")/.."
out=test-results/specs
mkdir -p "$out"
port=$((20000 + RANDOM % 20000))
data=$(mktemp -d)
PORT=$port HOST=127.0.0.1 UNROLL_DATA_DIR="$data" LOG_LEVEL=warn setsid npx tsx src/server.ts >"$out/server.log" 2>&1 &
server=$!
stop() {
  kill -- -"$server" 2>/dev/null || kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  rm -rf "$data"
}
trap stop EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.5; done

passed=0
failed=0
check() { # name, command...
  local name=$1
  shift
  if "$@"; then
    echo "ok: $name"
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    failed=$((failed + 1))
  fi
}

# traffic for the histograms: a compute request, a stored model over /v2, an error
curl -fs "$base/v1/forward" -H 'content-type: application/json' \
  -d '{"model":{"config":{"inputSize":1,"hiddenSize":2,"outputSize":2},"init":{"seed":1}},"x":[[[1]]]}' >/dev/null
curl -s "$base/v1/forward" -H 'content-type: application/json' -d '{}' >/dev/null
curl -fs "$base/openapi.json" >"$out/openapi.json" || echo "no /openapi.json from the server"
curl -fs "$base/metrics" >"$out/metrics.txt" || echo "no /metrics from the server"

check "redocly lint /openapi.json" npx --no-install redocly lint "$out/openapi.json" --config redocly.yaml \
  --format stylish --max-problems 1000
check "promtool check metrics /metrics" sh -c "promtool check metrics < '$out/metrics.txt'"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
