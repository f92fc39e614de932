#!/usr/bin/env bash
# Webhook ingress benchmark: signed deliveries with distinct delivery ids against a running
# `folio serve` on loopback, at 16 and 64 connections. Reports deliveries/s, p50 and p99
# latency, and the server's peak resident memory. Not a test: figures for the closing note.
#
#   scripts/bench-webhook.sh                 # SQLite (a fresh file)
#   BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres scripts/bench-webhook.sh
#
# Needs wrk (Debian package `wrk`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${BENCH_SECONDS:-10}
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
cargo build --release --quiet

if [ -n "${BENCH_DB:-}" ]; then
  db_name="folio_bench_$$"
  psql "$BENCH_DB" -qc "CREATE DATABASE $db_name" >/dev/null
  db_url="${BENCH_DB%/*}/$db_name"
else
  db_url="sqlite://$work/folio.db"
fi

secret=bench-secret
port=$((20000 + RANDOM % 20000))
FOLIO_DATABASE_URL="$db_url" FOLIO_WEBHOOK_SECRET=$secret FOLIO_LISTEN=127.0.0.1:$port \
  FOLIO_LOG=warn FOLIO_WORKERS=1 FOLIO_CREDENTIALS_PATH="$work/none.json" \
  ./target/release/folio serve 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# 1,000 distinct submissions (issue numbers), each signed; wrk cycles through them and gives
# every request a new delivery id, so each one is a new delivery to commit.
python3 - "$secret" > "$work/bench.lua" <<'PY'
import hashlib, hmac, json, sys
secret = sys.argv[1].encode()
base = json.load(open("tests/fixtures/github/webhooks/issues/opened.payload.json"))
print("bodies = {}\nsigs = {}")
for i in range(1000):
    base["issue"]["number"] = i + 1
    base["issue"]["body"] = "### GitHub username\n\noctocat\n\n### Pull requests\n\nhttps://github.com/octocat/hello/pull/%d" % (i + 1)
    base["installation"] = {"id": 42}
    base["repository"]["full_name"] = "acme/hiring"
    body = json.dumps(base)
    sig = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    print("bodies[%d] = %s\nsigs[%d] = %s" % (i + 1, json.dumps(body), i + 1, json.dumps(sig)))
print("""
counter = 0
thread_id = 0
setup = function(thread) thread:set("thread_id", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  local i = (counter % 1000) + 1
  wrk.headers["X-GitHub-Event"] = "issues"
  wrk.headers["X-GitHub-Delivery"] = string.format("%d-%d-%d", thread_id, counter, os.time())
  wrk.headers["X-Hub-Signature-256"] = sigs[i]
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/webhook", nil, bodies[i])
end
""")
PY

printf '%-10s %-12s %12s %10s %10s %8s\n' backend connections "deliveries/s" p50 p99 non2xx
for c in 16 64; do
  out=$(wrk -t2 -c$c -d${duration}s --latency -s "$work/bench.lua" "http://127.0.0.1:$port/webhook")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '%-10s %-12s %12s %10s %10s %8s\n' "${db_url%%:*}" "$c" "$rps" "$p50" "$p99" "${non2xx:-0}"
done
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$server/status)"
echo "deliveries committed: $(curl -s "http://127.0.0.1:$port/metrics" | awk '/^folio_webhook_deliveries_total.*accepted/ {s+=$2} END {print s}')"
