#!/usr/bin/env bash
# Benchmark `folio scan` on a generated large checkout: 50,000 files, 40 workflows,
# 2,000 test files. Targets: under 300 ms wall, under 50 MB peak RSS (release build).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import os, sys
root = sys.argv[1]
def w(p, t):
    p = os.path.join(root, p); os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "w").write(t)
n = 0
for i in range(40):
    w(f".github/workflows/wf{i}.yml", f"on: [push]\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        python-version: ['3.12', '3.13']\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n      - run: |\n          uv run pytest -k t{i}\n          uv run ruff check .\n"); n += 1
for i in range(2000):
    body = "from hypothesis import given\n" if i % 50 == 0 else ""
    w(f"tests/pkg{i%40}/test_m{i}.py", body + f"def test_{i}():\n    assert {i} == {i}\n"); n += 1
w("pyproject.toml", "[project]\nname='big'\n[tool.coverage.report]\nfail_under = 90\n"); n += 1
w("tox.ini", "[tox]\nenvlist = py312\n[testenv]\ncommands = pytest\n"); n += 1
i = 0
while n < 50000:
    w(f"src/big/mod{i//500}/m{i}.py", f"X = {i}\n"); n += 1; i += 1
PY
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/folio"
"$bin" scan "$dir" --format json > /dev/null  # warm the page cache
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$bin" scan "$dir" --format json 2> time.log > /dev/null
  grep -E "Elapsed \(wall clock\)|Maximum resident set size" time.log; rm -f time.log
else
  start=$(date +%s%N); "$bin" scan "$dir" --format json > /dev/null; end=$(date +%s%N)
  echo "wall: $(( (end - start) / 1000000 )) ms (peak RSS needs /usr/bin/time)"
fi
