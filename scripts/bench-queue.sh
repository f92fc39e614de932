#!/usr/bin/env bash
# Queue throughput: evaluations per second with the fake GitHub answering at once, with one
# and with two `folio serve` replicas on PostgreSQL (127.0.0.1:5432 unless
# FOLIO_TEST_POSTGRES_URL says otherwise). Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
export FOLIO_TEST_POSTGRES_URL="${FOLIO_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
cargo test --release --test it -- --ignored --nocapture replicas::bench_queue 2>&1 \
  | grep -E "replica\(s\)|test result"
