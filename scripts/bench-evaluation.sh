#!/usr/bin/env bash
# Time from a signed delivery to the evidence comment, for a portfolio of 5 pull requests and
# 3 repositories, with 50 ms of latency on every answer of the fake GitHub. Also prints the
# request counts (first evaluation and an unchanged re-evaluation).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test it -- --ignored --nocapture evaluation::bench_delivery_to_comment 2>&1 \
  | grep -E "delivery to comment|test result"
cargo test --release --test it -- --nocapture evaluation::a_five_pull_request 2>&1 \
  | grep -E "^(first evaluation|unchanged re-evaluation)"
