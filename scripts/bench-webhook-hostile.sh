#!/usr/bin/env bash
# Memory and liveness of `folio serve` under unauthenticated pressure on loopback:
#   1. 40 concurrent deliveries of 24 MiB each, with well-formed but forged signatures, sent as
#      fast as the server reads them;
#   2. 200 half-open connections that send part of a request head and then stall.
# Prints the server's idle and peak resident memory (VmHWM), how the 40 requests were answered,
# how many stalled connections the server closed, and /healthz latency during each phase.
# Targets: peak RSS under 150 MB and /healthz under 100 ms throughout. Not a test: figures for
# the closing note.
#
#   scripts/bench-webhook-hostile.sh               # release build
#   FOLIO_BIN=target/debug/folio scripts/bench-webhook-hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${FOLIO_BIN:-}" ]; then
  cargo build --release --quiet
  FOLIO_BIN="${CARGO_TARGET_DIR:-target}/release/folio"
fi
port=$((20000 + RANDOM % 20000))
FOLIO_DATABASE_URL="sqlite://$work/folio.db" FOLIO_WEBHOOK_SECRET=bench-secret \
  FOLIO_LISTEN=127.0.0.1:$port FOLIO_ADMIN_LISTEN=127.0.0.1:$((port + 1)) FOLIO_LOG=warn \
  FOLIO_CREDENTIALS_PATH="$work/none.json" FOLIO_SETUP_TOKEN=bench-setup-token \
  "$FOLIO_BIN" serve 2>>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

python3 - "$port" "$server" <<'PY'
import asyncio, os, statistics, sys, time

port, pid = int(sys.argv[1]), int(sys.argv[2])
BODY = 24 * 1024 * 1024
CHUNK = b"x" * 65536


def rss_kb(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


async def healthz():
    t = time.perf_counter()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await w.drain()
    await r.read()
    w.close()
    return (time.perf_counter() - t) * 1000


async def sampler(stop, lat, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb("VmRSS"))
        try:
            lat.append(await asyncio.wait_for(healthz(), 5))
        except Exception:
            lat.append(5000.0)
        await asyncio.sleep(0.05)


async def forged(i, statuses):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    sig = os.urandom(32).hex()
    w.write((f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: issues\r\n"
             f"X-GitHub-Delivery: forged-{i}-{time.time_ns()}\r\n"
             f"X-Hub-Signature-256: sha256={sig}\r\nContent-Type: application/json\r\n"
             f"Content-Length: {BODY}\r\n\r\n").encode())
    # The answer may come before the body is sent (a refusal), so it is read alongside.
    answer = asyncio.create_task(r.readline())
    sent = 0
    try:
        while sent < BODY and not answer.done():
            w.write(CHUNK)
            await w.drain()
            sent += len(CHUNK)
    except (ConnectionError, OSError):
        pass
    try:
        line = await asyncio.wait_for(answer, 30)
        statuses.append(line.split()[1].decode() if line else "closed")
    except Exception:
        statuses.append("closed")
    w.close()


async def half_open(hold, closed):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Ev")
    await w.drain()
    try:
        data = await asyncio.wait_for(r.read(), hold)
        closed.append(data)
    except asyncio.TimeoutError:
        pass
    w.close()


def summary(name, lat, peak_kb, extra):
    lat = sorted(lat)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"{name:<34} peak RSS {peak_kb / 1024:6.1f} MB  /healthz p50 {p50:5.1f} ms"
          f"  p99 {p99:6.1f} ms  max {lat[-1]:6.1f} ms  ({len(lat)} probes)  {extra}")


async def main():
    print(f"idle: RSS {rss_kb('VmRSS') / 1024:.1f} MB")
    for name, run in (("40 forged 24 MiB deliveries", "forged"), ("200 half-open connections", "half")):
        stop, lat, peak = asyncio.Event(), [], [0]
        probe = asyncio.create_task(sampler(stop, lat, peak))
        started = time.perf_counter()
        if run == "forged":
            statuses = []
            await asyncio.gather(*(forged(i, statuses) for i in range(40)))
            counts = {s: statuses.count(s) for s in sorted(set(statuses))}
            extra = f"answers {counts} in {time.perf_counter() - started:.1f} s"
        else:
            closed = []
            await asyncio.gather(*(half_open(10, closed) for _ in range(200)))
            extra = f"{len(closed)} of 200 closed by the server within 10 s"
        stop.set()
        await probe
        summary(name, lat, max(peak[0], 1), extra)
    print(f"peak RSS over the run (VmHWM): {rss_kb('VmHWM') / 1024:.1f} MB")

asyncio.run(main())
PY
