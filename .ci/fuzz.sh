#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz, clang, -DEVT_FUZZ=ON: libFuzzer
# + ASan + UBSan) and run each for a short budget, starting from its
# checked-in corpus. Fails on the first crash, leak, timeout or broken
# invariant; the input that did it is kept in $BUILD/fuzz-artifacts/.
#
#   bash .ci/fuzz.sh                 # every target, FUZZ_SECONDS each (20)
#   FUZZ_SECONDS=3600 bash .ci/fuzz.sh spool ingest   # long runs of some
#
# New inputs that reach new code go to $BUILD/fuzz-corpus/<target>/, not
# to the repository (docs/RELIABILITY.md, "Fuzzing", says how to keep
# one). Each run prints libFuzzer's last status line: execs, coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-20}
ALL="config json_msgpack event jsonl_record results make_table ingest spool"
TARGETS=${*:-$ALL}

CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEVT_FUZZ=ON -DBUILD_TESTING=ON >/dev/null
cmake --build "$BUILD" -j2 --target evt_fuzz evt_plugins >/dev/null

dict_of() {
  case $1 in
    config) cat tests/fuzz/dict/json.dict tests/fuzz/dict/config.dict ;;
    ingest) cat tests/fuzz/dict/json.dict tests/fuzz/dict/ingest.dict ;;
    json_msgpack|make_table) cat tests/fuzz/dict/json.dict ;;
    *) cat tests/fuzz/dict/msgpack.dict ;;
  esac
}

mkdir -p "$BUILD/fuzz-artifacts"
status=0
for t in $TARGETS; do
  work="$BUILD/fuzz-corpus/$t"
  mkdir -p "$work"
  dict_of "$t" >"$BUILD/fuzz-$t.dict"
  log="$BUILD/fuzz-$t.log"
  # -close_fd_mask=3: the targets' own output is silenced; sanitizer and
  # libFuzzer reports still reach the log.
  if "$BUILD/bin/fuzz_$t" "$work" "tests/fuzz/corpus/$t" \
       -dict="$BUILD/fuzz-$t.dict" -max_total_time="$SECONDS_EACH" \
       -timeout=30 -rss_limit_mb=2048 -max_len=65536 -close_fd_mask=3 \
       -print_final_stats=1 \
       -artifact_prefix="$BUILD/fuzz-artifacts/$t-" >"$log" 2>&1; then
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' || true)
    echo "fuzz $t: ${runs:-?} execs in ${SECONDS_EACH} s (${speed:-?}/s), $cov, no crash"
  else
    echo "fuzz $t: FAILED (log: $log)" >&2
    grep -E 'ERROR|SUMMARY|check failed|runtime error|Test unit written' \
      "$log" | head -20 >&2 || true
    status=1
  fi
done
exit $status
