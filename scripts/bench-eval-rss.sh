#!/usr/bin/env bash
# Peak resident memory of a `folio serve` process through one evaluation of four repositories
# whose tarballs are about 100 MB each (incompressible assets plus 12 MiB of test files), against
# the fake GitHub in the test process. Prints the archive size, Folio's idle and peak RSS
# (VmHWM) and the time to the comment. Not a test: figures for the closing note.
#
#   scripts/bench-eval-rss.sh                  # release build
#   BENCH_PROFILE=dev scripts/bench-eval-rss.sh  # debug build (slower, same memory picture)
#
# Needs Linux (/proc) and about 2 GB free for the fake GitHub's four repositories.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [ "${BENCH_PROFILE:-release}" = release ]; then
  profile=(--release)
fi
cargo test "${profile[@]}" --test it -- --ignored --nocapture \
  downloads::bench_peak_rss_of_one_evaluation_of_four_large_repositories 2>&1 \
  | grep -vE "^(running|test |$)"
