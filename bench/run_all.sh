#!/usr/bin/env bash
# run_all.sh -- build the benchmarks (Release) and run them all, then print
# one table of the figures against the targets of the benchmarks issue.
#
#   bash bench/run_all.sh [--quick] [--build DIR]
#
# --quick runs each benchmark at a tenth of its size (a smoke run; the
# figures are then less steady). Each program's own output goes to
# DIR/bench-logs/<name>.txt; the table goes to stdout. Exit status: 0 when
# every benchmark ran (whether or not its target is met), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-bench
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --build) build="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_all.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

scale() { if [ "$quick" = 1 ]; then echo $(( $1 / 10 )); else echo "$1"; fi; }

echo "building Release benchmarks in $build ..." >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null

logs="$build/bench-logs"
mkdir -p "$logs"
bin="$build/bin"
failed=0
run() { # name, command...
  local name=$1; shift
  echo "running $name ..." >&2
  if ! "$@" >"$logs/$name.txt" 2>&1; then
    echo "run_all.sh: $name failed, see $logs/$name.txt" >&2
    failed=1
  fi
}

run caller      "$bin/bench_caller" "$(scale 1000000)"
run jsonl       "$bin/bench_jsonl" "$(scale 1000000)"
run local_sinks "$bin/bench_local_sinks" "$(scale 10000000)"
run startup     "$bin/bench_startup" 30
run tensorboard "$bin/bench_tensorboard" "$(scale 1000000)"
run handoff     "$bin/bench_handoff" "$(scale 2000000)"
if [ "$quick" = 1 ]; then
  run network "$bin/bench_network" 2000 4 100
else
  run network "$bin/bench_network" 10000 20 1000
fi

# All RESULT lines as "key value".
results=$(cat "$logs"/*.txt | sed -n 's/^RESULT //p')
val() { echo "$results" | awk -v k="$1" '$1 == k { print $2; exit }'; }

# row: figure, key, unit, target text, awk test on v ("" = no target)
row() {
  local v; v=$(val "$2")
  local met="-"
  if [ -z "$v" ]; then v="(missing)"; met="?"
  elif [ -n "$5" ]; then
    met=$(awk -v v="$v" "BEGIN { print ($5) ? \"yes\" : \"NO\" }")
  fi
  printf "| %-46s | %12s %-7s | %-14s | %-3s |\n" "$1" "$v" "$3" "$4" "$met"
}

echo
echo "evtrack benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -m)$([ "$quick" = 1 ] && echo ', --quick')"
echo
printf "| %-46s | %20s | %-14s | %-3s |\n" "figure" "measured" "target" "met"
printf "|%s|%s|%s|%s|\n" "$(printf -- '-%.0s' {1..48})" "$(printf -- '-%.0s' {1..22})" "$(printf -- '-%.0s' {1..16})" "-----"
row "1. caller, builder, 1 thread, median"   caller_builder_1t_median_ns ns "<= 150" "v <= 150"
row "   caller, builder, 1 thread, p99"      caller_builder_1t_p99_ns ns "" ""
row "   caller, builder, 8 threads, median"  caller_builder_8t_median_ns ns "<= 150" "v <= 150"
row "   caller, builder, 8 threads, p99"     caller_builder_8t_p99_ns ns "" ""
row "   caller, msgpack map, 1 thread, median" caller_msgpack_1t_median_ns ns "<= 150" "v <= 150"
row "   caller, msgpack map, 8 threads, median" caller_msgpack_8t_median_ns ns "<= 150" "v <= 150"
row "   allocations per event, builder, 1 thread" caller_builder_1t_allocs_per_event "" "0" "v == 0"
row "   allocations per event, builder, 8 threads" caller_builder_8t_allocs_per_event "" "0" "v == 0"
row "   warm-up until the pool stops growing, 1 th." caller_builder_1t_warmup_events "events" "" ""
row "2. jsonl end to end"                     jsonl_samples_per_s "samp/s" "" ""
row "   jsonl MB/s"                           jsonl_mb_per_s "MB/s" "" ""
row "   jsonl vs python json.dumps + append"  jsonl_x_python "x" ">= 60x" "v >= 60"
row "   jsonl vs cat of the same bytes"       jsonl_pct_of_cat "%" ">= 50 %" "v >= 50"
row "3. all local sinks, events"              local_sinks_events "" "" ""
row "   all local sinks, wall time"           local_sinks_wall_s s "" ""
row "   all local sinks, peak RSS"            local_sinks_peak_rss_mib MiB "<= 64 MiB" "v <= 64"
row "   RSS growth, first to last tenth"      local_sinks_rss_growth_mib MiB "bounded <= 16" "v <= 16"
row "4. start-up, six plugins, open+close median" startup_open_close_median_ms ms "<= 10 ms" "v <= 10"
row "   start-up, worst of 30"                startup_open_close_worst_ms ms "" ""
row "   start-up, whole process median"       startup_process_median_ms ms "" ""
row "5. wandb requests per 10 000 metrics"    wandb_requests_per_10k_metrics "" "" ""
row "   wandb file_stream per 2 s of run"     wandb_file_stream_per_2s "" "<= 1" "v <= 1"
row "   wandb shortest file_stream gap"       wandb_min_file_stream_gap_s s ">= 2 s" "v >= 1.99"
row "   hf-hub commits per push (at run_end)" hub_commits_per_push_run_end "" "1" "v == 1"
row "   hf-hub commits per push (incremental)" hub_commits_per_push_incremental "" "1" "v == 1"
row "   tensorboard-events scalars"           tensorboard_events_per_s "ev/s" "" ""
row "machine: a cache line between 2 cores"  handoff_ns ns "" ""
echo
echo "each program's full output: $logs/"
exit $failed
