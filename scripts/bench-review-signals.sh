#!/usr/bin/env bash
# Benchmark of `folio review-signals`: comments per second and peak memory on 100,000 comments.
# Target: at least 20,000 comments per second on one core.
#
# Input: the labelled real comments of tests/data/review_comments.jsonl, cycled with a counter
# appended to each body (so no two lines are identical), with path and diff_hunk kept.
# Runs pinned to one core (taskset) when available; peak RSS from GNU time.
#
# Usage: scripts/bench-review-signals.sh [N]   (default N=100000)
set -euo pipefail

cd "$(dirname "$0")/.."
N="${1:-100000}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
INPUT="$WORK/comments.jsonl"

python3 - "$N" "$INPUT" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
rows = [json.loads(l) for l in open("tests/data/review_comments.jsonl") if l.strip()]
with open(out, "w") as f:
    for i in range(n):
        r = rows[i % len(rows)]
        item = {"body": f"{r['body']} ({i})"}
        if r.get("path"): item["path"] = r["path"]
        if r.get("diff_hunk"): item["diff_hunk"] = r["diff_hunk"]
        f.write(json.dumps(item, ensure_ascii=False) + "\n")
PY

# Prefer the real subcommand; fall back to the example until the CLI is wired.
cargo build --release --quiet --bin folio --example review_signals
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if echo '{"body":"LGTM"}' | "$TARGET_DIR/release/folio" review-signals 2>/dev/null | grep -q '"signals"'; then
    BIN=("$TARGET_DIR/release/folio" review-signals)
else
    BIN=("$TARGET_DIR/release/examples/review_signals")
fi

PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi

TIME_OUT="$WORK/time.txt"
start=$(date +%s.%N)
/usr/bin/time -v -o "$TIME_OUT" "${PIN[@]}" "${BIN[@]}" <"$INPUT" >"$WORK/out.jsonl"
end=$(date +%s.%N)

lines=$(wc -l <"$WORK/out.jsonl")
if [ "$lines" -ne "$N" ]; then
    echo "expected $N output lines, got $lines" >&2
    exit 1
fi
elapsed=$(python3 -c "print(f'{$end - $start:.3f}')")
rate=$(python3 -c "print(int($N / ($end - $start)))")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TIME_OUT")
user=$(awk -F': ' '/User time/ {print $2}' "$TIME_OUT")
echo "binary:        ${BIN[*]}"
echo "comments:      $N"
echo "wall time:     ${elapsed} s (user ${user} s, one core)"
echo "throughput:    ${rate} comments/s (target >= 20000)"
echo "peak RSS:      $((rss_kb / 1024)) MiB (${rss_kb} KiB)"
