#!/usr/bin/env bash
# Webhook ingress benchmark: signed deliveries with distinct delivery ids against a running
# `folio serve` on loopback, on SQLite and on PostgreSQL, at 16 and 64 connections. Each row
# is a fresh server on a fresh database. Reports deliveries/s, p50 and p99 latency, non-2xx
# answers, the deliveries the server counted as committed, and the server's peak resident
# memory. Not a test: figures for the closing note.
#
#   scripts/bench-webhook.sh                       # both backends, 16 and 64 connections
#   BENCH_BACKENDS=sqlite BENCH_CONNECTIONS=64 scripts/bench-webhook.sh
#   BENCH_PG=postgres://user@host:5432/postgres scripts/bench-webhook.sh
#
# The Postgres rows need `psql` and a server that lets BENCH_PG create databases; they are
# skipped (with a note) when it cannot be reached. Needs wrk (Debian package `wrk`), python3,
# openssl and curl. FOLIO_BIN runs an already built binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${BENCH_SECONDS:-10}
backends=${BENCH_BACKENDS:-"sqlite postgres"}
connections=${BENCH_CONNECTIONS:-"16 64"}
pg_admin=${BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
work=$(mktemp -d)
# BENCH_SQLITE_DIR=/dev/shm puts the SQLite file on tmpfs, where fsync costs nothing: the CPU
# ceiling of the service, not a durable configuration.
sqlite_dir=${BENCH_SQLITE_DIR:-$work}
server=
pg_db=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$pg_db" ] && psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1
  rm -rf "$work"
  [ "$sqlite_dir" != "$work" ] && rm -f "$sqlite_dir"/folio.db*
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
if [ -z "${FOLIO_BIN:-}" ]; then
  cargo build --release --quiet
  FOLIO_BIN="${CARGO_TARGET_DIR:-target}/release/folio"
fi

secret=bench-secret
# A configured app whose GitHub cannot be reached: jobs then take seconds (retries with
# backoff), as real evaluations do, instead of being deferred at once for want of credentials,
# which would turn the worker into a tight loop of claim and release commits competing with
# the webhook's commits for the one SQLite writer.
openssl genrsa -traditional -out "$work/app.pem" 2048 2>/dev/null \
  || openssl genrsa -out "$work/app.pem" 2048 2>/dev/null
# Distinct submissions (issue numbers), each signed, as small payloads carrying only what
# Folio reads: Folio also dedupes on the hash of the signed body, so a body sent twice is a
# duplicate, and every request must carry a body of its own to be a new delivery to commit.
# wrk cycles through them and gives every request a new delivery id.
bodies=${BENCH_BODIES:-60000}
python3 - "$secret" "$bodies" > "$work/bench.lua" <<'PY'
import hashlib, hmac, json, sys
secret, count = sys.argv[1].encode(), int(sys.argv[2])
print("count = %d\nbodies = {}\nsigs = {}" % count)
# Lua allows 65,536 constants per function: the table is filled by chunks of functions.
for i in range(count):
    if i % 5000 == 0:
        print("%sdo local function fill()" % ("end fill() end\n" if i else ""))
    body = json.dumps({
        "action": "opened",
        "installation": {"id": 42},
        "repository": {"full_name": "acme/hiring", "id": 1296269},
        "issue": {"number": i + 1, "user": {"login": "octocat", "type": "User"}, "labels": [],
                  "body": "### GitHub username\n\noctocat\n\n### Pull requests\n\n"
                          "https://github.com/octocat/hello/pull/%d" % (i + 1)},
        "sender": {"login": "octocat"},
    })
    sig = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    print("bodies[%d] = %s\nsigs[%d] = %s" % (i + 1, json.dumps(body), i + 1, json.dumps(sig)))
if count:
    print("end fill() end")
print("""
-- The requests are put together once per body, so that per request wrk only joins a new
-- delivery id to a prepared string: wrk shares the machine's cores with the server, and every
-- cycle it spends building headers is one the server does not get.
counter = 0
thread_id = 0
tails = {}
setup = function(thread) thread:set("thread_id", thread_id); thread_id = thread_id + 1 end
init = function(args)
  nonce = os.time()
  local host = wrk.headers["Host"]
  for i = 1, count do
    tails[i] = "\\r\\nHost: " .. host .. "\\r\\nX-GitHub-Event: issues\\r\\nContent-Type: application/json"
      .. "\\r\\nX-Hub-Signature-256: " .. sigs[i] .. "\\r\\nContent-Length: " .. #bodies[i] .. "\\r\\n\\r\\n" .. bodies[i]
  end
end
request = function()
  counter = counter + 1
  return "POST /webhook HTTP/1.1\\r\\nX-GitHub-Delivery: " .. nonce .. "-" .. thread_id .. "-" .. counter
    .. tails[(counter % count) + 1]
end
""")
PY

start_server() {
  local db_url=$1
  port=$((20000 + RANDOM % 20000))
  admin_port=$((port + 1))
  FOLIO_DATABASE_URL="$db_url" FOLIO_WEBHOOK_SECRET=$secret FOLIO_LISTEN=127.0.0.1:$port \
    FOLIO_ADMIN_LISTEN=127.0.0.1:$admin_port \
    FOLIO_LOG=warn FOLIO_WORKERS=1 FOLIO_CREDENTIALS_PATH="$work/none.json" \
    FOLIO_APP_ID=1 FOLIO_PRIVATE_KEY_PATH="$work/app.pem" FOLIO_GITHUB_API_URL=http://127.0.0.1:9 \
    "$FOLIO_BIN" serve 2>>"$work/server.log" &
  server=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server did not start; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
}

stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}

printf '%-9s %5s %13s %9s %9s %7s %10s %10s\n' \
  backend conns "deliveries/s" p50 p99 non2xx committed "peak RSS"
for backend in $backends; do
  for c in $connections; do
    case $backend in
      sqlite)
        rm -f "$sqlite_dir"/folio.db*
        db_url="sqlite://$sqlite_dir/folio.db"
        ;;
      postgres)
        pg_db="folio_bench_$$_$c"
        if ! psql "$pg_admin" -qc "CREATE DATABASE $pg_db" >/dev/null 2>&1; then
          echo "postgres: cannot create a database through $pg_admin; skipped" >&2
          pg_db=
          continue
        fi
        db_url="${pg_admin%/*}/$pg_db"
        ;;
      *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    start_server "$db_url"
    out=$(wrk -t2 -c"$c" -d"${duration}s" --latency -s "$work/bench.lua" "http://127.0.0.1:$port/webhook")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    committed=$(curl -s "http://127.0.0.1:$admin_port/metrics" \
      | awk '/^folio_webhook_deliveries_total.*outcome="accepted"/ {s+=$2} END {print s+0}')
    rss=$(awk '/VmHWM/ {print $2 $3}' "/proc/$server/status")
    printf '%-9s %5s %13s %9s %9s %7s %10s %10s\n' \
      "$backend" "$c" "$rps" "$p50" "$p99" "${non2xx:-0}" "$committed" "$rss"
    stop_server
    if [ -n "$pg_db" ]; then
      psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
      pg_db=
    fi
  done
done
