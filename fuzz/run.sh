#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each (default 600),
# one after another, and appends a summary line per target to
# fuzz/logs/summary.txt. Seeds come from fuzz/corpus/<target> (git-ignored;
# the test fixtures are a good start).
#
#   fuzz/run.sh                 # all targets, 10 minutes each
#   SECONDS_PER_TARGET=60 fuzz/run.sh parse_cargo parse_npm
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/fuzz/target}"
secs="${SECONDS_PER_TARGET:-600}"
mkdir -p fuzz/logs
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
cargo fuzz build --fuzz-dir fuzz -O "${targets[@]/#/}" >/dev/null 2>&1 || cargo fuzz build --fuzz-dir fuzz -O
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/logs/$t.log"
  start=$(date -u +%FT%TZ)
  if cargo fuzz run --fuzz-dir fuzz -O "$t" "fuzz/corpus/$t" -- \
       -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=20 >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
  fi
  runs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
  echo "$start $t ${secs}s runs=${runs:-?} $result" | tee -a fuzz/logs/summary.txt
done
